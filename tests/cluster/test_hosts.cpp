// The Host fixture over a real CephFS: two "hosts", each a ceph-fuse client
// with a cmkfs environment of its own (run dir, binding registry, name). A
// store made and written on host A is refused on host B until B trusts it,
// then mounted and read on B byte for byte. No shared mode: one host at a
// time (the shared-storage mode's tests are cluster_shared). ceph-fuse
// refuses renameat2(RENAME_NOREPLACE) with EINVAL (test_ceph_smoke.cpp): a
// mkdir in the store falls back to a check and a plain rename, which a
// shared-storage mount makes under a name lock between hosts
// (store/tree_lock.h; cluster_shared races it).
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "support/ceph_cluster.h"
#include "support/host.h"
#include "support/test_seed.h"

using namespace cmkfs::test;

namespace {

bool has_entry_ending(const std::string &dir, const std::string &suffix) {
    std::error_code ec;
    for (const auto &e : std::filesystem::directory_iterator(dir, ec)) {
        const std::string name = e.path().filename().string();
        if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
            return true;
    }
    return false;
}

size_t entries(const std::string &dir) {
    std::error_code ec;
    size_t n = 0;
    for (auto it = std::filesystem::directory_iterator(dir, ec); !ec && it != std::filesystem::directory_iterator();
         it.increment(ec))
        ++n;
    return n;
}

}  // namespace

TEST_CASE("hosts on ceph-fuse: a store made on host A is refused on B until B trusts it, then reads the same",
          "[cluster][hosts]") {
    announce_seed();
    CephCluster &cluster = CephCluster::shared();
    const std::string backing = cluster.fresh_dir("hosts") + "/backing";
    TempDir keys;
    const LocalVault vault(keys / "vault");
    Host a("host-a", cluster.client(1));
    Host b("host-b", cluster.client(2));

    auto init = a.init(backing, vault);
    INFO(init.out << init.err);
    REQUIRE(init.exit_code == 0);
    // The binding went to A's registry only.
    CHECK(entries(a.volumes_dir()) == 1);
    CHECK(entries(b.volumes_dir()) == 0);

    auto gen = rng(1);
    std::string big(1 << 20, '\0');
    for (auto &c : big) c = static_cast<char>(gen());
    a.mount(backing);
    // A's daemon took its control socket in A's run dir.
    CHECK(has_entry_ending(a.run_dir(), ".sock"));
    CHECK_FALSE(has_entry_ending(b.run_dir(), ".sock"));
    write_file(a.path("big.bin"), big);
    write_file(a.path("note.txt"), "written on host A");
    a.unmount();

    // B sees the same backing files through its own client...
    CHECK(std::filesystem::exists(b.view(backing)));
    // ... but has no binding for the store: its mount is refused.
    CHECK_THROWS(b.mount(backing));
    CHECK_FALSE(b.mounted());

    auto trust = b.trust(backing, vault);
    INFO(trust.out << trust.err);
    REQUIRE(trust.exit_code == 0);
    b.mount(backing);
    CHECK(has_entry_ending(b.run_dir(), ".sock"));
    CHECK(read_file(b.path("big.bin")) == big);
    CHECK(read_file(b.path("note.txt")) == "written on host A");
    write_file(b.path("reply.txt"), "written on host B");
    b.unmount();

    a.mount(backing);
    CHECK(read_file(a.path("reply.txt")) == "written on host B");
    a.unmount();
}
