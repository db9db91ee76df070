// Finds cmkfs mounts in /proc/self/mountinfo.
#pragma once

#include <optional>
#include <string>

namespace cmkfs::cli {

struct CmkfsMount {
    std::string mountpoint;
    std::string backing;  // the mount source (fsname)
};

// The cmkfs mount whose mountpoint is `path` (after making it absolute).
std::optional<CmkfsMount> find_cmkfs_mount(const std::string &path);
// The cmkfs mount serving the backing directory `backing`, if any.
std::optional<CmkfsMount> find_cmkfs_mount_of_backing(const std::string &backing);

}  // namespace cmkfs::cli
