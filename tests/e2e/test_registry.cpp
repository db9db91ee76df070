// docker-registry and skopeo on a cmkfs mount (issue 6 §1): images pushed and
// pulled back byte for byte; no layer plaintext and no blob digest in the
// backing directory; a revoked key stops push and pull without changing a
// byte, a restored key brings them back with no registry restart and no
// remount; parallel pushes stay consistent and fsck-clean.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cerrno>
#include <future>
#include <string>
#include <vector>

#include "e2e/e2e_fixture.h"
#include "support/registry.h"
#include "support/test_seed.h"
#include "support/tree_snapshot.h"

using namespace cmkfs::test;
using namespace cmkfs::test::e2e;

namespace {

std::string joined(const std::vector<std::string> &lines) {
    std::string out;
    for (const auto &l : lines) out += l + "\n";
    return out;
}

// Pushes, pulls back into a fresh layout and returns what differs ("" = identical).
std::string round_trip(const TestImage &image, const Registry &registry, const std::string &repo,
                       const std::string &pulled_layout) {
    const std::string ref = registry.reference(repo, image.oci.tag);
    auto push = skopeo_push(image.oci, ref);
    if (push.exit_code != 0) return "push failed: " + push.err;
    auto pull = skopeo_pull(ref, pulled_layout, image.oci.tag);
    if (pull.exit_code != 0) return "pull failed: " + pull.err;
    return image_differences(image.oci, read_oci_image(pulled_layout, image.oci.tag));
}

int stat_errno(const std::string &path) {
    struct stat st{};
    return ::stat(path.c_str(), &st) == 0 ? 0 : errno;
}

}  // namespace

TEST_CASE("registry on a cmkfs mount: push and pull are byte-identical, backing shows no plaintext and no digest",
          "[e2e][registry]") {
    announce_seed();
    MountedStore store;
    const TestImage image = build_test_image(store.scratch().path(), "v1", 1);
    Registry registry({store.path("registry"), "", "", ""});

    const std::string diff = round_trip(image, registry, "e2e/app", store.scratch() / "pulled");
    INFO(diff << registry.log());
    REQUIRE(diff.empty());

    // The scanners find what they look for: the plain layout holds both needles.
    REQUIRE(files_containing(image.oci.layout, image.plaintext_needles()).size() >= 3);
    REQUIRE_FALSE(names_containing(image.oci.layout, digest_hexes(image.oci)).empty());
    // ... and the mount shows the registry's digest-named directories.
    REQUIRE_FALSE(names_containing(store.path("registry"), digest_hexes(image.oci)).empty());

    const auto leaks = files_containing(store.backing(), image.plaintext_needles());
    INFO(joined(leaks));
    CHECK(leaks.empty());
    const auto named = names_containing(store.backing(), digest_hexes(image.oci));
    INFO(joined(named));
    CHECK(named.empty());
}

TEST_CASE("registry on a --plaintext-names store: the digest check sees the names, contents stay encrypted",
          "[e2e][registry]") {
    announce_seed();
    MountedStore::Options options;
    options.plaintext_names = true;
    MountedStore store(options);
    const TestImage image = build_test_image(store.scratch().path(), "v1", 2);
    Registry registry({store.path("registry"), "", "", ""});

    const std::string diff = round_trip(image, registry, "e2e/plain", store.scratch() / "pulled");
    INFO(diff << registry.log());
    REQUIRE(diff.empty());
    CHECK_FALSE(names_containing(store.backing(), digest_hexes(image.oci)).empty());
    const auto leaks = files_containing(store.backing(), image.plaintext_needles());
    INFO(joined(leaks));
    CHECK(leaks.empty());
}

TEST_CASE("registry on a revoked key: push and pull fail, nothing changes; restored key: both work again",
          "[e2e][registry][revocation]") {
    announce_seed();
    MountedStore::Options options;
    options.mount_args = {"-o", "check_interval=1s"};
    MountedStore store(options);
    const TestImage first = build_test_image(store.scratch().path(), "v1", 3);
    const TestImage second = build_test_image(store.scratch().path(), "v2", 4);
    Registry registry({store.path("registry"), "", "", ""});
    const pid_t registry_pid = registry.pid();
    const pid_t daemon_pid = store.daemon_pid();

    REQUIRE(round_trip(first, registry, "e2e/app", store.scratch() / "pulled-before").empty());

    store.vault().delete_policy();
    REQUIRE(eventually([&] { return stat_errno(store.path("registry")) == EACCES; }, 10));
    const TreeSnapshot before = snapshot_tree(store.backing());

    auto push = skopeo_push(second.oci, registry.reference("e2e/app", "v2"));
    INFO("push while revoked: " << push.err);
    CHECK(push.exit_code != 0);
    auto pull = skopeo_pull(registry.reference("e2e/app", "v1"), store.scratch() / "pulled-revoked", "v1");
    INFO("pull while revoked: " << pull.err);
    CHECK(pull.exit_code != 0);
    // The registry itself answers, with a server error, not the image.
    CHECK(registry.http_status("/v2/e2e/app/manifests/v1") >= 500);

    const std::string changed = tree_differences(before, snapshot_tree(store.backing()));
    INFO(changed);
    CHECK(changed.empty());

    store.vault().set_policy({"get", "wrapKey", "unwrapKey"});
    REQUIRE(eventually([&] { return stat_errno(store.path("registry")) == 0; }, 10));
    CHECK(round_trip(second, registry, "e2e/app", store.scratch() / "pulled-after-v2") == "");
    const std::string ref_v1 = registry.reference("e2e/app", "v1");
    REQUIRE(skopeo_pull(ref_v1, store.scratch() / "pulled-after-v1", "v1").exit_code == 0);
    CHECK(image_differences(first.oci, read_oci_image(store.scratch() / "pulled-after-v1", "v1")) == "");
    // Same registry process, same mount daemon: nothing was restarted.
    CHECK(registry.running());
    CHECK(registry.pid() == registry_pid);
    CHECK(store.daemon_pid() == daemon_pid);
}

TEST_CASE("registry on a cmkfs mount: parallel pushes pull back identical, fsck is clean", "[e2e][registry]") {
    announce_seed();
    MountedStore store;
    constexpr int kImages = 4;
    std::vector<TestImage> images;
    for (int i = 0; i < kImages; ++i)
        images.push_back(build_test_image(store.scratch().path(), "p" + std::to_string(i), 10 + i, 2 << 20));
    Registry registry({store.path("registry"), "", "", ""});

    std::vector<std::future<CommandResult>> pushes;
    for (const auto &image : images)
        pushes.push_back(std::async(std::launch::async, [&registry, &image] {
            return skopeo_push(image.oci, registry.reference("e2e/parallel", image.oci.tag));
        }));
    for (auto &p : pushes) {
        auto r = p.get();
        INFO(r.err << registry.log());
        CHECK(r.exit_code == 0);
    }
    std::vector<std::future<std::string>> pulls;
    for (const auto &image : images)
        pulls.push_back(std::async(std::launch::async, [&registry, &image, &store] {
            const std::string layout = store.scratch() / ("pulled-" + image.oci.tag);
            auto r = skopeo_pull(registry.reference("e2e/parallel", image.oci.tag), layout, image.oci.tag);
            if (r.exit_code != 0) return "pull failed: " + r.err;
            return image_differences(image.oci, read_oci_image(layout, image.oci.tag));
        }));
    for (auto &p : pulls) CHECK(p.get() == "");

    registry.stop();
    store.unmount();
    auto fsck = cmkfs::test::cmkfs({"fsck", store.backing()});
    INFO(fsck.out << fsck.err);
    CHECK(fsck.exit_code == 0);
}

TEST_CASE("registry with htpasswd auth on a cmkfs mount: only the right credentials push and pull",
          "[e2e][registry][auth]") {
    announce_seed();
    MountedStore store;
    const TestImage image = build_test_image(store.scratch().path(), "v1", 30, 1 << 20);
    Registry registry({store.path("registry"), "e2e-user", "e2e-password", ""});
    CHECK(registry.http_status("/v2/") == 401);
    const std::string ref = registry.reference("e2e/private", "v1");

    auto anonymous = skopeo_push(image.oci, ref);
    CHECK(anonymous.exit_code != 0);
    auto wrong = run({"skopeo", "copy", "--preserve-digests", "--dest-tls-verify=false", "--dest-creds",
                      "e2e-user:not-the-password", "oci:" + image.oci.layout + ":v1", "docker://" + ref});
    CHECK(wrong.exit_code != 0);
    auto push = run({"skopeo", "copy", "--preserve-digests", "--dest-tls-verify=false", "--dest-creds",
                     "e2e-user:e2e-password", "oci:" + image.oci.layout + ":v1", "docker://" + ref});
    INFO(push.err << registry.log());
    REQUIRE(push.exit_code == 0);
    const std::string pulled = store.scratch() / "pulled";
    auto pull = run({"skopeo", "copy", "--preserve-digests", "--src-tls-verify=false", "--src-creds",
                     "e2e-user:e2e-password", "docker://" + ref, "oci:" + pulled + ":v1"});
    INFO(pull.err);
    REQUIRE(pull.exit_code == 0);
    CHECK(image_differences(image.oci, read_oci_image(pulled, "v1")) == "");
    CHECK(files_containing(store.backing(), image.plaintext_needles()).empty());
}
