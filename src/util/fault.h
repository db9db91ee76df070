// Failure injection for crash-safety tests: a named point in a multi-step
// operation where the test can make the process die (SIGKILL, as a power cut
// or OOM kill would) or make the step fail as if the backing store were full
// (ENOSPC). Compiled in always and inert unless the environment variable
// CMKFS_FAULT names the point, e.g. CMKFS_FAULT=rotate:rename:kill.
// Documented as a test hook in docs/rotation.md.
#pragma once

#include <string_view>

namespace cmkfs {

// Does nothing unless CMKFS_FAULT is "<area>:<step>:kill" (the process
// SIGKILLs itself here), "<area>:<step>:enospc" (throws SystemError(ENOSPC))
// or "<area>:<step>:einval" (throws SystemError(EINVAL): a call the backing
// filesystem does not support).
void fault_point(std::string_view area, std::string_view step);

}  // namespace cmkfs
