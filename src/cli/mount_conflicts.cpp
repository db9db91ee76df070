#include "cli/mount_conflicts.h"

#include <sys/stat.h>

#include <cerrno>

#include "cli/command_error.h"
#include "cli/exit_codes.h"
#include "cli/mount_table.h"
#include "util/errors.h"

namespace cmkfs::cli {

namespace {

[[noreturn]] void already_mounted(const std::string &backing, const std::string &where) {
    throw CommandError(kBackingError, backing + " is already mounted at " +
                                          (where.empty() ? std::string("another mountpoint") : where) +
                                          " (one mount per store on a host; unmount it first)");
}

// The mount of a daemon that died (killed, crashed) answers ENOTCONN and
// serves nothing; it holds no claim either, so only the table still lists it.
bool is_dead(const CmkfsMount &mount) {
    struct stat st {};
    return ::stat(mount.mountpoint.c_str(), &st) != 0 && errno == ENOTCONN;
}

}  // namespace

void refuse_mount_target(int backing_root_fd, const std::string &backing, const std::string &mountpoint) {
    struct stat st {};
    if (::fstat(backing_root_fd, &st) != 0) throw CommandError(kBackingError, SystemError(errno, "stat " + backing).what());
    if (auto outer = find_cmkfs_mount_of_device(st.st_dev))
        throw CommandError(kBackingError, "backing directory " + backing + " is inside the cmkfs mount at " +
                                              outer->mountpoint +
                                              " (stacked mounts are refused: a lock of one would not lock the other)");
    if (auto here = find_cmkfs_mount(mountpoint))
        throw CommandError(kMountFailed, mountpoint + " is already a cmkfs mount (of " + here->backing +
                                             "); unmount it first");
}

MountClaims claim_mount(int backing_root_fd, const std::string &backing, const std::string &mountpoint,
                        bool shared_storage) {
    // The mount table catches mounts made before claims existed or under
    // another run directory; the claims catch concurrent mounts and any
    // other name (a bind mount, a symlink) for the same backing directory.
    // A shared-storage store is mounted by several hosts; hosts simulated on
    // one machine (tests) see each other's mounts in this table, so only the
    // per-host claim (run directory) keeps one mount per host then.
    if (auto same = find_cmkfs_mount_of_backing(backing); same && !shared_storage && !is_dead(*same))
        already_mounted(backing, same->mountpoint);
    MountClaims claims;
    try {
        claims.mountpoint = std::make_unique<daemon::MountClaim>(daemon::mountpoint_claim_name(mountpoint), mountpoint);
    } catch (const daemon::MountClaimTaken &) {
        throw CommandError(kMountFailed, mountpoint + " is being mounted by another cmkfs daemon");
    }
    try {
        claims.backing = std::make_unique<daemon::MountClaim>(daemon::backing_claim_name(backing_root_fd), mountpoint);
    } catch (const daemon::MountClaimTaken &e) {
        already_mounted(backing, e.holder());
    }
    return claims;
}

}  // namespace cmkfs::cli
