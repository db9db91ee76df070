#pragma once

#include <string>

namespace cmkfs::cli {
// Call inside a catch block: returns the documented exit code for the
// exception in flight and sets `message` to its one-line description.
int exit_code_for_current_exception(std::string &message) noexcept;
}  // namespace cmkfs::cli
