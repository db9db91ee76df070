// Docker's own data on a cmkfs mount (issue 15 §2): dockerd with --data-root
// on the mount pulls an image from a local docker-registry and runs it, with
// each storage driver that can stack on FUSE: vfs (plain copies) and
// fuse-overlayfs (overlay in user space; the kernel's overlayfs refuses a
// FUSE upper layer). Neither leaves layer plaintext or blob digests in the
// backing directory.
#include <catch2/catch.hpp>

#include <string>

#include "e2e/e2e_fixture.h"
#include "support/dockerd.h"
#include "support/registry.h"

using namespace cmkfs::test;
using namespace cmkfs::test::e2e;

TEST_CASE("dockerd with its data root on a cmkfs mount pulls and runs an image", "[e2e][docker]") {
    const std::string driver = GENERATE(as<std::string>{}, "vfs", "fuse-overlayfs");
    INFO("storage driver " << driver);
    MountedStore store;
    const TestImage image = build_test_image(store.scratch().path(), "v1", 30, 1 << 20);
    Registry registry({store.scratch() / "registry", "", "", ""});
    const std::string ref = registry.reference("e2e/busybox", "v1");
    auto push = skopeo_push(image.oci, ref);
    INFO(push.err);
    REQUIRE(push.exit_code == 0);
    {
        Dockerd dockerd(store.scratch() / "docker", {store.path("docker"), driver});
        CHECK(dockerd.docker_ok({"info", "--format", "{{.Driver}}"}) == driver + "\n");
        dockerd.docker_ok({"pull", ref});  // 127.0.0.0/8 registries may be plain HTTP
        CHECK(dockerd.docker_ok({"run", "--rm", "--network", "none", ref, "cat", "/hello.txt"}) == image.hello_text);
        const std::string sum =
            dockerd.docker_ok({"run", "--rm", "--network", "none", ref, "sha256sum", "/random.bin"});
        CHECK(sum.substr(0, 64) == image.random_sha256);
        // A container's writes land in the data root too.
        CHECK(dockerd.docker_ok({"run", "--rm", "--network", "none", ref, "sh", "-c",
                                 "echo written-in-a-container > /new.txt && cat /new.txt"}) ==
              "written-in-a-container\n");
        dockerd.stop();
    }
    registry.stop();
    CHECK(files_containing(store.backing(), image.plaintext_needles()).empty());
    CHECK(names_containing(store.backing(), digest_hexes(image.oci)).empty());
    store.unmount();
    auto fsck = cli({"fsck", store.backing()});
    INFO(fsck.out << fsck.err);
    CHECK(fsck.exit_code == 0);
}
