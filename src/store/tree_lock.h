// The names lock of directories: the one place where changes to a
// directory's names are serialized (store::Tree takes it; nothing else
// does). Within a host it is the directory node's mutex; across the hosts of
// a shared-storage store (README "Shared storage", FORMAT.md §13) a name
// change that must not race another host's also holds an OFD lock on one
// byte of BACKING/.cmkfs.lock chosen by (directory, backing name): CephFS and
// local filesystems arbitrate OFD locks between every client.
#pragma once

#include <fcntl.h>

#include <mutex>
#include <string>

#include "store/tree_node.h"
#include "util/unique_fd.h"

namespace cmkfs::store {

// BACKING/.cmkfs.lock opened for the name locks between hosts (an open file
// description of its own: the store lock's records and slots are never
// touched, the name bytes lie far above them).
class HostNameLocks {
public:
    // Not enabled: name changes are serialized on this host only.
    HostNameLocks() = default;
    // Opens `root_fd`'s .cmkfs.lock (made by the store lock at mount).
    explicit HostNameLocks(int root_fd);
    bool enabled() const { return static_cast<bool>(fd_); }
    int fd() const { return fd_.get(); }

private:
    UniqueFd fd_;
};

class NamesLock {
public:
    // Locks `dir`'s names (`take` false: not held by this object, the caller
    // holds them already).
    explicit NamesLock(Node &dir, bool take = true);
    // Locks two directories' names without deadlock (once when they are one).
    NamesLock(Node &a, Node &b);
    ~NamesLock();
    NamesLock(const NamesLock &) = delete;
    NamesLock &operator=(const NamesLock &) = delete;

    // Also holds the name `backing` of the directory `dirfd` against the
    // other hosts until unlock() (nothing when `hosts` is not enabled). Taken
    // after this host's lock, always for one name only: no deadlock.
    void hold_across_hosts(const HostNameLocks &hosts, int dirfd, const std::string &backing);
    void unlock();

private:
    void release_host_lock();

    std::unique_lock<std::mutex> first_, second_;
    int host_fd_ = -1;
    struct flock host_range_ {};
};

}  // namespace cmkfs::store
