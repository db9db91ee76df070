// docker-credential-cmkfs with a real client: skopeo, told by a containers
// auth.json to ask the `cmkfs` credential helper (found in PATH) for the
// credentials of a docker-registry behind htpasswd basic auth. The helper's
// credentials live in a cmkfs store; revoking its customer-managed key must
// stop the client, restoring it must let it through again.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "support/oci_image.h"
#include "support/process.h"
#include "support/registry.h"
#include "support/scoped_env.h"

using namespace cmkfs::test;
namespace fs = std::filesystem;

TEST_CASE("skopeo pushes through docker-credential-cmkfs; revoking the CMK stops it, restoring lets it through") {
    MountedStore store(MountedStore::Options::unmounted());
    const std::string config = store.scratch() / "credentials.yaml";
    write_file(config, "volume:\n  backing: " + store.backing() + "\n");
    ScopedEnv credentials_config("CMKFS_CREDENTIALS_CONFIG", config);
    // skopeo runs `docker-credential-cmkfs` from PATH.
    ScopedEnv path("PATH", build_dir() + "/src/credhelper:" + std::getenv("PATH"));

    const std::string registry_root = store.scratch() / "registry";
    fs::create_directory(registry_root);
    Registry registry({registry_root, "registry-user", "Reg1stry-Pa55", ""});
    const std::string authfile = store.scratch() / "auth.json";
    write_file(authfile, R"({"credHelpers":{")" + registry.address() + R"(":"cmkfs"}})");

    fs::create_directory(store.scratch() / "layer");
    write_file(store.scratch() / "layer/hello.txt", "hello from a layer\n");
    const std::string layout = store.scratch() / "oci";
    write_oci_image(layout, "v1", {store.scratch() / "layer"});
    auto push = [&](const std::string &tag) {
        return run({"skopeo", "copy", "--authfile", authfile, "--dest-tls-verify=false", "oci:" + layout + ":v1",
                    "docker://" + registry.address() + "/cmk/app:" + tag});
    };
    auto helper = [&](const std::string &action, const std::string &input) {
        return run({"docker-credential-cmkfs", action}, input);
    };

    // No credentials stored: the helper says so, skopeo goes anonymous and the registry refuses.
    auto r = push("anonymous");
    CHECK(r.exit_code != 0);
    const bool refused = r.err.find("401") != std::string::npos || r.err.find("nauthorized") != std::string::npos;
    INFO(r.err);
    CHECK(refused);

    r = helper("store", R"({"ServerURL":")" + registry.address() +
                            R"(","Username":"registry-user","Secret":"Reg1stry-Pa55"})");
    REQUIRE(r.exit_code == 0);
    r = push("v1");
    INFO(r.err);
    CHECK(r.exit_code == 0);

    // Revoked: the helper refuses with the reason, and skopeo cannot authenticate.
    store.vault().delete_policy();
    r = helper("get", registry.address());
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("access to the customer-managed key") != std::string::npos);
    CHECK(r.out.find("is revoked") != std::string::npos);
    r = push("while-revoked");
    CHECK(r.exit_code != 0);
    CHECK(r.err.find("is revoked") != std::string::npos);

    // Restored: the same credentials work again.
    store.vault().set_policy({"get", "wrapKey", "unwrapKey"});
    r = push("v2");
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(registry.http_status("/v2/cmk/app/manifests/v2") == 401);  // still protected without credentials
}
