// containerd with its root on a cmkfs mount (issue 6 §2): pull an image from
// a registry that is itself on the mount, check it, run it with runc and read
// files from inside the container; neither the registry nor containerd leaves
// layer plaintext or blob digests in the backing directory.
#include <catch2/catch.hpp>

#include <string>

#include "e2e/containerd_daemon.h"
#include "e2e/e2e_fixture.h"
#include "support/registry.h"
#include "support/test_seed.h"

using namespace cmkfs::test;
using namespace cmkfs::test::e2e;

TEST_CASE("containerd with its root on a cmkfs mount pulls, checks and runs an image", "[e2e][containerd]") {
    announce_seed();
    MountedStore store;
    const TestImage image = build_test_image(store.scratch().path(), "v1", 20);
    Registry registry({store.path("registry"), "", "", ""});
    const std::string ref = registry.reference("e2e/busybox", "v1");
    auto push = skopeo_push(image.oci, ref);
    INFO(push.err);
    REQUIRE(push.exit_code == 0);

    {
        Containerd containerd(store.path("containerd"), store.scratch() / "containerd");
        auto pull = containerd.ctr({"images", "pull", "--plain-http", "--snapshotter", "native", ref});
        INFO(pull.out << pull.err << containerd.log());
        REQUIRE(pull.exit_code == 0);

        auto check = containerd.ctr({"images", "check", "--snapshotter", "native"});
        INFO(check.out << check.err);
        REQUIRE(check.exit_code == 0);
        CHECK(check.out.find(ref) != std::string::npos);
        CHECK(check.out.find("complete (4/4)") != std::string::npos);  // the config and the 3 layers
        CHECK(check.out.find(image.oci.manifest_digest) != std::string::npos);

        auto cat = containerd.ctr({"run", "--rm", "--snapshotter", "native", ref, "e2e-cat", "/bin/cat", "/hello.txt"});
        INFO(cat.err << containerd.log());
        REQUIRE(cat.exit_code == 0);
        CHECK(cat.out == image.hello_text);

        auto sum = containerd.ctr(
            {"run", "--rm", "--snapshotter", "native", ref, "e2e-sum", "/bin/sha256sum", "/random.bin"});
        INFO(sum.err);
        REQUIRE(sum.exit_code == 0);
        CHECK(sum.out.substr(0, 64) == image.random_sha256);
        containerd.stop();
    }
    registry.stop();

    // containerd keeps blobs by digest and unpacked layers as plain trees:
    // none of it may show in the backing directory.
    CHECK(files_containing(store.backing(), image.plaintext_needles()).empty());
    CHECK(names_containing(store.backing(), digest_hexes(image.oci)).empty());
    store.unmount();
    auto fsck = cmkfs::test::cmkfs({"fsck", store.backing()});
    INFO(fsck.out << fsck.err);
    CHECK(fsck.exit_code == 0);
}
