// One "host" of a multi-host cmkfs test: a view of the shared filesystem (a
// ceph-fuse client mount of CephCluster, or any directory) plus a cmkfs
// environment of its own, as a separate machine would have:
//   CMKFS_RUN_DIR      its control sockets,
//   CMKFS_VOLUMES_DIR  its trust-binding registry (/etc/cmkfs/volumes),
//   CMKFS_HOST_NAME    the name cmkfs gives it in messages,
//   a config file      (used when the test writes one),
//   a mountpoint       for its cmkfs mount of a store on the shared view.
// Every cmkfs command and daemon of the host runs with that environment. The
// daemon is unmounted and reaped by its PID at destruction.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "support/mount_daemon.h"
#include "support/process.h"

namespace cmkfs::test {

class Host {
public:
    // `view` is this host's path to the shared directory tree (e.g.
    // CephCluster::client(i)); backing paths below are relative to it.
    Host(std::string name, std::string view);
    ~Host();
    Host(const Host &) = delete;
    Host &operator=(const Host &) = delete;

    const std::string &name() const { return name_; }
    // This host's path to `rel` on the shared filesystem.
    std::string view(const std::string &rel) const { return view_ + "/" + rel; }
    const std::string &mountpoint() const { return mountpoint_; }
    // A path inside this host's cmkfs mount.
    std::string path(const std::string &rel) const { return mountpoint_ + "/" + rel; }
    std::string run_dir() const { return dir_ / "run"; }
    std::string volumes_dir() const { return dir_ / "volumes"; }
    // The host's config file: passed to init, trust and mount once it exists.
    std::string config_path() const { return dir_ / "config.yaml"; }
    TempDir &scratch() { return dir_; }

    // The cmkfs CLI run as this host.
    CommandResult cmkfs(const std::vector<std::string> &args, const std::string &input = "") const;
    // `cmkfs init view(backing)` with the vault's key, bound in this host's registry.
    CommandResult init(const std::string &backing, const LocalVault &vault,
                       const std::vector<std::string> &extra_args = {}) const;
    // `cmkfs trust view(backing)` with the vault's key: this host's binding of
    // a store another host made.
    CommandResult trust(const std::string &backing, const LocalVault &vault) const;

    // Mounts view(backing) at mountpoint() with `cmkfs mount -f`, as this host;
    // throws with the daemon's log when it exits first.
    void mount(const std::string &backing, const std::vector<std::string> &extra_args = {});
    // Unmounts and reaps the daemon; throws when it had to be killed.
    void unmount();
    // SIGKILL the daemon (crash tests) and detach the dead mount.
    void kill_daemon();
    bool mounted() const;
    pid_t daemon_pid() const { return daemon_ ? daemon_->pid() : -1; }
    std::string daemon_log() const;

private:
    std::vector<std::string> with_config(std::vector<std::string> args) const;

    std::string name_;
    std::string view_;
    TempDir dir_;
    std::string mountpoint_;
    int mounts_ = 0;
    std::optional<MountDaemon> daemon_;
};

}  // namespace cmkfs::test
