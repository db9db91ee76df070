// Finds cmkfs mounts in /proc/self/mountinfo.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace cmkfs::cli {

struct CmkfsMount {
    std::string mountpoint;
    std::string backing;  // the mount source (fsname)
    dev_t device = 0;     // st_dev of every file in the mount
};

// The cmkfs mount whose mountpoint is `path` (after making it absolute).
std::optional<CmkfsMount> find_cmkfs_mount(const std::string &path);
// The cmkfs mount serving the backing directory `backing`, if any.
std::optional<CmkfsMount> find_cmkfs_mount_of_backing(const std::string &backing);
// The cmkfs mount that a file with st_dev `device` is in, if any: how a
// backing directory inside a cmkfs mount (a stacked mount) is recognised
// whatever path names it.
std::optional<CmkfsMount> find_cmkfs_mount_of_device(dev_t device);

}  // namespace cmkfs::cli
