// Owner and mode of an entry the mount has just created in a backing
// directory, set explicitly so that nothing depends on the daemon's umask or
// on the side effects of the daemon's own chown.
#pragma once

#include <sys/types.h>

#include <optional>

namespace cmkfs::store {

// Who asked for the entry (the FUSE request's caller).
struct Creator {
    uid_t uid;
    gid_t gid;
};

// Gives the entry held by `fd` (a descriptor of the new entry itself: an
// O_PATH one for FIFOs, devices, sockets and symlinks) its owner and its
// exact requested mode `mode` (type bits and permission bits, as the kernel
// sent them, with the caller's umask already applied: the kernel does that,
// we do not ask for FUSE_CAP_DONT_MASK).
//
// - The backing object was made by the daemon, under the daemon's umask: the
//   permission bits are set again with chmod, which no umask touches (issue
//   14: 0620 became 0600 under umask 077, and 06777 became 06755 under 022,
//   which then refused a non-owner's open for write).
// - `creator` (when the daemon is root and the caller is not root): the
//   entry is chowned to the caller, with the parent's group when the parent
//   is set-group-ID (as ext4 and every local filesystem do; the kernel has
//   already dropped S_ISGID from `mode` when the caller may not have it,
//   mode_strip_sgid). A chown of a regular file clears S_ISUID and S_ISGID
//   even when root does it, so the chmod comes after the chown.
// - A directory created in a set-group-ID directory is set-group-ID itself.
// - Symlinks have no mode of their own: only the owner is set.
void settle_new_entry(int fd, int parent_fd, mode_t mode, const std::optional<Creator> &creator);

}  // namespace cmkfs::store
