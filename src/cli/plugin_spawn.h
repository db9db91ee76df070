// Runs this cmkfs binary as a child (`cmkfs init`, `cmkfs mount`) so that the
// volume plugin creates and serves stores through exactly the code the
// commands use, with the commands' exit codes and one-line messages.
#pragma once

#include <string>
#include <vector>

namespace cmkfs::cli {

struct SelfRun {
    int exit_code = -1;
    std::string error;  // the command's message, without the "cmkfs: " prefix
};

// Runs /proc/self/exe with args; stdin is /dev/null, stdout is discarded,
// stderr is captured (bounded). Returns once the child has exited and every
// copy of its stderr is closed: a background `cmkfs mount` daemon closes its
// copy when the mount is up.
SelfRun run_self(const std::vector<std::string> &args);

}  // namespace cmkfs::cli
