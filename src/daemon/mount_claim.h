// One mount per store and per mountpoint on a host. A daemon claims names in
// the host's run directory (daemon/control_socket.h run_directory()) for as
// long as it serves: an flock on "<name>.lock", a file that holds the
// claiming mountpoint so that a refused second mount can say where the first
// one is. Unlike .cmkfs.lock in the backing directory, which whoever writes
// the store can remove, these files are root's and outside every store.
#pragma once

#include <string>

#include "util/errors.h"
#include "util/unique_fd.h"

namespace cmkfs::daemon {

// Another live process holds the claim; holder() is its mountpoint ("" when
// it has not written it yet).
class MountClaimTaken : public Error {
public:
    MountClaimTaken(const std::string &name, std::string holder)
        : Error(EBUSY, name + " is claimed by another cmkfs daemon"), holder_(std::move(holder)) {}
    const std::string &holder() const noexcept { return holder_; }

private:
    std::string holder_;
};

class MountClaim {
public:
    // Claims `name` (a file name, no '/') for `mountpoint`. Throws
    // MountClaimTaken, or SystemError when the run directory is unusable.
    MountClaim(const std::string &name, const std::string &mountpoint);
    // Removes the file while still holding the lock, so a waiting claimer
    // never locks a file that is no longer the one at the path.
    ~MountClaim();
    MountClaim(const MountClaim &) = delete;
    MountClaim &operator=(const MountClaim &) = delete;

private:
    std::string path_;
    UniqueFd fd_;
};

// Claim names: the backing directory by device and inode (however it is
// named, bind mounts included), the mountpoint by its absolute path.
std::string backing_claim_name(int backing_root_fd);
std::string mountpoint_claim_name(const std::string &absolute_mountpoint);

}  // namespace cmkfs::daemon
