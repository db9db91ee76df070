// Whole-buffer file I/O helpers that retry on EINTR and short transfers.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "util/unique_fd.h"

namespace cmkfs {

// Reads up to buf.size() bytes at offset; returns bytes read (short only at EOF).
size_t pread_full(int fd, std::span<uint8_t> buf, off_t offset);
// Writes all of buf at offset or throws SystemError.
void pwrite_full(int fd, std::span<const uint8_t> buf, off_t offset);

// The most read_file_at reads unless told otherwise: every bookkeeping file
// (header, directory id, sidecar, journal, credentials) and a config is far
// smaller, and a larger one is an attack on our memory.
inline constexpr size_t kMaxSmallFileSize = size_t{1} << 20;

// Reads a small whole file relative to dirfd (AT_FDCWD for paths). The file
// may come from the untrusted backing directory, so it is opened
// O_NONBLOCK|O_NOFOLLOW (a FIFO must not hang us, a symlink must not lead us
// elsewhere) and must be a regular file of at most max_size bytes; anything
// else throws SystemError (EIO, or EFBIG when too large) naming `name`.
std::vector<uint8_t> read_file_at(int dirfd, const std::string &name,
                                  size_t max_size = kMaxSmallFileSize);
std::string read_text_file(const std::string &path, size_t max_size = kMaxSmallFileSize);

// Writes a file crash-safely: temp file, fsync, rename over `name`, fsync dir.
// before_step, when given, runs before each step ("write", "fsync", "rename",
// "fsync-dir"): the crash-safety tests inject failures there (util/fault.h).
using AtomicWriteStepHook = std::function<void(const char *step)>;
void write_file_atomic(int dirfd, const std::string &name, std::span<const uint8_t> data,
                       mode_t mode, const AtomicWriteStepHook &before_step = {});
void write_text_file_atomic(const std::string &path, const std::string &text, mode_t mode);

// Removes the temporaries write_file_atomic left beside `name` (directly in
// dirfd) when the process that made them died mid-write: their pid, which
// the temporary's name carries, no longer runs. A live writer's temporary is
// left alone. Returns how many were removed.
size_t remove_orphan_temporaries(int dirfd, const std::string &name);

UniqueFd open_dir(const std::string &path);

// The entry names of the directory dirfd (without "." and ".."), read through
// a fresh open of it: a stream over a dup() would share, and move, dirfd's
// offset. Throws SystemError.
std::vector<std::string> list_directory(int dirfd);

}  // namespace cmkfs
