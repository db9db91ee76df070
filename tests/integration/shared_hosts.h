// Several "hosts" of one shared store on one machine: each host is a cmkfs
// environment of its own (CMKFS_HOST_NAME, CMKFS_RUN_DIR, CMKFS_VOLUMES_DIR
// and a mountpoint) over the same backing directory, as separate machines
// over one CephFS directory would be. The environment is set only while a
// host's command or daemon is started (the test process is single-threaded
// there), so every host's processes see their own.
#pragma once

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#ifdef CMKFS_SHARED_ON_CEPH
#include "support/ceph_cluster.h"
#endif
#include "support/mount_daemon.h"
#include "support/process.h"
#include "support/scoped_env.h"

namespace cmkfs::test {

class Host {
public:
    Host(const std::string &name, const std::string &root)
        : name_(name), run_dir_(root + "/run"), volumes_dir_(root + "/volumes"), mountpoint_(root + "/mnt"),
          log_(root + "/daemon.log") {
        std::filesystem::create_directories(root);
        std::filesystem::create_directory(mountpoint_);
        ::mkdir(volumes_dir_.c_str(), 0700);
    }

    const std::string &name() const { return name_; }
    const std::string &mountpoint() const { return mountpoint_; }
    const std::string &volumes_dir() const { return volumes_dir_; }
    std::string path(const std::string &rel) const { return mountpoint_ + "/" + rel; }
    std::string log() const { return read_file(log_); }

    // `cmkfs ARGS` as run on this host.
    CommandResult cli(const std::vector<std::string> &args, int seconds = 60) const {
        const auto env = environment();
        return bounded_cmkfs(args, seconds);
    }
    // `cmkfs mount -f BACKING MOUNTPOINT`, owned by this host until unmount().
    void mount(const std::string &backing, const std::vector<std::string> &extra = {}) {
        const auto env = environment();
        std::vector<std::string> args{"mount", "-f", backing, mountpoint_};
        args.insert(args.end(), extra.begin(), extra.end());
        daemon_.emplace(args, mountpoint_, log_);
    }
    void unmount() { daemon_.reset(); }
    // SIGKILL the daemon (crash tests), reap it and detach its dead mount.
    void kill_daemon() {
        if (daemon_) daemon_->kill();
        daemon_.reset();
    }
    bool mounted() const { return is_mounted(mountpoint_); }
    // A mount that must be refused: returns its result, undoing it if it was not.
    CommandResult refused_mount(const std::string &backing) {
        auto r = cli({"mount", backing, mountpoint_});
        if (r.exit_code == 0) cli({"umount", mountpoint_});
        return r;
    }
    // This host trusts the store as `other` does (`cmkfs trust` on a real host).
    void trust_as(const Host &other, const std::string &volume_id) {
        const std::string file = "/" + volume_id + ".yaml";
        std::filesystem::copy_file(other.volumes_dir_ + file, volumes_dir_ + file,
                                   std::filesystem::copy_options::overwrite_existing);
        ::chmod((volumes_dir_ + file).c_str(), 0600);
    }

private:
    struct Env {
        ScopedEnv host, run, volumes;
    };
    std::unique_ptr<Env> environment() const {
        return std::unique_ptr<Env>(new Env{{"CMKFS_HOST_NAME", name_}, {"CMKFS_RUN_DIR", run_dir_},
                                            {"CMKFS_VOLUMES_DIR", volumes_dir_}});
    }

    std::string name_, run_dir_, volumes_dir_, mountpoint_, log_;
    std::optional<MountDaemon> daemon_;
};

// Where the hosts see the backing directory. By default one local directory
// (hosts on one machine, one filesystem). CMKFS_SHARED_BACKING_ROOTS=DIR_A:DIR_B
// puts it on a distributed filesystem instead: DIR_A and DIR_B are two client
// mounts of it (e.g. scripts/ceph-cluster.sh's client1 and client2); the store
// is made in a fresh directory under DIR_A, which host B sees under DIR_B.
// Built as cluster_shared (CMKFS_SHARED_ON_CEPH), the roots are clients 1 and
// 2 of the test binary's own CephFS (support/ceph_cluster.h).
inline std::string shared_backing_roots() {
#ifdef CMKFS_SHARED_ON_CEPH
    CephCluster &cluster = CephCluster::shared();
    return cluster.client(1) + ":" + cluster.client(2);
#else
    const char *roots = std::getenv("CMKFS_SHARED_BACKING_ROOTS");  // NOLINT(concurrency-mt-unsafe)
    return roots != nullptr ? roots : "";
#endif
}

class BackingPlace {
public:
    explicit BackingPlace(const std::string &local) {
        const std::string spec = shared_backing_roots();
        const auto colon = spec.find(':');
        if (colon == std::string::npos) {
            a_ = b_ = local;
            return;
        }
        std::string tmpl = spec.substr(0, colon) + "/cmkfs-shared-XXXXXX";
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        top_ = tmpl;
        const std::string leaf = top_.substr(top_.rfind('/'));
        a_ = top_ + "/backing";
        b_ = spec.substr(colon + 1) + leaf + "/backing";
    }
    ~BackingPlace() {
        std::error_code ec;
        if (!top_.empty()) std::filesystem::remove_all(top_, ec);
    }
    BackingPlace(const BackingPlace &) = delete;
    BackingPlace &operator=(const BackingPlace &) = delete;
    const std::string &a() const { return a_; }
    const std::string &b() const { return b_; }

private:
    std::string top_, a_, b_;
};

// One store on a local vault, made by host A and trusted by host B (and C:
// an unmounted third host for offline commands, which sees the store as A).
struct SharedStoreHosts {
    explicit SharedStoreHosts(bool shared_storage) {
        std::vector<std::string> init{"init", backing, "--provider", "local", "--identity", vault.identity,
                                      "--key-encryption-key", vault.kid};
        if (shared_storage) init.push_back("--shared-storage");
        auto r = a.cli(init);
        INFO(r.out << r.err);
        REQUIRE(r.exit_code == 0);
        volume_id = nlohmann::json::parse(read_file(backing + "/.cmkfs.volume")).at("volume_id");
        b.trust_as(a, volume_id);
        c.trust_as(a, volume_id);
    }
    ~SharedStoreHosts() {
        a.unmount();
        b.unmount();
    }
    SharedStoreHosts(const SharedStoreHosts &) = delete;
    SharedStoreHosts &operator=(const SharedStoreHosts &) = delete;

    TempDir dir;
    LocalVault vault{dir / "vault"};
    BackingPlace place{dir / "backing"};
    std::string backing = place.a();    // as hosts A and C see it
    std::string backing_b = place.b();  // as host B sees it
    Host a{"host-a", dir / "a"};
    Host b{"host-b", dir / "b"};
    Host c{"host-c", dir / "c"};
    std::string volume_id;
};

}  // namespace cmkfs::test
