// One "host" of a multi-host cmkfs test: a view of the shared filesystem (a
// ceph-fuse client mount of CephCluster, or any directory; none: backing
// paths are used as given) plus a cmkfs environment of its own, as a separate
// machine would have:
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
    // CephCluster::client(i)); backing paths below are relative to it. Without
    // one they are paths as this host sees them (absolute).
    explicit Host(std::string name, std::string view = "");
    ~Host();
    Host(const Host &) = delete;
    Host &operator=(const Host &) = delete;

    const std::string &name() const { return name_; }
    // This host's path to `rel` on the shared filesystem.
    std::string view(const std::string &rel) const { return view_.empty() ? rel : view_ + "/" + rel; }
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
    // The same, killed (and failed) after `seconds`: for commands that must
    // not hang on a lock another host holds.
    CommandResult cli(const std::vector<std::string> &args, int seconds = 60) const;
    // `cmkfs init view(backing)` with the vault's key, bound in this host's registry.
    CommandResult init(const std::string &backing, const LocalVault &vault,
                       const std::vector<std::string> &extra_args = {}) const;
    // `cmkfs trust view(backing)` with the vault's key: this host's binding of
    // a store another host made.
    CommandResult trust(const std::string &backing, const LocalVault &vault) const;
    // This host trusts the store as `other` does (what `cmkfs trust` gives,
    // without the provider round trip): copies other's binding of volume_id.
    void trust_as(const Host &other, const std::string &volume_id) const;

    // Mounts view(backing) at mountpoint() with `cmkfs mount -f`, as this host;
    // throws with the daemon's log when it exits first.
    void mount(const std::string &backing, const std::vector<std::string> &extra_args = {});
    // Unmounts and reaps the daemon; throws when it had to be killed.
    void unmount();
    // SIGKILL the daemon (crash tests) and detach the dead mount.
    void kill_daemon();
    bool mounted() const;
    // A mount that must be refused: returns its result, undoing it if it was not.
    CommandResult refused_mount(const std::string &backing);
    pid_t daemon_pid() const { return daemon_ ? daemon_->pid() : -1; }
    // The log of the current (else the last) mount.
    std::string daemon_log() const;
    // Every mount's log of this host, oldest first.
    std::string log() const;

private:
    std::vector<std::string> with_config(std::vector<std::string> args) const;
    std::string mount_log(int n) const { return dir_ / ("daemon-" + std::to_string(n) + ".log"); }

    std::string name_;
    std::string view_;
    TempDir dir_;
    std::string mountpoint_;
    int mounts_ = 0;
    std::optional<MountDaemon> daemon_;
};

}  // namespace cmkfs::test
