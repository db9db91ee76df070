// docker-credential-cmkfs, the real binary, on a real store with the local
// vault: the protocol end to end, the encrypted file it keeps in the store,
// and revocation and restore of the customer-managed key.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "support/mount_io.h"
#include "support/process.h"

using namespace cmkfs::test;
namespace fs = std::filesystem;

namespace {

std::string helper_binary() { return build_dir() + "/src/credhelper/docker-credential-cmkfs"; }

// A store (not mounted) and a config naming it, exported for the helper.
struct Fixture {
    MountedStore store{MountedStore::Options::unmounted()};
    std::string config = store.scratch() / "credentials.yaml";
    Fixture() {
        write_file(config, "volume:\n  backing: " + store.backing() + "\n");
        ::setenv("CMKFS_CREDENTIALS_CONFIG", config.c_str(), 1);
    }
    ~Fixture() { ::unsetenv("CMKFS_CREDENTIALS_CONFIG"); }
    CommandResult helper(const std::string &action, const std::string &input = "") {
        return run({helper_binary(), action}, input);
    }
    std::string credentials_file() const { return store.backing() + "/.cmkfs.credentials"; }
};

const std::string kStoreInput = R"({"ServerURL":"127.0.0.1:5000","Username":"registry-user","Secret":"pa55-w0rd-xyz"})";

}  // namespace

TEST_CASE("store, get, list, erase on a real store; the file in the store holds no plaintext") {
    Fixture f;
    auto r = f.helper("store", kStoreInput);
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.empty());

    r = f.helper("get", "127.0.0.1:5000\n");
    REQUIRE(r.exit_code == 0);
    CHECK(nlohmann::json::parse(r.out) ==
          nlohmann::json{{"ServerURL", "127.0.0.1:5000"}, {"Username", "registry-user"}, {"Secret", "pa55-w0rd-xyz"}});
    r = f.helper("list");
    REQUIRE(r.exit_code == 0);
    CHECK(nlohmann::json::parse(r.out) == nlohmann::json{{"127.0.0.1:5000", "registry-user"}});

    const std::string sealed = read_file(f.credentials_file());
    CHECK(fs::status(f.credentials_file()).permissions() == (fs::perms::owner_read | fs::perms::owner_write));
    CHECK(sealed.find("pa55-w0rd") == std::string::npos);
    CHECK(sealed.find("registry-user") == std::string::npos);
    CHECK(sealed.find("127.0.0.1") == std::string::npos);

    // The file belongs to the store: fsck accepts it, the mounted view does not show it.
    auto fsck = cmkfs::test::cmkfs({"fsck", f.store.backing()});
    CHECK(fsck.exit_code == 0);
    f.store.mount();
    CHECK(listing(f.store.mountpoint()).empty());
    f.store.unmount();

    CHECK(f.helper("erase", "127.0.0.1:5000").exit_code == 0);
    r = f.helper("get", "127.0.0.1:5000");
    CHECK(r.exit_code == 1);
    CHECK(r.out == "credentials not found in native keychain\n");
    r = f.helper("erase", "127.0.0.1:5000");
    CHECK(r.exit_code == 1);
    CHECK(r.out == "credentials not found in native keychain\n");
    CHECK(nlohmann::json::parse(f.helper("list").out) == nlohmann::json::object());
}

TEST_CASE("revoking the customer-managed key makes get fail clearly; restoring it brings the credentials back") {
    Fixture f;
    REQUIRE(f.helper("store", kStoreInput).exit_code == 0);

    f.store.vault().delete_policy();
    auto r = f.helper("get", "127.0.0.1:5000");
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("access to the customer-managed key " + f.store.vault().kid) != std::string::npos);
    CHECK(r.out.find("is revoked") != std::string::npos);
    CHECK(r.out.find("pa55") == std::string::npos);
    CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 1);
    CHECK(f.helper("store", kStoreInput).exit_code == 1);
    CHECK(f.helper("list").exit_code == 1);

    f.store.vault().set_policy({"get", "wrapKey", "unwrapKey"});
    r = f.helper("get", "127.0.0.1:5000");
    CHECK(r.exit_code == 0);
    CHECK(nlohmann::json::parse(r.out)["Secret"] == "pa55-w0rd-xyz");

    f.store.vault().set_enabled(false);
    r = f.helper("get", "127.0.0.1:5000");
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("is revoked") != std::string::npos);
    f.store.vault().set_enabled(true);
    CHECK(f.helper("get", "127.0.0.1:5000").exit_code == 0);
}

TEST_CASE("a tampered credentials file is refused, not misread") {
    Fixture f;
    REQUIRE(f.helper("store", kStoreInput).exit_code == 0);
    std::string sealed = read_file(f.credentials_file());
    sealed[sealed.size() / 2] ^= 0x01;
    write_file(f.credentials_file(), sealed);
    auto r = f.helper("get", "127.0.0.1:5000");
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("fails authentication") != std::string::npos);
}

TEST_CASE("a volume header asking for another provider is refused; its program never runs") {
    Fixture f;
    REQUIRE(f.helper("store", kStoreInput).exit_code == 0);
    const std::string header_path = f.store.backing() + "/.cmkfs.volume";
    const std::string marker = f.store.scratch() / "MARKER";
    auto header = nlohmann::json::parse(read_file(header_path));
    header["provider"] = "exec";
    header["provider_options"] = {{"program", "/bin/sh"}, {"arg1", "-c"}, {"arg2", "touch " + marker}};
    write_file(header_path, header.dump(2));
    auto r = f.helper("get", "127.0.0.1:5000");
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("provider: header says 'exec', binding says 'local'") != std::string::npos);
    CHECK(r.out.find("pa55-w0rd-xyz") == std::string::npos);
    CHECK_FALSE(fs::exists(marker));
}

TEST_CASE("configuration problems are one-line errors on stdout") {
    Fixture f;
    ::setenv("CMKFS_CREDENTIALS_CONFIG", (f.store.scratch() / "missing.yaml").c_str(), 1);
    auto r = f.helper("get", "127.0.0.1:5000");
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("missing.yaml") != std::string::npos);

    write_file(f.config, "logging:\n  level: info\n");
    ::setenv("CMKFS_CREDENTIALS_CONFIG", f.config.c_str(), 1);
    r = f.helper("get", "127.0.0.1:5000");
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("volume.backing is required") != std::string::npos);

    write_file(f.config, "volume:\n  backing: " + f.store.mountpoint() + "\n");  // an empty directory
    r = f.helper("list");
    CHECK(r.exit_code == 1);
    CHECK(r.out.find(f.store.mountpoint()) != std::string::npos);

    r = run({helper_binary()});
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("Usage: docker-credential-cmkfs") != std::string::npos);
}
