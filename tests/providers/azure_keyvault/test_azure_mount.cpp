// A real FUSE mount of a store whose volume key is wrapped by the (fake)
// Azure Key Vault: init with --provider azure-keyvault and provider options,
// mount without repeating them (they are in the volume header), read and
// write, then disable the key in the vault -> EACCES within the check
// interval, enable it -> readable again without a remount; a new key version
// is followed automatically and the old one can then be disabled.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "fake_keyvault.h"
#include "support/mount_daemon.h"
#include "support/mount_io.h"
#include "support/process.h"


using namespace cmkfs::test;
using namespace std::chrono_literals;

namespace {

const std::string kIdentity = "d3adb33f-0000-4000-8000-0000000000aa";

// `cmkfs mount -f BACKING MNT EXTRA...` as a child, unmounted and reaped on destruction.
MountDaemon mount_store(const std::string &backing, const std::string &mnt, const std::string &log,
                        const std::vector<std::string> &extra) {
    std::vector<std::string> args{"mount", "-f", backing, mnt};
    args.insert(args.end(), extra.begin(), extra.end());
    return MountDaemon(std::move(args), mnt, log);
}

}  // namespace

TEST_CASE("a store on Azure Key Vault: mount, read/write, disable -> EACCES, enable -> readable, no remount",
          "[azure][integration]") {
    FakeKeyVault vault;
    vault.add_identity(kIdentity);
    const std::string kid = vault.create_key("registry-kek");
    const std::string backing = vault.scratch() / "backing";
    const std::string mnt = vault.scratch() / "mnt";
    std::filesystem::create_directory(mnt);

    std::vector<std::string> init{"init", backing, "--provider", "azure-keyvault", "--key-encryption-key",
                                  vault.key_url("registry-kek"), "--identity", kIdentity};
    for (const auto &opt : vault.provider_options({"max_retries=1"})) {
        init.push_back("--provider-option");
        init.push_back(opt);
    }
    auto r = cmkfs::test::cmkfs(init);
    INFO("init: " << r.err << r.out);
    REQUIRE(r.exit_code == 0);
    auto shown = nlohmann::json::parse(r.out);
    INFO(shown.dump(2));
    CHECK(shown.dump().find(kid) != std::string::npos);  // the version-less id resolved to the versioned kid

    // The provider options live in the volume header: mount needs none of them.
    MountDaemon mount = mount_store(backing, mnt, vault.scratch() / "daemon.log", {"-o", "check_interval=1s,unavailable_grace=3s"});
    INFO("daemon log:\n" << mount.log());
    const std::string content(100000, 'x');
    write_file(mnt + "/blob", content);
    std::filesystem::create_directory(mnt + "/d");
    write_file(mnt + "/d/small", "hello azure");
    std::string got;
    REQUIRE(read_errno(mnt + "/blob", &got) == 0);
    CHECK(got == content);

    // The daemon unwrapped through the vault with the volume's identity.
    bool unwrapped = false;
    for (const auto &req : vault.requests("vault"))
        if (req["path"].get<std::string>().find("/unwrapkey") != std::string::npos && req["status"] == 200)
            unwrapped = true;
    CHECK(unwrapped);
    bool asked_as_identity = false;
    for (const auto &req : vault.requests("imds"))
        if (req["query"].value("client_id", "") == kIdentity) asked_as_identity = true;
    CHECK(asked_as_identity);

    vault.set_enabled("registry-kek", false);
    const double lock_s = wait_for([&] { return read_errno(mnt + "/d/small") == EACCES; }, 15);
    REQUIRE(lock_s >= 0);
    WARN("locked " << lock_s << " s after the key was disabled");
    CHECK(read_errno(mnt + "/blob") == EACCES);
    CHECK(::open((mnt + "/new").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644) < 0);
    CHECK(errno == EACCES);
    auto status = cmkfs::test::cmkfs({"encryption", "show", mnt});
    CHECK(status.out.find("disabled") != std::string::npos);

    vault.set_enabled("registry-kek", true);
    const double unlock_s = wait_for([&] { return read_errno(mnt + "/d/small") == 0; }, 15);
    REQUIRE(unlock_s >= 0);
    WARN("unlocked " << unlock_s << " s after the key was enabled");
    REQUIRE(read_errno(mnt + "/blob", &got) == 0);
    CHECK(got == content);
    REQUIRE(read_errno(mnt + "/d/small", &got) == 0);
    CHECK(got == "hello azure");

    // Automatic rotation (version-less key id): a new version in the vault is
    // picked up by the daemon, after which the old version can be disabled.
    const std::string v2 = vault.create_key("registry-kek");
    auto versioned = [&] {
        auto show = cmkfs::test::cmkfs({"encryption", "show", mnt});
        if (show.exit_code != 0) return std::string();
        return nlohmann::json::parse(show.out)["keyVaultProperties"].value("versionedKeyIdentifier", "");
    };
    const double rotate_s = wait_for([&] { return versioned() == v2; }, 15);
    REQUIRE(rotate_s >= 0);
    WARN("re-wrapped under the new version " << rotate_s << " s after it appeared");
    vault.set_enabled("registry-kek", false, kid.substr(kid.rfind('/') + 1));
    std::this_thread::sleep_for(2500ms);  // more than two check intervals
    REQUIRE(read_errno(mnt + "/d/small", &got) == 0);
    CHECK(got == "hello azure");

    // No access token reached the daemon's log.
    CHECK(mount.log().find("fake.") == std::string::npos);
    mount.stop();
    CHECK_FALSE(is_mounted(mnt));
}

TEST_CASE("provider options from the config override the volume header's at mount", "[azure][integration]") {
    FakeKeyVault vault;
    vault.add_identity(kIdentity);
    vault.create_key("k");
    const std::string backing = vault.scratch() / "backing";
    const std::string mnt = vault.scratch() / "mnt";
    std::filesystem::create_directory(mnt);
    std::vector<std::string> init{"init", backing, "--provider", "azure-keyvault", "--key-encryption-key",
                                  vault.key_url("k"), "--identity", kIdentity};
    for (const auto &opt : vault.provider_options({"max_retries=0"})) {
        init.push_back("--provider-option");
        init.push_back(opt);
    }
    auto r = cmkfs::test::cmkfs(init);
    INFO("init: " << r.err << r.out);
    REQUIRE(r.exit_code == 0);

    // A managed-identity endpoint that is not there: the mount fails, naming it.
    const std::string bad_cfg = vault.scratch() / "bad.yaml";
    write_file(bad_cfg, "provider:\n  options:\n    imds_endpoint: http://127.0.0.1:1/metadata/identity/oauth2/token\n");
    try {
        MountDaemon m = mount_store(backing, mnt, vault.scratch() / "bad.log", {"--config", bad_cfg});
        FAIL("mounted with an unreachable token endpoint");
    } catch (const std::runtime_error &e) {
        CHECK_THAT(e.what(), Catch::Matchers::Contains("127.0.0.1:1"));
    }
    CHECK_FALSE(is_mounted(mnt));

    // The CA moved: the config names the new file and the mount works.
    const std::string moved_ca = vault.scratch() / "moved-ca.pem";
    std::filesystem::copy_file(vault.ca_file(), moved_ca);
    const std::string good_cfg = vault.scratch() / "good.yaml";
    write_file(good_cfg, "provider:\n  options:\n    ca_file: " + moved_ca + "\n");
    std::filesystem::rename(vault.ca_file(), vault.scratch() / "old-ca.pem");
    MountDaemon m = mount_store(backing, mnt, vault.scratch() / "good.log", {"--config", good_cfg});
    write_file(mnt + "/f", "through the moved CA");
    std::string got;
    REQUIRE(read_errno(mnt + "/f", &got) == 0);
    CHECK(got == "through the moved CA");
}
