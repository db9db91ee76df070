// Key rotation on real stores and mounts (issue 5 §1–§3): `cmkfs encryption
// rotate-key` offline and online (a writer runs through the mount the whole
// time and sees no error), moving a store to another vault and identity,
// retiring the old key afterwards, automatic rotation of version-less key ids,
// and `cmkfs encryption show` in JSON and table form.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "integration/rotation_support.h"
#include "support/process.h"

using namespace cmkfs::test;
using namespace cmkfs::test::rotation;

namespace {

const std::vector<std::string> kFullPerms{"get", "wrapKey", "unwrapKey"};

std::string version_of(const std::string &kid) { return kid.substr(kid.rfind('/') + 1); }
std::string versionless(const std::string &kid) { return kid.substr(0, kid.rfind('/')); }

void vault_ok(const std::vector<std::string> &args) {
    auto r = cli(args);
    INFO("cmkfs " << args[0] << " " << args[1] << " " << args[2] << ": " << r.err << r.out);
    REQUIRE(r.exit_code == 0);
}

void disable_version(const LocalVault &v, const std::string &kid) {
    vault_ok({"vault", "key", "set-attributes", "--vault", v.dir, "--name", "k", "--version", version_of(kid),
              "--enabled", "false"});
}

void delete_and_purge(const LocalVault &v, const std::string &name) {
    vault_ok({"vault", "key", "delete", "--vault", v.dir, "--name", name});
    vault_ok({"vault", "key", "purge", "--vault", v.dir, "--name", name});
}

std::string new_version(LocalVault &v) { return v.create_key("k"); }

void write_files(const MountedStore &store, unsigned n) {
    for (unsigned i = 0; i < n; ++i) write_file(store.path("f" + std::to_string(i)), content_for(i));
}

void check_files(const MountedStore &store, unsigned n) {
    for (unsigned i = 0; i < n; ++i) CHECK(read_file(store.path("f" + std::to_string(i))) == content_for(i));
}

std::string state_of(const std::string &mountpoint) { return show(mountpoint).at("keyState").at("state"); }

}  // namespace

TEST_CASE("offline rotate-key moves a store to another vault and identity; the old key can then be purged",
          "[rotation]") {
    MountedStore::Options options;
    options.mount_args = {"-o", "check_interval=1s"};
    MountedStore store(options);
    write_files(store, 20);
    store.unmount();

    const std::string old_kid = store.vault().kid;
    LocalVault other(store.scratch() / "vault2", "other-id");
    const std::string audit = store.scratch() / "audit.log";
    const std::string config = audit_config(store.scratch(), audit);
    const std::string header_before = read_file(store.backing() + "/.cmkfs.volume");

    // An identity without access to the new key: refused, nothing written.
    auto denied = cli({"encryption", "rotate-key", store.backing(), "--key-encryption-key", other.kid,
                         "--config", config});
    INFO(denied.err);
    CHECK(denied.exit_code == 6);
    CHECK(denied.err.find("denied") != std::string::npos);
    CHECK(read_file(store.backing() + "/.cmkfs.volume") == header_before);
    auto aborted = events_named(audit, "rotation-aborted");
    REQUIRE(aborted.size() == 1);
    CHECK(aborted[0].at("inEffectKeyId") == old_kid);
    CHECK(aborted[0].at("headerChanged") == false);

    auto r = cli({"encryption", "rotate-key", store.backing(), "--key-encryption-key", other.kid, "--identity",
                    "other-id", "--config", config});
    INFO(r.err << r.out);
    REQUIRE(r.exit_code == 0);
    auto out = nlohmann::json::parse(r.out);
    CHECK(out.at("keyVaultProperties").at("keyIdentifier") == other.kid);
    CHECK(out.at("keyVaultProperties").at("versionedKeyIdentifier") == other.kid);
    CHECK(out.at("keyVaultProperties").at("identity") == "other-id");
    CHECK(out.at("keyVaultProperties").at("keyRotationEnabled") == false);
    CHECK(out.at("keyVaultProperties").at("lastKeyRotationTimestamp").is_string());

    auto header = header_of(store.backing());
    CHECK(header.at("versioned_key_id") == other.kid);
    CHECK(header.at("identity") == "other-id");
    CHECK(header.at("provider") == "local");
    CHECK(header.at("last_rotation") == out.at("keyVaultProperties").at("lastKeyRotationTimestamp"));
    CHECK(header.at("volume_id") == nlohmann::json::parse(header_before).at("volume_id"));
    CHECK(std::filesystem::exists(store.backing() + "/.cmkfs.volume"));

    auto committed = events_named(audit, "rotation-committed");
    REQUIRE(committed.size() == 1);
    CHECK(committed[0].at("fromKeyId") == old_kid);
    CHECK(committed[0].at("toVersionedKeyId") == other.kid);
    CHECK(committed[0].at("toIdentity") == "other-id");
    CHECK(events_named(audit, "rotation-started").size() == 2);
    // Never key bytes: neither wrapped key appears in the trail.
    const std::string trail = read_file(audit);
    CHECK(trail.find(header.at("wrapped_key").get<std::string>()) == std::string::npos);
    CHECK(trail.find(nlohmann::json::parse(header_before).at("wrapped_key").get<std::string>()) ==
          std::string::npos);

    // The old key is gone for good: the store does not care.
    store.vault().delete_policy();
    delete_and_purge(store.vault(), "k");
    CHECK(show(store.backing()).at("keyState").at("state") == "accessible");
    store.mount();
    check_files(store, 20);
    std::this_thread::sleep_for(3s);  // three check intervals
    CHECK(state_of(store.mountpoint()) == "unlocked");
    check_files(store, 20);
    store.unmount();  // fsck needs the store to itself (FORMAT.md §13.1)
    auto fsck = cli({"fsck", store.backing()});
    CHECK(fsck.exit_code == 0);
}

TEST_CASE("online rotate-key re-wraps with the daemon's key while a writer keeps going, no errors",
          "[rotation]") {
    TempDir cfgdir;
    const std::string audit = cfgdir / "audit.log";
    MountedStore::Options options;
    options.mount_args = {"-o", "check_interval=1s", "--config", audit_config(cfgdir, audit)};
    MountedStore store(options);
    const std::string v1 = store.vault().kid;
    LocalVault other(store.scratch() / "vault2", "other-id");

    Writer writer(store.mountpoint());
    REQUIRE(writer.wait_for_files(20, 60));

    // 1. A new version of the same key, named by the mountpoint.
    const std::string v2 = new_version(store.vault());
    auto r = cli({"encryption", "rotate-key", store.mountpoint(), "--key-encryption-key", v2});
    INFO(r.err << r.out);
    REQUIRE(r.exit_code == 0);
    CHECK(nlohmann::json::parse(r.out).at("keyVaultProperties").at("versionedKeyIdentifier") == v2);
    CHECK(header_of(store.backing()).at("versioned_key_id") == v2);
    REQUIRE(writer.wait_for_files(10, 60));

    // 2. Another vault and identity, named by the backing directory: still the daemon does it.
    r = cli({"encryption", "rotate-key", store.backing(), "--key-encryption-key", other.kid, "--identity",
               "other-id"});
    INFO(r.err << r.out);
    REQUIRE(r.exit_code == 0);
    CHECK(nlohmann::json::parse(r.out).at("mountpoint") == store.mountpoint());
    CHECK(header_of(store.backing()).at("identity") == "other-id");
    CHECK(header_of(store.backing()).at("versioned_key_id") == other.kid);
    REQUIRE(writer.wait_for_files(10, 60));

    // The old key and its versions are retired; the mount keeps its key.
    disable_version(store.vault(), v1);
    disable_version(store.vault(), v2);
    store.vault().delete_policy();
    delete_and_purge(store.vault(), "k");
    std::this_thread::sleep_for(3500ms);  // several check intervals
    REQUIRE(writer.wait_for_files(10, 60));
    auto status = show(store.mountpoint());
    CHECK(status.at("keyState").at("state") == "unlocked");
    CHECK(status.at("keyVaultProperties").at("identity") == "other-id");

    writer.stop();
    INFO("writer: " << writer.files() << " files, first error: " << writer.first_error());
    CHECK(writer.errors() == 0);
    CHECK(writer.files() >= 50);
    WARN("writer wrote and verified " << writer.files() << " files through two online rotations");

    auto committed = events_named(audit, "rotation-committed");
    REQUIRE(committed.size() == 2);
    CHECK(committed[0].at("fromKeyId") == v1);
    CHECK(committed[0].at("toVersionedKeyId") == v2);
    CHECK(committed[1].at("fromKeyId") == v2);
    CHECK(committed[1].at("toVersionedKeyId") == other.kid);
    CHECK(committed[1].at("mountpoint") == store.mountpoint());
    CHECK(events_named(audit, "lock").empty());

    // A fresh mount reads everything the writer wrote.
    const unsigned files = writer.files();
    store.unmount();
    store.mount();
    for (unsigned n = 0; n < files; n += 7) CHECK(read_file(store.mountpoint() + "/w" + std::to_string(n)) == content_for(n));
}

TEST_CASE("a version-less key id follows new key versions by itself; a versioned one never changes",
          "[rotation]") {
    TempDir cfgdir;
    const std::string audit = cfgdir / "audit.log";
    auto options = MountedStore::Options::unmounted();
    options.mount_args = {"-o", "check_interval=1s", "--config", audit_config(cfgdir, audit)};
    MountedStore store(options);
    const std::string v1 = store.vault().kid;
    const std::string latest = versionless(v1);

    // Switch the store to "latest" (offline), then mount it.
    auto r = cli({"encryption", "rotate-key", store.backing(), "--key-encryption-key", latest});
    INFO(r.err << r.out);
    REQUIRE(r.exit_code == 0);
    store.mount();
    write_files(store, 5);
    auto status = show(store.mountpoint());
    CHECK(status.at("keyVaultProperties").at("keyIdentifier") == latest);
    CHECK(status.at("keyVaultProperties").at("versionedKeyIdentifier") == v1);
    CHECK(status.at("keyVaultProperties").at("keyRotationEnabled") == true);
    const std::string first_rotation = status.at("keyVaultProperties").at("lastKeyRotationTimestamp");

    std::this_thread::sleep_for(1100ms);  // so the next timestamp (seconds) differs
    const std::string v2 = new_version(store.vault());
    REQUIRE(eventually([&] { return header_of(store.backing()).at("versioned_key_id") == v2; }, 10));
    // The daemon shows the header it serves with, taken up just after the
    // new one is renamed into place: wait for it too.
    REQUIRE(eventually([&] {
        status = show(store.mountpoint());
        return status.at("keyVaultProperties").at("versionedKeyIdentifier") == v2;
    }, 10));
    CHECK(status.at("keyVaultProperties").at("keyIdentifier") == latest);
    CHECK(status.at("keyVaultProperties").at("lastKeyRotationTimestamp") != first_rotation);
    CHECK(status.at("keyState").contains("lastRotationCheck"));
    CHECK_FALSE(status.at("keyState").contains("rotationError"));
    // The header is renamed before the rotation ends (the binding is updated,
    // then the audit line written): wait for the line.
    REQUIRE(eventually([&] { return events_named(audit, "rotation-committed").size() == 1; }, 10));
    auto committed = events_named(audit, "rotation-committed");
    REQUIRE(committed.size() == 1);
    CHECK(committed[0].at("trigger").get<std::string>().find("automatic") == 0);
    CHECK(committed[0].at("fromKeyId") == v1);
    CHECK(committed[0].at("toVersionedKeyId") == v2);

    // The old version can go: the volume is wrapped under v2 now.
    disable_version(store.vault(), v1);
    std::this_thread::sleep_for(2500ms);
    CHECK(state_of(store.mountpoint()) == "unlocked");
    check_files(store, 5);

    // Pin the store to v2 (versioned): a newer version is then ignored.
    r = cli({"encryption", "rotate-key", store.mountpoint(), "--key-encryption-key", v2});
    REQUIRE(r.exit_code == 0);
    CHECK(nlohmann::json::parse(r.out).at("keyVaultProperties").at("keyRotationEnabled") == false);
    const std::string v3 = new_version(store.vault());
    std::this_thread::sleep_for(3500ms);  // more than three check intervals
    CHECK(header_of(store.backing()).at("versioned_key_id") == v2);
    CHECK(header_of(store.backing()).at("key_id") == v2);
    CHECK(state_of(store.mountpoint()) == "unlocked");
    CHECK(events_named(audit, "rotation-committed").size() == 2);  // auto + the pin, nothing since
    (void)v3;
}

TEST_CASE("encryption show: JSON fields and the table view, mounted and not", "[rotation][show]") {
    MountedStore::Options options;
    options.mount_args = {"-o", "check_interval=1s"};
    MountedStore store(options);
    const std::string kid = store.vault().kid;

    auto j = show(store.mountpoint());
    CHECK(j.at("status") == "enabled");
    const auto &kv = j.at("keyVaultProperties");
    CHECK(kv.at("keyIdentifier") == kid);
    CHECK(kv.at("versionedKeyIdentifier") == kid);
    CHECK(kv.at("identity") == store.vault().identity);
    CHECK(kv.at("keyRotationEnabled") == false);
    CHECK(kv.at("lastKeyRotationTimestamp").is_null());
    CHECK(j.at("provider") == "local");
    CHECK(j.at("mountpoint") == store.mountpoint());
    CHECK(j.at("keyState").at("state") == "unlocked");
    CHECK(j.at("keyState").contains("lastCheck"));
    CHECK(j.at("keyState").contains("nextCheck"));

    auto table = cli({"encryption", "show", store.mountpoint(), "--output", "table"});
    REQUIRE(table.exit_code == 0);
    INFO(table.out);
    CHECK(table.out.find("Status                    enabled\n") != std::string::npos);
    CHECK(table.out.find("Versioned key identifier  " + kid + "\n") != std::string::npos);
    CHECK(table.out.find("Key rotation enabled      no\n") != std::string::npos);
    CHECK(table.out.find("Last key rotation         never\n") != std::string::npos);
    CHECK(table.out.find("Key state                 unlocked\n") != std::string::npos);
    CHECK(table.out.find("Last check                20") != std::string::npos);
    CHECK(table.out.find('{') == std::string::npos);  // a table, not JSON

    // Locked: the reason shows in both views.
    store.vault().delete_policy();
    REQUIRE(eventually([&] { return state_of(store.mountpoint()) == "locked"; }, 10));
    table = cli({"encryption", "show", store.mountpoint(), "--output", "table"});
    CHECK(table.out.find("Key state                 locked\n") != std::string::npos);
    CHECK(table.out.find("Reason                    denied") != std::string::npos);
    // A locked mount has no volume key to re-wrap: refused with the revoked
    // key's exit code, header untouched.
    const std::string header_locked = read_file(store.backing() + "/.cmkfs.volume");
    auto refused = cli({"encryption", "rotate-key", store.mountpoint(), "--key-encryption-key", kid});
    CHECK(refused.exit_code == 6);
    CHECK(refused.err.find("locked") != std::string::npos);
    CHECK(read_file(store.backing() + "/.cmkfs.volume") == header_locked);
    store.vault().set_policy(kFullPerms);
    REQUIRE(eventually([&] { return state_of(store.mountpoint()) == "unlocked"; }, 10));

    // Not mounted: a check against the provider now.
    store.unmount();
    j = show(store.backing());
    CHECK(j.at("keyState").at("state") == "accessible");
    CHECK_FALSE(j.contains("mountpoint"));
}

TEST_CASE("rotate-key refuses bad input with one clear line and leaves the header alone", "[rotation]") {
    MountedStore store(MountedStore::Options::unmounted());
    const std::string before = read_file(store.backing() + "/.cmkfs.volume");

    struct Case {
        std::vector<std::string> args;
        int exit_code;
        std::string words;
    };
    const std::vector<Case> cases = {
        {{"--key-encryption-key", store.vault().kid, "--provider-option", "pin=123456"}, 2, "pin_file="},
        {{"--key-encryption-key", store.vault().kid, "--provider-option", "novalue"}, 2, "KEY=VALUE"},
        {{"--key-encryption-key", "local:///nonexistent/keys/k"}, 6, "nonexistent"},
        {{"--key-encryption-key", "not a key id"}, 1, "not a key id"},
        {{"--key-encryption-key", store.vault().kid, "--provider", "no-such-provider"}, 8, "no-such-provider"},
    };
    for (const auto &c : cases) {
        std::vector<std::string> args{"encryption", "rotate-key", store.backing()};
        args.insert(args.end(), c.args.begin(), c.args.end());
        auto r = cli(args);
        INFO(args[4] << " → exit " << r.exit_code << ": " << r.err);
        CHECK(r.exit_code == c.exit_code);
        CHECK(r.err.find(c.words) != std::string::npos);
        CHECK(r.err.find("123456") == std::string::npos);
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
        CHECK(read_file(store.backing() + "/.cmkfs.volume") == before);
    }
    auto missing = cli({"encryption", "rotate-key", store.scratch() / "nowhere", "--key-encryption-key", "x"});
    CHECK(missing.exit_code == 4);
}
