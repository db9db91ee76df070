// Small I/O helpers shared by the tests that damage a store behind the
// daemon's back (tamper, crash) and then read through the mount.
#pragma once

#include <cstddef>
#include <functional>
#include <set>
#include <string>

namespace cmkfs::test {

// The content layout as docs/FORMAT.md §3 states it, written out here rather
// than taken from src/format: a format change the document does not follow
// must fail the tests that damage files on purpose.
inline constexpr size_t kBlock = 4096;                      // plaintext block
inline constexpr size_t kHeader = 24;                       // file header
inline constexpr size_t kCipherBlock = kBlock + 12 + 16;    // nonce || ciphertext || tag
inline size_t block_offset(size_t index) { return kHeader + index * kCipherBlock; }

// Entry names of a directory (no recursion).
std::set<std::string> listing(const std::string &dir);

// Reads [off, off+len) of a mounted file with readahead off, so the kernel
// asks the daemon for just the blocks named. Returns errno (0 on success).
int read_through_mount(const std::string &path, size_t off, size_t len, std::string *out = nullptr);

// 0 when a fresh open and read of the whole file succeed (the content in
// *out), else the errno of the step that failed.
int read_errno(const std::string &path, std::string *out = nullptr);

// Polls pred every 10 ms; the seconds it took to hold, or -1 after timeout_s.
double wait_for(const std::function<bool()> &pred, double timeout_s);

}  // namespace cmkfs::test
