// A mount that would share a store or a mountpoint with another cmkfs mount
// on this host is refused before it serves anything: two daemons on one
// store, or one store kept inside another cmkfs mount, means a `cmkfs lock`
// reaches only one of them while the other keeps serving plaintext; a second
// daemon on a mountpoint takes over the first one's control socket.
#pragma once

#include <memory>
#include <string>

#include "daemon/mount_claim.h"

namespace cmkfs::cli {

// What a serving daemon holds so that no other daemon on this host mounts
// its store or its mountpoint.
struct MountClaims {
    std::unique_ptr<daemon::MountClaim> mountpoint;
    std::unique_ptr<daemon::MountClaim> backing;
};

// Refuses with CommandError: exit 4 when the backing directory lies in a
// cmkfs mount; exit 9 when the mountpoint is a cmkfs mount already. Run
// before anything touches the backing directory. Paths are absolute.
void refuse_mount_target(int backing_root_fd, const std::string &backing, const std::string &mountpoint);

// Refuses with CommandError: exit 4 (naming the existing mountpoint) when the
// store is mounted already on this host (for an exclusive store, also when
// the mount table lists a mount of it). Paths are absolute.
MountClaims claim_mount(int backing_root_fd, const std::string &backing, const std::string &mountpoint,
                        bool shared_storage);

}  // namespace cmkfs::cli
