// Who may use a backing directory at the same time, across hosts: every user
// holds an OFD lock (fcntl F_OFD_SETLK) on byte 0 of BACKING/.cmkfs.lock for
// as long as it runs. A mount of a shared-storage store takes it shared
// (read); a mount of an exclusive store, and every offline rewrite or check
// of the whole store (reencrypt, upgrade, the shared-storage switch, fsck,
// offline rotation), take it exclusively. OFD locks are arbitrated by the
// filesystem (CephFS: by the MDS, across clients) and die with their open
// file, so a crash never leaves a stale lock.
//
// So that a refusal can say who holds the store, each user also takes one
// record slot of the file (a 256-byte range, OFD-locked while it lives) and
// writes there its host name, pid, what it is and its mountpoint. A record
// is untrusted input (anyone who can write the backing directory can write
// it): it is read bounded, only from a slot whose lock is held, cleaned of
// anything but printable characters, and used for messages only.
#pragma once

#include <string>
#include <vector>

#include "util/errors.h"
#include "util/unique_fd.h"

namespace cmkfs::store {

struct LockHolder {
    std::string host;        // as the holder wrote it (cleaned), or "?" when unreadable
    std::string pid;
    std::string what;        // "shared mount", "exclusive mount", "reencrypt", "fsck", …
    std::string mountpoint;  // for mounts
    bool is_mount() const { return !mountpoint.empty(); }
    // "host H (pid P, WHAT[ at MOUNTPOINT])"
    std::string describe() const;
};

// The lock is held in a conflicting mode. what() names the backing directory
// and every holder found (or "another process" when none wrote a record).
class StoreBusy : public Error {
public:
    StoreBusy(const std::string &message, std::vector<LockHolder> holders)
        : Error(EBUSY, message), holders_(std::move(holders)) {}
    const std::vector<LockHolder> &holders() const noexcept { return holders_; }

private:
    std::vector<LockHolder> holders_;
};

class StoreLock {
public:
    enum class Mode { shared, exclusive };

    // Never waits. Throws StoreBusy when the lock is taken in a conflicting
    // mode. A read-only backing directory without a lock file is not locked
    // (nothing can rewrite it either). `what` and `mountpoint` go into this
    // holder's record.
    StoreLock(int root_fd, const std::string &backing, Mode mode, const std::string &what,
              const std::string &mountpoint = {});
    ~StoreLock();
    StoreLock(StoreLock &&) noexcept = default;
    StoreLock &operator=(StoreLock &&) = delete;
    StoreLock(const StoreLock &) = delete;
    StoreLock &operator=(const StoreLock &) = delete;

private:
    void release_record() noexcept;

    UniqueFd fd_;
    long slot_ = -1;  // this holder's record slot, or -1
};

// "host A (pid 1, exclusive mount at /m), host B (…)"; "another process" when empty.
std::string describe_holders(const std::vector<LockHolder> &holders);

}  // namespace cmkfs::store
