// Byte-level access to a mounted store's backing directory, for the tests that
// damage what the daemon wrote (tamper, place binding) and then check that it
// is refused: which backing file a new mount entry became, raw reads and
// writes at an offset, and the integrity log line that must name the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "support/process.h"

namespace cmkfs::test {


// The one new entry `make` adds to the backing root (a test failure otherwise).
std::string locate_new(MountedStore &store, const std::function<void()> &make);

// Creates `name` at the mount root and returns the backing file it became.
std::string create_and_locate(MountedStore &store, const std::string &name, const std::string &content);

// Up to `len` bytes of the file at `off` (fewer at its end).
std::string read_range(const std::string &path, size_t off, size_t len);

// Overwrites `bytes` at `off` in place.
void write_range(const std::string &path, size_t off, const std::string &bytes);

// Flips one bit of the byte at `off`.
void flip_byte(const std::string &path, size_t off);

// Whether a line of `log` mentions "integrity", the backing file and (if
// given) `what`, such as a block number.
bool log_names(const std::string &log, const std::string &backing_file, const std::string &what = "");

}  // namespace cmkfs::test
