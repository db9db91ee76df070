// Several "hosts" of one shared store on one machine: each host
// (support/host.h) is a cmkfs environment of its own (CMKFS_HOST_NAME,
// CMKFS_RUN_DIR, CMKFS_VOLUMES_DIR and a mountpoint) over the same backing
// directory, as separate machines over one CephFS directory would be.
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
#include "support/host.h"
#include "support/process.h"

namespace cmkfs::test {

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
    // The hosts (declared last) unmount before the backing place goes.
    ~SharedStoreHosts() = default;
    SharedStoreHosts(const SharedStoreHosts &) = delete;
    SharedStoreHosts &operator=(const SharedStoreHosts &) = delete;

    TempDir dir;
    LocalVault vault{dir / "vault"};
    BackingPlace place{dir / "backing"};
    std::string backing = place.a();    // as hosts A and C see it
    std::string backing_b = place.b();  // as host B sees it
    Host a{"host-a"};
    Host b{"host-b"};
    Host c{"host-c"};
    std::string volume_id;
};

}  // namespace cmkfs::test
