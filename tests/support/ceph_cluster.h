// A one-node CephFS with N ceph-fuse clients (scripts/ceph-cluster.sh) for
// multi-host tests: each client mount is one "host"'s view of the same
// filesystem, under its own client name and session, as separate machines
// would have. Started in a TempDir; stopped by the script at destruction
// (every daemon by its PID, every client unmounted), also when an assertion
// failed.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "support/process.h"

namespace cmkfs::test {

class CephCluster {
public:
    // Starts a cluster with `clients` ceph-fuse mounts; throws with the
    // script's output when it does not come up.
    explicit CephCluster(int clients);
    ~CephCluster();
    CephCluster(const CephCluster &) = delete;
    CephCluster &operator=(const CephCluster &) = delete;

    // One cluster for the whole test binary (3 clients), started at the first
    // call and stopped at exit: a start costs ~14 s and a stop ~10 s, so test
    // cases share it and each works in a directory of its own (fresh_dir).
    static CephCluster &shared();

    int clients() const { return clients_; }
    const std::string &dir() const { return dir_.path(); }
    std::string conf() const { return dir_ / "ceph.conf"; }
    // The mount of client i (1-based): the same tree as every other client's.
    std::string client(int i) const;
    // The ceph-fuse process serving client i (fault tests stop or kill it;
    // stop() still unmounts and ends everything).
    pid_t client_pid(int i) const;
    // A new, empty directory at the root of the filesystem, unique in this
    // cluster; returns its name (join it to client(i) for each host's view).
    std::string fresh_dir(const std::string &prefix);

    // PIDs in the script's pidfiles (daemons and ceph-fuse clients) that run now.
    std::vector<pid_t> running_pids() const;
    // Mounts under dir() listed in /proc/self/mountinfo.
    std::vector<std::string> mounts() const;
    // `ceph-cluster.sh status`: health and mounts (for failure messages).
    std::string status() const;
    // Stops the cluster now (idempotent); throws when the script fails or
    // leaves a daemon or a mount behind.
    void stop();

    std::chrono::milliseconds start_time() const { return start_time_; }
    std::chrono::milliseconds stop_time() const { return stop_time_; }

private:
    TempDir dir_;
    int clients_;
    bool running_ = false;
    int next_dir_ = 0;
    std::chrono::milliseconds start_time_{0};
    std::chrono::milliseconds stop_time_{0};
};

// scripts/ceph-cluster.sh in the source tree.
std::string ceph_cluster_script();

}  // namespace cmkfs::test
