#pragma once

#include <stdexcept>
#include <string>

#include "cli/exit_codes.h"

namespace cmkfs::cli {

// A command failed in a way that has its own exit code.
class CommandError : public std::runtime_error {
public:
    CommandError(ExitCode code, const std::string &what) : std::runtime_error(what), code_(code) {}
    ExitCode code() const noexcept { return code_; }

private:
    ExitCode code_;
};

}  // namespace cmkfs::cli
