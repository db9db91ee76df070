// /proc/self/mountinfo as the tests read it. Kept apart from src/cli's
// mount table on purpose: the tests check the product's view of the mounts
// against the kernel's, so they do not share its parser.
#pragma once

#include <string>
#include <vector>

namespace cmkfs::test {

struct MountInfoEntry {
    std::string mountpoint;     // \ooo escapes undone
    std::string options;        // per-mount options, as the kernel writes them
    std::string fstype;         // e.g. fuse.cmkfs
    std::string source;         // fsname, \ooo escapes undone
    std::string super_options;  // where FUSE's allow_other shows
};

// mountinfo escapes space, tab, newline and backslash as \ooo; this undoes it.
std::string unescape_mountinfo(const std::string &s);

// Every line of /proc/self/mountinfo, in the kernel's order.
std::vector<MountInfoEntry> read_mountinfo();

}  // namespace cmkfs::test
