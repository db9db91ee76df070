// What store::Tree knows of one backing object between calls: an O_PATH fd,
// its identity, the directory id and place it was verified for, and the
// state of its contents. The caller (the FUSE adapter's inode table, or a
// test) owns the nodes and hands them to Tree through NodeTable.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "format/name_codec.h"
#include "format/place_codec.h"
#include "store/content.h"
#include "util/unique_fd.h"

namespace cmkfs::store {

struct Node {
    UniqueFd fd;  // O_PATH
    dev_t dev = 0;
    ino_t ino = 0;
    mode_t type = 0;  // S_IFMT bits

    // Directories: serializes changes to the names inside this directory
    // (create, rename, unlink, rmdir) so that long-name sidecars and ids stay
    // consistent. Taken only by Tree (tree_lock.h), its one home.
    std::mutex names_mutex;

    // Guards dir_id and place (and, for symlinks, what fd refers to while a
    // rename re-points it).
    std::mutex dir_id_mutex;
    std::optional<format::DirId> dir_id;  // directories: loaded on first use
    // Format v2: where this entry was last reached (parent id and plaintext
    // name). A directory's id was verified for it; a symlink's target is
    // opened for it.
    std::optional<format::Place> place;
    // Format 3, a symlink with a long target: the backing directory that
    // holds its sidecar (the one it was last reached in; readlink has only
    // the symlink). Guarded by dir_id_mutex, like place.
    UniqueFd link_dir;

    ContentState content;  // regular files

    std::string label() const;  // backing path, for logs (never plaintext)
};

// The owner of the nodes (fs::InodeTable in a mount).
class NodeTable {
public:
    virtual ~NodeTable() = default;
    // Takes ownership of `fd`; returns the node for (st_dev, st_ino) with its
    // use count raised by one (an existing node keeps its own fd).
    virtual Node &intern(UniqueFd fd, const struct stat &st) = 0;
    // Lowers the use count raised by intern().
    virtual void release(Node &node, uint64_t count) = 0;
    // A symlink re-sealed by a rename is a new backing object: points the
    // node known under `old_st` (if any) at `new_fd` and re-keys it, then
    // runs `update` on it.
    virtual void repoint(const struct stat &old_st, const UniqueFd &new_fd, const struct stat &new_st,
                         const std::function<void(Node &)> &update) = 0;
};

// "/proc/self/fd/N": reopens or addresses an O_PATH fd by path.
std::string proc_path(int fd);

// chmod and utimensat of the object an fd (O_PATH or not) refers to, with no
// path lookup where the kernel allows it (fchmodat2 and utimensat with
// AT_EMPTY_PATH; a SETATTR is two or three of these, and resolving
// /proc/self/fd/N cost more than the change itself). Older kernels: the
// /proc path. -1 and errno on failure.
int chmod_fd(int fd, mode_t mode);
int utimens_fd(int fd, const struct timespec times[2]);

}  // namespace cmkfs::store
