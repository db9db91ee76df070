// A comparable description of a directory tree: one line per entry with its
// type, mode, size, mtime (ns), content hash or symlink target, xattrs and
// hard-link group. Used to prove a backup restores identically and that a
// revoked store's backing directory did not change by a single byte.
#pragma once

#include <map>
#include <set>
#include <string>

namespace cmkfs::test {

// relative path ("." for the root) → description
using TreeSnapshot = std::map<std::string, std::string>;

struct SnapshotOptions {
    bool directory_mtimes = true;
    // Relative paths recorded without a content hash (a multi-GiB sparse
    // file the caller checks region by region instead of reading whole).
    std::set<std::string> size_only;
};

TreeSnapshot snapshot_tree(const std::string &root, SnapshotOptions options = {});

// Human-readable list of entries missing, added or different; empty when equal.
std::string tree_differences(const TreeSnapshot &expected, const TreeSnapshot &actual);

}  // namespace cmkfs::test
