// Inodes of the mount, keyed by the backing (st_dev, st_ino) like libfuse's
// passthrough_hp: each holds an O_PATH fd to the backing object, the kernel's
// lookup count, and the per-file state the store needs.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "store/tree_node.h"
#include "util/unique_fd.h"

namespace cmkfs::fs {

// A node of store::Tree (the backing object and what the store keeps of
// it) with the kernel's lookup count.
struct Inode : store::Node {
    uint64_t nlookup = 0;  // guarded by the table mutex
};

class InodeTable : public store::NodeTable {
public:
    // Takes ownership of `fd`; returns the inode for (dev, ino) with its
    // lookup count raised by one (an existing inode keeps its own fd).
    Inode &find_or_insert(UniqueFd fd, const struct stat &st);
    // A symlink re-sealed by a rename is a new backing inode: points the inode
    // known under `old_st` (if any, and if the new one is not known yet) at
    // `new_fd` (same fd number, via dup3, so concurrent users see the old or
    // the new object) and re-keys it, then runs `update` on it.
    void repoint(const struct stat &old_st, const UniqueFd &new_fd, const struct stat &new_st,
                 const std::function<void(store::Node &)> &update) override;
    // Lowers the lookup count; the inode is freed at zero (never the root).
    void forget(Inode &inode, uint64_t n);

    // store::NodeTable, for store::Tree.
    store::Node &intern(UniqueFd fd, const struct stat &st) override { return find_or_insert(std::move(fd), st); }
    void release(store::Node &node, uint64_t count) override { forget(static_cast<Inode &>(node), count); }

    Inode &root() { return *root_; }
    void set_root(std::unique_ptr<Inode> root) { root_ = std::move(root); }

    // Every inode the kernel knows about, with its lookup count raised so it
    // cannot be freed while the caller uses it; call release() after.
    std::vector<Inode *> snapshot();
    void release(const std::vector<Inode *> &inodes);

private:
    std::mutex mutex_;
    std::map<std::pair<ino_t, dev_t>, std::unique_ptr<Inode>> inodes_;
    std::unique_ptr<Inode> root_;
};

}  // namespace cmkfs::fs
