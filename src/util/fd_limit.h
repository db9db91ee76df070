// The daemon's open-file limit. Like libfuse's passthrough_hp, the daemon
// keeps one O_PATH descriptor for every inode the kernel has cached, so the
// usual soft limit of 1024 would cap how many files a mount can have looked
// up at once; running out shows up as EMFILE on lookups and creates.
#pragma once

#include <cstdint>

namespace cmkfs {

// Raises the soft RLIMIT_NOFILE to the hard limit; with CAP_SYS_RESOURCE
// (root) first raises the hard limit to fs.nr_open. Returns the soft limit
// in effect afterwards.
uint64_t raise_open_file_limit() noexcept;

// The soft RLIMIT_NOFILE now.
uint64_t open_file_limit() noexcept;

}  // namespace cmkfs
