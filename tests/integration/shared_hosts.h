// Several "hosts" of one shared store on one machine: each host is a cmkfs
// environment of its own (CMKFS_HOST_NAME, CMKFS_RUN_DIR, CMKFS_VOLUMES_DIR
// and a mountpoint) over the same backing directory, as separate machines
// over one CephFS directory would be. The environment is set only while a
// host's command or daemon is started (the test process is single-threaded
// there), so every host's processes see their own.
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

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

// One store on a local vault, made by host A and trusted by host B (and C:
// an unmounted third host for offline commands).
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
    std::string backing = dir / "backing";
    Host a{"host-a", dir / "a"};
    Host b{"host-b", dir / "b"};
    Host c{"host-c", dir / "c"};
    std::string volume_id;
};

}  // namespace cmkfs::test
