#include "store/new_entry.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "store/tree_node.h"
#include "util/errors.h"

namespace cmkfs::store {

void settle_new_entry(int fd, int parent_fd, mode_t mode, const std::optional<Creator> &creator) {
    // The parent matters only for a chown (its group) and a directory (its
    // S_ISGID): a file made by root got the parent's group from the backing
    // filesystem already. One syscall fewer on the common create.
    struct stat parent {};
    if ((creator || S_ISDIR(mode)) && ::fstat(parent_fd, &parent) != 0) throw_errno("stat parent of new entry");
    const bool inherit_group = (parent.st_mode & S_ISGID) != 0;
    if (creator) {
        const gid_t gid = inherit_group ? parent.st_gid : creator->gid;
        if (::fchownat(fd, "", creator->uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0)
            throw_errno("chown new entry");
    }
    if (S_ISLNK(mode)) return;
    mode_t perms = mode & 07777;
    if (S_ISDIR(mode) && inherit_group) perms |= S_ISGID;
    // `fd` may be an O_PATH descriptor (fchmod refuses those); chmod_fd
    // names exactly that object (no name lookup an attacker of the backing
    // directory could redirect).
    if (chmod_fd(fd, perms) != 0) throw_errno("chmod new entry");
}

}  // namespace cmkfs::store
