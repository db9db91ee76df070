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

#include "format/name_codec.h"
#include "format/place_codec.h"
#include "store/content.h"
#include "util/unique_fd.h"

namespace cmkfs::fs {

struct Inode {
    UniqueFd fd;  // O_PATH
    dev_t dev = 0;
    ino_t ino = 0;
    mode_t type = 0;  // S_IFMT bits
    uint64_t nlookup = 0;  // guarded by the table mutex

    // Serializes changes to the names inside this directory (create, rename,
    // unlink, rmdir) so that long-name sidecars and ids stay consistent.
    std::mutex names_mutex;

    // Guards dir_id and place (and, for symlinks, what fd refers to while a
    // rename re-points it).
    std::mutex dir_id_mutex;
    std::optional<format::DirId> dir_id;  // directories: loaded on first use
    // Format v2: where the kernel last reached this entry (parent id and
    // plaintext name). A directory's id was verified for it; a symlink's
    // target is opened for it.
    std::optional<format::Place> place;
    // Format v3, a symlink with a long target: the backing directory that
    // holds its sidecar (the one it was last reached in).
    UniqueFd link_dir;

    store::ContentState content;  // regular files

    std::string label() const;  // backing path, for logs (never plaintext)
};

class InodeTable {
public:
    // Takes ownership of `fd`; returns the inode for (dev, ino) with its
    // lookup count raised by one (an existing inode keeps its own fd).
    Inode &find_or_insert(UniqueFd fd, const struct stat &st);
    // A symlink re-sealed by a rename is a new backing inode: points the inode
    // known under `old_st` (if any, and if the new one is not known yet) at
    // `new_fd` (same fd number, via dup3, so concurrent users see the old or
    // the new object) and re-keys it, then runs `update` on it.
    void repoint(const struct stat &old_st, const UniqueFd &new_fd, const struct stat &new_st,
                 const std::function<void(Inode &)> &update);
    // Lowers the lookup count; the inode is freed at zero (never the root).
    void forget(Inode &inode, uint64_t n);

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
