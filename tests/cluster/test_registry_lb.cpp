// Registry replicas behind a load balancer (issue 13 §3, the part that needs
// no cluster yet): two docker-registry processes on one storage directory,
// sharing one http.secret, behind Debian's nginx in plain round robin. A push
// through the balancer succeeds although its requests alternate between the
// replicas, and the image pulls back byte-identical through the balancer and
// through each replica directly.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "e2e/e2e_fixture.h"
#include "support/nginx_lb.h"
#include "support/registry.h"
#include "support/test_seed.h"

using namespace cmkfs::test;
using namespace cmkfs::test::e2e;

namespace {

// Pulls `ref` into a new layout under `dir` and returns what differs from the original ("" = identical).
std::string pull_and_compare(const TestImage &image, const std::string &ref, const std::string &layout) {
    auto pull = skopeo_pull(ref, layout, image.oci.tag);
    if (pull.exit_code != 0) return "pull of " + ref + " failed: " + pull.err;
    return image_differences(image.oci, read_oci_image(layout, image.oci.tag));
}

}  // namespace

TEST_CASE("two registry replicas with one http.secret behind round-robin nginx: push and pull are byte-identical",
          "[lb][registry]") {
    announce_seed();
    TempDir dir;
    const std::string storage = dir / "storage";
    std::filesystem::create_directory(storage);
    const std::string secret = "cmkfs-test-" + std::to_string(seed());
    RegistryOptions options;
    options.root = storage;
    options.http_secret = secret;
    Registry a(options);
    Registry b(options);
    LoadBalancer lb({a.port(), b.port()});
    // Several layers and a 4 MiB one: a push is dozens of requests.
    const TestImage image = build_test_image(dir.path(), "v1", 1);

    const std::string repo = "lb/app";
    auto push = skopeo_push(image.oci, lb.address() + "/" + repo + ":" + image.oci.tag);
    INFO("push: " << push.err << "\nreplica a: " << a.log() << "\nreplica b: " << b.log() << "\nnginx: "
                  << lb.error_log() << lb.access_log());
    REQUIRE(push.exit_code == 0);
    // The balancer really spread the push over both replicas.
    CHECK(lb.requests_served_by(a.port()) > 0);
    CHECK(lb.requests_served_by(b.port()) > 0);

    CHECK(pull_and_compare(image, lb.address() + "/" + repo + ":" + image.oci.tag, dir / "via-lb") == "");
    CHECK(pull_and_compare(image, a.reference(repo, image.oci.tag), dir / "via-a") == "");
    CHECK(pull_and_compare(image, b.reference(repo, image.oci.tag), dir / "via-b") == "");
}
