// Moving a store between providers with `rotate-key` (issue 5 §1): a mounted
// store from the local vault to an AES key on a real SoftHSM2 token, online,
// with a writer running throughout; the local key is then purged and the next
// mount finds the token from the header alone; the token's key is what counts
// from then on (deleting it locks the mount). Then offline back to the local
// vault.
#include <catch2/catch.hpp>

#include <string>

#include <nlohmann/json.hpp>

#include "integration/rotation_support.h"
#include "support/process.h"
#include "support/softhsm.h"

using namespace cmkfs::test;
using namespace cmkfs::test::rotation;

TEST_CASE("rotate-key moves a mounted store from the local vault to a PKCS#11 token and back",
          "[rotation][pkcs11]") {
    SoftHsm hsm;  // first: the daemon inherits SOFTHSM2_CONF
    const std::string uri = hsm.create_aes_key("registry-kek");
    TempDir cfgdir;
    const std::string audit = cfgdir / "audit.log";
    MountedStore::Options options;
    options.mount_args = {"-o", "check_interval=1s", "--config", audit_config(cfgdir, audit)};
    MountedStore store(options);
    for (unsigned i = 0; i < 10; ++i) write_file(store.path("f" + std::to_string(i)), content_for(i));

    Writer writer(store.mountpoint());
    REQUIRE(writer.wait_for_files(10, 60));
    std::vector<std::string> args{"encryption", "rotate-key", store.mountpoint(), "--provider", "pkcs11",
                                  "--identity", "registry-id", "--key-encryption-key", uri};
    const auto hsm_args = hsm.init_args();
    args.insert(args.end(), hsm_args.begin(), hsm_args.end());
    auto r = cli(args);
    INFO(r.err << r.out << "\ndaemon log:\n" << store.daemon_log());
    REQUIRE(r.exit_code == 0);
    auto out = nlohmann::json::parse(r.out);
    CHECK(out.at("provider") == "pkcs11");
    CHECK(out.at("providerOptions").at("module") == SoftHsm::module_path());
    CHECK(out.at("providerOptions").at("pin_file") == hsm.pin_file());
    CHECK(out.at("keyVaultProperties").at("identity") == "registry-id");
    const std::string header_text = read_file(store.backing() + "/.cmkfs.volume");
    CHECK(header_text.find(hsm.user_pin()) == std::string::npos);
    CHECK(read_file(audit).find(hsm.user_pin()) == std::string::npos);
    CHECK(header_of(store.backing()).at("provider") == "pkcs11");
    REQUIRE(writer.wait_for_files(10, 60));

    // The local key is gone for good; the daemon checks the token's key now.
    store.vault().delete_policy();
    auto del = cli({"vault", "key", "delete", "--vault", store.vault().dir, "--name", "k"});
    REQUIRE(del.exit_code == 0);
    REQUIRE(cli({"vault", "key", "purge", "--vault", store.vault().dir, "--name", "k"}).exit_code == 0);
    std::this_thread::sleep_for(3s);
    REQUIRE(writer.wait_for_files(10, 60));
    CHECK(show(store.mountpoint()).at("keyState").at("state") == "unlocked");
    writer.stop();
    INFO("writer: " << writer.files() << " files, first error: " << writer.first_error());
    CHECK(writer.errors() == 0);

    // The next mount needs nothing but the header to find the token.
    store.unmount();
    store.mount();
    for (unsigned i = 0; i < 10; ++i) CHECK(read_file(store.path("f" + std::to_string(i))) == content_for(i));
    CHECK(store.daemon_log().find(hsm.user_pin()) == std::string::npos);

    // From now on the token's key is the one that counts.
    hsm.delete_key("registry-kek");
    CHECK(eventually([&] { return show(store.mountpoint()).at("keyState").at("state") == "locked"; }, 10));
    hsm.reimport_key("registry-kek");
    REQUIRE(eventually([&] { return show(store.mountpoint()).at("keyState").at("state") == "unlocked"; }, 10));
    store.unmount();

    // Offline, back to the local vault (a new key there); the token is then not needed.
    const std::string local_kid = store.vault().create_key("k3");
    store.vault().set_policy({"get", "wrapKey", "unwrapKey"});
    r = cli({"encryption", "rotate-key", store.backing(), "--provider", "local", "--identity", store.vault().identity,
             "--key-encryption-key", local_kid});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    auto header = header_of(store.backing());
    CHECK(header.at("provider") == "local");
    CHECK(header.at("provider_options").empty());
    CHECK(header.at("versioned_key_id") == local_kid);
    hsm.delete_key("registry-kek");
    store.mount();
    for (unsigned i = 0; i < 10; ++i) CHECK(read_file(store.path("f" + std::to_string(i))) == content_for(i));
}
