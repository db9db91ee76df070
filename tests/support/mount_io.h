// Small I/O helpers shared by the tests that damage a store behind the
// daemon's back (tamper, crash) and then read through the mount.
#pragma once

#include <set>
#include <string>

namespace cmkfs::test {

// Entry names of a directory (no recursion).
std::set<std::string> listing(const std::string &dir);

// Reads [off, off+len) of a mounted file with readahead off, so the kernel
// asks the daemon for just the blocks named. Returns errno (0 on success).
int read_through_mount(const std::string &path, size_t off, size_t len, std::string *out = nullptr);

}  // namespace cmkfs::test
