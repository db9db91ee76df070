// Registry replicas on a real CephFS (issue 13 §3): one docker-registry per
// host, each on its host's own cmkfs mount of ONE shared store (ceph-fuse
// clients 1 and 2), one shared http.secret, behind nginx in plain round robin
// (no affinity). Concurrent pushes through the balancer, pulls through each
// replica byte-identical; then the key's life with the replicas running:
// revocation reaches both within the check interval, a restore brings both
// back without a restart, an online rotation on A leaves B serving and shows
// on B within an interval, and both hosts remount with the new key.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "../integration/shared_hosts.h"
#include "e2e/e2e_fixture.h"
#include "support/mount_io.h"
#include "support/nginx_lb.h"
#include "support/registry.h"
#include "support/test_seed.h"

using namespace cmkfs::test;
using namespace cmkfs::test::e2e;
using nlohmann::json;

namespace {

constexpr const char *kInterval = "check_interval=1s";

// Two hosts of one shared store (mounted with a 1 s key check), a registry
// on each host's mount and the balancer in front of both.
struct Replicas {
    Replicas() {
        hosts.a.mount(hosts.backing, {"-o", kInterval});
        hosts.b.mount(hosts.backing_b, {"-o", kInterval});
        std::filesystem::create_directory(hosts.a.path("registry"));
        start();
    }
    ~Replicas() { stop(); }
    Replicas(const Replicas &) = delete;
    Replicas &operator=(const Replicas &) = delete;

    void start() {
        a.emplace(RegistryOptions{hosts.a.path("registry"), "", "", secret});
        b.emplace(RegistryOptions{hosts.b.path("registry"), "", "", secret});
        lb.emplace(std::vector<uint16_t>{a->port(), b->port()});
    }
    void stop() {
        lb.reset();
        a.reset();
        b.reset();
    }
    std::string logs() const {
        return "\nreplica A: " + (a ? a->log() : "") + "\nreplica B: " + (b ? b->log() : "") +
               "\nnginx: " + (lb ? lb->error_log() : "") + "\ncmkfs A: " + hosts.a.log() +
               "\ncmkfs B: " + hosts.b.log();
    }

    SharedStoreHosts hosts{/*shared_storage=*/true};
    std::string secret = "cmkfs-cluster-" + std::to_string(seed());
    std::optional<Registry> a, b;
    std::optional<LoadBalancer> lb;
};

// Pulls `ref` into a new layout and returns what differs from the original ("" = identical).
std::string pull_and_compare(const TestImage &image, const std::string &ref, const std::string &layout) {
    auto pull = skopeo_pull(ref, layout, image.oci.tag);
    if (pull.exit_code != 0) return "pull of " + ref + " failed: " + pull.err;
    return image_differences(image.oci, read_oci_image(layout, image.oci.tag));
}

std::string blob_path(const std::string &repo, const std::string &digest) { return "/v2/" + repo + "/blobs/" + digest; }

}  // namespace

TEST_CASE("cluster: registry replicas on two hosts' mounts of one store behind round-robin nginx: four concurrent "
          "pushes, every image byte-identical through each replica",
          "[cluster][registry]") {
    announce_seed();
    Replicas r;
    TempDir work;
    constexpr int kImages = 4;
    // Three layers each (busybox, shared by all four, so the same blob is
    // pushed concurrently, maybe through both replicas; a text layer; a
    // random layer of its own).
    std::vector<TestImage> images;
    images.reserve(kImages);
    for (int i = 0; i < kImages; ++i)
        images.push_back(build_test_image(work.path(), "v" + std::to_string(i), 100 + static_cast<uint64_t>(i),
                                          static_cast<size_t>(1) << 20));
    auto repo = [](int i) { return "cluster/app" + std::to_string(i); };
    std::vector<CommandResult> pushes(kImages);
    {
        std::vector<std::thread> threads;
        threads.reserve(kImages);
        for (int i = 0; i < kImages; ++i)
            threads.emplace_back([&, i] {
                pushes[static_cast<size_t>(i)] =
                    skopeo_push(images[static_cast<size_t>(i)].oci,
                                r.lb->address() + "/" + repo(i) + ":" + images[static_cast<size_t>(i)].oci.tag);
            });
        for (auto &t : threads) t.join();
    }
    INFO(r.logs());
    for (int i = 0; i < kImages; ++i) {
        INFO("push " << i << ": " << pushes[static_cast<size_t>(i)].err);
        CHECK(pushes[static_cast<size_t>(i)].exit_code == 0);
    }
    // The balancer spread the pushes over both replicas.
    CHECK(r.lb->requests_served_by(r.a->port()) > 0);
    CHECK(r.lb->requests_served_by(r.b->port()) > 0);
    for (int i = 0; i < kImages; ++i) {
        const TestImage &image = images[static_cast<size_t>(i)];
        INFO("image " << i);
        CHECK(pull_and_compare(image, r.a->reference(repo(i), image.oci.tag), work / ("a" + std::to_string(i))) == "");
        CHECK(pull_and_compare(image, r.b->reference(repo(i), image.oci.tag), work / ("b" + std::to_string(i))) == "");
    }
}

TEST_CASE("cluster: registry replicas and the key: a revocation fails both within the interval, a restore brings "
          "both back, an online rotation on A leaves B serving, both remount with the new key",
          "[cluster][registry][revocation][rotation]") {
    announce_seed();
    Replicas r;
    TempDir work;
    const TestImage image = build_test_image(work.path(), "k1", 7, static_cast<size_t>(64) << 10);
    const std::string repo = "cluster/keyed";
    auto push = skopeo_push(image.oci, r.lb->address() + "/" + repo + ":" + image.oci.tag);
    INFO(push.err << r.logs());
    REQUIRE(push.exit_code == 0);
    const std::string layer = blob_path(repo, image.oci.layer_digests.back());
    REQUIRE(r.a->http_status(layer) == 200);
    REQUIRE(r.b->http_status(layer) == 200);

    // Revoked: both replicas answer 5xx within a check interval or two.
    r.hosts.vault.set_enabled(false);
    int status_a = 0, status_b = 0;
    const double failed_after = wait_for(
        [&] {
            status_a = r.a->http_status(layer);
            status_b = r.b->http_status(layer);
            return status_a >= 500 && status_b >= 500;
        },
        10);
    INFO("after revocation: A " << status_a << ", B " << status_b);
    CHECK(failed_after >= 0);
    CHECK(skopeo_pull(r.a->reference(repo, image.oci.tag), work / "revoked-a", image.oci.tag).exit_code != 0);
    CHECK(skopeo_pull(r.b->reference(repo, image.oci.tag), work / "revoked-b", image.oci.tag).exit_code != 0);

    // Restored: both serve again, same processes.
    r.hosts.vault.set_enabled(true);
    const double back_after = wait_for(
        [&] {
            status_a = r.a->http_status(layer);
            status_b = r.b->http_status(layer);
            return status_a == 200 && status_b == 200;
        },
        15);
    INFO("after restore: A " << status_a << ", B " << status_b);
    CHECK(back_after >= 0);
    CHECK(r.a->running());
    CHECK(r.b->running());
    CHECK(pull_and_compare(image, r.a->reference(repo, image.oci.tag), work / "restored-a") == "");
    CHECK(pull_and_compare(image, r.b->reference(repo, image.oci.tag), work / "restored-b") == "");

    // Online rotation on A: B keeps serving all along and its daemon shows
    // the new key within an interval or two.
    const std::string new_kid = r.hosts.vault.create_key("k2");
    auto rot = r.hosts.a.cli({"encryption", "rotate-key", r.hosts.a.mountpoint(), "--key-encryption-key", new_kid});
    INFO(rot.out << rot.err);
    REQUIRE(rot.exit_code == 0);
    int b_not_ok = 0;
    std::string shown;
    const double picked_up = wait_for(
        [&] {
            if (r.b->http_status(layer) != 200) ++b_not_ok;
            auto show = r.hosts.b.cli({"encryption", "show", r.hosts.b.mountpoint()});
            if (show.exit_code != 0) return false;
            shown = json::parse(show.out).at("keyVaultProperties").at("versionedKeyIdentifier");
            return shown == new_kid;
        },
        5);
    INFO("B shows " << shown << ", picked up after " << picked_up << " s");
    CHECK(picked_up >= 0);
    CHECK(b_not_ok == 0);
    std::fprintf(stderr, "replicas: both failed %.2f s after the revocation, both served %.2f s after the restore, "
                 "B showed the rotated key after %.2f s\n", failed_after, back_after, picked_up);
    CHECK(pull_and_compare(image, r.b->reference(repo, image.oci.tag), work / "rotated-b") == "");

    // Both hosts unmount and remount: the header and both bindings name k2.
    r.stop();
    r.hosts.a.unmount();
    r.hosts.b.unmount();
    r.hosts.a.mount(r.hosts.backing, {"-o", kInterval});
    r.hosts.b.mount(r.hosts.backing_b, {"-o", kInterval});
    for (const Host *h : {&r.hosts.a, &r.hosts.b}) {
        auto show = h->cli({"encryption", "show", h->mountpoint()});
        INFO(h->name() << ": " << show.out << show.err);
        REQUIRE(show.exit_code == 0);
        CHECK(json::parse(show.out).at("keyVaultProperties").at("versionedKeyIdentifier") == new_kid);
    }
    r.start();
    CHECK(pull_and_compare(image, r.a->reference(repo, image.oci.tag), work / "remounted-a") == "");
    CHECK(pull_and_compare(image, r.b->reference(repo, image.oci.tag), work / "remounted-b") == "");
}
