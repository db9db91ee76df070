// The local vault through the real plugin (libcmkfs-provider-local.so), with
// management done through cmkfs_localvault as the CLI does it.
#include <catch2/catch.hpp>
#include <cmkfs/localvault.h>
#include <atomic>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "crypto/encoding.h"
#include "keys/key_provider.h"
#include "unit/keys/keys_test_util.h"
#include "support/test_seed.h"
#include "support/provider_calls.h"
#include "support/random_bytes.h"

using namespace cmkfs;
using cmkfs::test::random_bytes;
using namespace cmkfs::keys;
namespace lv = cmkfs::localvault;
using cmkfs::test::TempDir;
using cmkfs::test::failure;
using cmkfs::test::same;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

const std::string kIdentity = "registry-id";

std::string standard_base64(std::span<const uint8_t> data) {
    std::string s = crypto::base64url_encode(data);
    for (char &c : s) c = c == '-' ? '+' : c == '_' ? '/' : c;
    return s;
}

struct Fixture {
    TempDir tmp;
    std::string dir = tmp / "vault";
    lv::Vault vault;
    std::unique_ptr<KeyProvider> provider;

    explicit Fixture(bool purge_protection = false, std::vector<std::string> options = {})
        : vault(lv::Vault::create(dir, {7, purge_protection, {}})),
          provider(load_provider(test::local_plugin(), options)) {
        vault.set_policy(kIdentity, {"get", "wrapKey", "unwrapKey"});
    }
    KeyRef ref(const std::string &kid, const std::string &identity = kIdentity) const {
        return KeyRef{kid, identity};
    }
};

}  // namespace

TEST_CASE("vault layout: directory 0700, files 0600, kid format", "[keys][vault]") {
    Fixture f;
    auto v = f.vault.create_key("k1", lv::KeyType::oct, 0);
    CHECK(test::mode_of(f.dir) == 0700);
    CHECK(test::mode_of(f.dir + "/vault.json") == 0600);
    CHECK(test::mode_of(f.dir + "/policies.json") == 0600);
    CHECK(test::mode_of(f.dir + "/keys/k1") == 0700);
    CHECK(test::mode_of(f.dir + "/keys/k1/key.json") == 0600);
    CHECK(test::mode_of(f.dir + "/keys/k1/" + v.version + ".key") == 0600);
    CHECK(test::mode_of(f.dir + "/audit.log") == 0600);
    CHECK(v.version.size() == 32);
    CHECK(v.version.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(v.kid == "local://" + f.vault.dir() + "/keys/k1/" + v.version);
    auto id = lv::parse_kid(v.kid);
    CHECK(id.vault_dir == f.vault.dir());
    CHECK(id.name == "k1");
    CHECK(id.version == v.version);
    // A vault path that itself contains /keys/ parses by the last one.
    auto odd = lv::parse_kid("local:///srv/keys/vault/keys/name");
    CHECK(odd.vault_dir == "/srv/keys/vault");
    CHECK(odd.name == "name");
    CHECK(odd.version.empty());
    CHECK_THROWS_AS(lv::Vault::create(f.dir, {}), lv::VaultError);  // already a vault
    CHECK_THROWS_AS(lv::Vault::create(f.tmp / "v2", {0, false, {}}), lv::VaultError);
}

TEST_CASE("wrap/unwrap round trip 16..64 bytes, RSA and oct", "[keys][vault]") {
    Fixture f;
    auto rsa = f.vault.create_key("rsa", lv::KeyType::rsa, 2048);
    auto oct = f.vault.create_key("oct", lv::KeyType::oct, 0);
    CHECK(rsa.size == 2048);
    CHECK_FALSE(rsa.rsa_n.empty());
    CHECK(oct.size == 256);
    uint64_t stream = 10;
    for (const auto *k : {&rsa, &oct}) {
        for (size_t n : {16, 17, 24, 31, 32, 33, 48, 63, 64}) {
            INFO(k->name << " " << n);
            auto plain = random_bytes<std::vector<uint8_t>>(n, ++stream);
            auto w = f.provider->wrap(f.ref(k->kid), plain);
            CHECK(w.versioned_key_id == k->kid);
            CHECK_FALSE(same(w.wrapped, plain));
            if (k->kty == lv::KeyType::rsa) CHECK(w.wrapped.size() == 256);
            auto back = f.provider->unwrap(f.ref(w.versioned_key_id), w.wrapped);
            CHECK(same(back.span(), plain));
        }
    }
    // Sizes outside 16..64 are refused as invalid.
    auto e = failure([&] { f.provider->wrap(f.ref(oct.kid), random_bytes<std::vector<uint8_t>>(15, 1)); });
    CHECK(e.status() == ProviderStatus::invalid);
    e = failure([&] { f.provider->wrap(f.ref(oct.kid), random_bytes<std::vector<uint8_t>>(65, 1)); });
    CHECK(e.status() == ProviderStatus::invalid);
    // Ciphertext from one key does not unwrap under another.
    auto w = f.provider->wrap(f.ref(oct.kid), random_bytes<std::vector<uint8_t>>(32, 99));
    auto oct2 = f.vault.create_key("oct2", lv::KeyType::oct, 0);
    e = failure([&] { f.provider->unwrap(f.ref(oct2.kid), w.wrapped); });
    CHECK(e.status() == ProviderStatus::invalid);
    auto tampered = w.wrapped;
    tampered[3] ^= 0x40;
    e = failure([&] { f.provider->unwrap(f.ref(oct.kid), tampered); });
    CHECK(e.status() == ProviderStatus::invalid);
}

TEST_CASE("wrong key ids", "[keys][vault]") {
    Fixture f;
    auto k = f.vault.create_key("k", lv::KeyType::oct, 0);
    auto plain = random_bytes<std::vector<uint8_t>>(32, 5);
    auto w = f.provider->wrap(f.ref(k.kid), plain);

    auto e = failure([&] { f.provider->unwrap(f.ref("local://relative/keys/k"), w.wrapped); });
    CHECK(e.status() == ProviderStatus::invalid);
    e = failure([&] { f.provider->unwrap(f.ref("https://vault.azure.net/keys/k"), w.wrapped); });
    CHECK(e.status() == ProviderStatus::invalid);
    e = failure([&] { f.provider->unwrap(f.ref(k.kid + "/extra"), w.wrapped); });
    CHECK(e.status() == ProviderStatus::invalid);
    e = failure([&] { f.provider->check(f.ref("local://" + f.vault.dir() + "/keys/bad_name!")); });
    CHECK(e.status() == ProviderStatus::invalid);

    e = failure([&] { f.provider->unwrap(f.ref(f.vault.key_id("nokey").str()), w.wrapped); });
    CHECK(e.status() == ProviderStatus::not_found);
    CHECK_THAT(e.what(), Contains("nokey"));
    e = failure([&] {
        f.provider->unwrap(f.ref(f.vault.key_id("k", std::string(32, '0')).str()), w.wrapped);
    });
    CHECK(e.status() == ProviderStatus::not_found);
    e = failure([&] { f.provider->check(f.ref("local://" + (f.tmp / "novault") + "/keys/k")); });
    CHECK(e.status() == ProviderStatus::not_found);
    CHECK(e.error_number() == EACCES);
}

TEST_CASE("denied identities: no policy, or a policy without the permission", "[keys][vault]") {
    Fixture f;
    auto k = f.vault.create_key("k", lv::KeyType::rsa, 2048);
    auto plain = random_bytes<std::vector<uint8_t>>(32, 6);
    auto w = f.provider->wrap(f.ref(k.kid), plain);

    auto e = failure([&] { f.provider->unwrap(f.ref(k.kid, "stranger"), w.wrapped); });
    CHECK(e.status() == ProviderStatus::denied);
    CHECK(e.error_number() == EACCES);
    CHECK_THAT(e.what(), Contains("denied: identity stranger"));
    CHECK_THAT(e.what(), Contains("provider local"));
    e = failure([&] { f.provider->unwrap(f.ref(k.kid, ""), w.wrapped); });
    CHECK(e.status() == ProviderStatus::denied);

    f.vault.set_policy("reader", {"get", "wrapKey"});
    e = failure([&] { f.provider->unwrap(f.ref(k.kid, "reader"), w.wrapped); });
    CHECK(e.status() == ProviderStatus::denied);
    CHECK_THAT(e.what(), Contains("denied: identity reader lacks unwrapKey on " + k.kid));
    CHECK_NOTHROW(f.provider->wrap(f.ref(k.kid, "reader"), plain));
    e = failure([&] { f.provider->check(f.ref(k.kid, "reader")); });
    CHECK(e.status() == ProviderStatus::denied);

    // get is required too.
    f.vault.set_policy("noget", {"wrapKey", "unwrapKey"});
    e = failure([&] { f.provider->unwrap(f.ref(k.kid, "noget"), w.wrapped); });
    CHECK_THAT(e.what(), Contains("lacks get"));

    // Revocation by the operator is seen by the next call; restoring unblocks.
    f.vault.delete_policy(kIdentity);
    e = failure([&] { f.provider->unwrap(f.ref(k.kid), w.wrapped); });
    CHECK(e.status() == ProviderStatus::denied);
    f.vault.set_policy(kIdentity, {"get", "unwrapKey", "wrapKey"});
    CHECK(same(f.provider->unwrap(f.ref(k.kid), w.wrapped).span(), plain));
    // set-policy replaces: dropping unwrapKey denies again.
    f.vault.set_policy(kIdentity, {"get", "wrapKey"});
    CHECK(failure([&] { f.provider->unwrap(f.ref(k.kid), w.wrapped); }).status() ==
          ProviderStatus::denied);
    CHECK(f.vault.list_policies().at(kIdentity) == std::vector<std::string>{"get", "wrapKey"});
    CHECK_THROWS_AS(f.vault.set_policy("x", {"fly"}), lv::VaultError);
}

TEST_CASE("disabled version", "[keys][vault]") {
    Fixture f;
    auto k = f.vault.create_key("k", lv::KeyType::oct, 0);
    auto plain = random_bytes<std::vector<uint8_t>>(40, 7);
    auto w = f.provider->wrap(f.ref(k.kid), plain);
    f.vault.set_enabled("k", k.version, false);
    auto e = failure([&] { f.provider->unwrap(f.ref(k.kid), w.wrapped); });
    CHECK(e.status() == ProviderStatus::disabled);
    CHECK(e.error_number() == EACCES);
    CHECK(failure([&] { f.provider->check(f.ref(k.kid)); }).status() == ProviderStatus::disabled);
    CHECK(failure([&] { f.provider->wrap(f.ref(k.kid), plain); }).status() ==
          ProviderStatus::disabled);
    auto versionless = f.vault.key_id("k").str();
    CHECK(failure([&] { f.provider->check(f.ref(versionless)); }).status() ==
          ProviderStatus::disabled);
    f.vault.set_enabled("k", "", true);
    CHECK(same(f.provider->unwrap(f.ref(k.kid), w.wrapped).span(), plain));
}

TEST_CASE("soft delete hides the key, recover restores it", "[keys][vault]") {
    Fixture f;
    auto k = f.vault.create_key("k", lv::KeyType::rsa, 2048);
    auto plain = random_bytes<std::vector<uint8_t>>(32, 8);
    auto w = f.provider->wrap(f.ref(k.kid), plain);
    auto info = f.vault.delete_key("k");
    REQUIRE(info.deleted);
    REQUIRE(info.scheduled_purge);
    CHECK(*info.scheduled_purge > *info.deleted);
    auto e = failure([&] { f.provider->unwrap(f.ref(k.kid), w.wrapped); });
    CHECK(e.status() == ProviderStatus::not_found);
    CHECK_THAT(e.what(), Contains("deleted"));
    CHECK(failure([&] { f.provider->check(f.ref(k.kid)); }).status() == ProviderStatus::not_found);
    CHECK(f.vault.list_keys(false).empty());
    CHECK(f.vault.list_keys(true).size() == 1);
    CHECK_THROWS_AS(f.vault.create_key("k", lv::KeyType::rsa, 2048), lv::VaultError);

    f.vault.recover_key("k");
    CHECK(same(f.provider->unwrap(f.ref(k.kid), w.wrapped).span(), plain));
    CHECK(f.provider->check(f.ref(k.kid)) == k.kid);
}

TEST_CASE("purge: refused under purge protection and for live keys", "[keys][vault]") {
    Fixture f(true);
    f.vault.create_key("k", lv::KeyType::oct, 0);
    try {
        f.vault.purge_key("k");
        FAIL("purged a live key");
    } catch (const lv::VaultError &e) {
        CHECK(e.code() == lv::Code::conflict);
        CHECK_THAT(e.what(), Contains("not deleted"));
    }
    f.vault.delete_key("k");
    try {
        f.vault.purge_key("k");
        FAIL("purged under purge protection");
    } catch (const lv::VaultError &e) {
        CHECK(e.code() == lv::Code::conflict);
        CHECK_THAT(e.what(), Contains("purge protection"));
    }
    CHECK(f.vault.key_info("k").recovery_level == "Recoverable");
    f.vault.recover_key("k");
    CHECK_FALSE(f.vault.key_info("k").deleted);

    // Without purge protection a deleted key can be purged, and is gone.
    Fixture g(false);
    auto k = g.vault.create_key("k", lv::KeyType::oct, 0);
    g.vault.delete_key("k");
    CHECK(g.vault.key_info("k").recovery_level == "Recoverable+Purgeable");
    g.vault.purge_key("k");
    CHECK(g.vault.list_keys(true).empty());
    CHECK(failure([&] { g.provider->check(g.ref(k.kid)); }).status() == ProviderStatus::not_found);
    CHECK_THROWS_AS(g.vault.recover_key("k"), lv::VaultError);
    CHECK_NOTHROW(g.vault.create_key("k", lv::KeyType::oct, 0));
}

TEST_CASE("version-less kid resolves to the latest version; new versions are picked up",
          "[keys][vault]") {
    Fixture f;
    auto v1 = f.vault.create_key("k", lv::KeyType::rsa, 2048);
    const std::string latest = f.vault.key_id("k").str();
    auto plain = random_bytes<std::vector<uint8_t>>(32, 9);
    auto w1 = f.provider->wrap(f.ref(latest), plain);
    CHECK(w1.versioned_key_id == v1.kid);
    CHECK(f.provider->check(f.ref(latest)) == v1.kid);

    auto v2 = f.vault.create_key("k", lv::KeyType::rsa, 2048);
    CHECK(v2.version != v1.version);
    CHECK(f.provider->check(f.ref(latest)) == v2.kid);
    auto w2 = f.provider->wrap(f.ref(latest), plain);
    CHECK(w2.versioned_key_id == v2.kid);
    // Each wrapped key opens with its versioned id; the version-less id tries the newest.
    CHECK(same(f.provider->unwrap(f.ref(v1.kid), w1.wrapped).span(), plain));
    CHECK(same(f.provider->unwrap(f.ref(v2.kid), w2.wrapped).span(), plain));
    CHECK(same(f.provider->unwrap(f.ref(latest), w2.wrapped).span(), plain));
    CHECK(failure([&] { f.provider->unwrap(f.ref(v2.kid), w1.wrapped); }).status() ==
          ProviderStatus::invalid);

    // Disabling the newest: wrap/check fall back to the newest enabled version.
    f.vault.set_enabled("k", v2.version, false);
    CHECK(f.provider->check(f.ref(latest)) == v1.kid);
    CHECK(f.provider->wrap(f.ref(latest), plain).versioned_key_id == v1.kid);
    CHECK(failure([&] { f.provider->unwrap(f.ref(latest), w2.wrapped); }).status() ==
          ProviderStatus::disabled);
    CHECK(same(f.provider->unwrap(f.ref(v1.kid), w1.wrapped).span(), plain));
    // A new version must keep the key's type.
    CHECK_THROWS_AS(f.vault.create_key("k", lv::KeyType::oct, 0), lv::VaultError);
    CHECK(f.vault.key_info("k").versions.size() == 2);
}

TEST_CASE("8 threads unwrap at once while the operator changes the vault", "[keys][vault]") {
    Fixture f;
    auto rsa = f.vault.create_key("rsa", lv::KeyType::rsa, 2048);
    auto oct = f.vault.create_key("oct", lv::KeyType::oct, 0);
    auto plain = random_bytes<std::vector<uint8_t>>(32, 11);
    auto wr = f.provider->wrap(f.ref(rsa.kid), plain);
    auto wo = f.provider->wrap(f.ref(oct.kid), plain);
    std::atomic<int> ok{0}, bad{0};
    std::atomic<bool> stop{false};
    std::thread churn([&] {
        // Unrelated mutations take the vault's exclusive lock repeatedly.
        for (int i = 0; !stop && i < 200; ++i) f.vault.set_policy("other-" + std::to_string(i % 3), {"get"});
    });
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 25; ++i) {
                try {
                    const bool use_rsa = (t + i) % 2 == 0;
                    auto back = f.provider->unwrap(f.ref(use_rsa ? rsa.kid : oct.kid),
                                                   use_rsa ? wr.wrapped : wo.wrapped);
                    (same(back.span(), plain) ? ok : bad)++;
                } catch (const std::exception &) {
                    bad++;
                }
            }
        });
    }
    for (auto &t : threads) t.join();
    stop = true;
    churn.join();
    CHECK(bad == 0);
    CHECK(ok == 200);
}

TEST_CASE("audit log: every operation, one JSON line each, no key material", "[keys][vault]") {
    Fixture f;
    auto oct = f.vault.create_key("oct", lv::KeyType::oct, 0);
    auto rsa = f.vault.create_key("rsa", lv::KeyType::rsa, 2048);
    auto plain = random_bytes<std::vector<uint8_t>>(32, 12);
    auto wo = f.provider->wrap(f.ref(oct.kid), plain);
    auto wr = f.provider->wrap(f.ref(rsa.kid), plain);
    (void)f.provider->unwrap(f.ref(oct.kid), wo.wrapped);
    (void)f.provider->unwrap(f.ref(rsa.kid), wr.wrapped);
    (void)f.provider->check(f.ref(rsa.kid));
    (void)failure([&] { f.provider->unwrap(f.ref(oct.kid, "mallory"), wo.wrapped); });
    f.vault.delete_key("oct");

    const std::string log = test::slurp(f.dir + "/audit.log");
    std::istringstream lines(log);
    std::string line;
    int count = 0, unwraps_ok = 0, denied = 0, operator_lines = 0;
    while (std::getline(lines, line)) {
        ++count;
        auto j = nlohmann::json::parse(line);  // throws on a torn or merged line
        REQUIRE(j.contains("time"));
        REQUIRE(j.contains("identity"));
        REQUIRE(j.contains("operation"));
        REQUIRE(j.contains("kid"));
        REQUIRE(j.contains("result"));
        CHECK_THAT(j["time"].get<std::string>(), Contains("T"));
        CHECK(j["time"].get<std::string>().back() == 'Z');
        if (j["operation"] == "unwrapKey" && j["result"] == "ok" && j["identity"] == kIdentity) ++unwraps_ok;
        if (j["result"] == "denied") {
            ++denied;
            CHECK(j["identity"] == "mallory");
            CHECK_THAT(j["message"].get<std::string>(), Contains("mallory"));
        }
        if (j["identity"] == "operator") ++operator_lines;
    }
    CHECK(count >= 10);
    CHECK(unwraps_ok == 2);
    CHECK(denied == 1);
    CHECK(operator_lines >= 4);  // vault.create, policy.set, 2x key.create, key.delete

    // Neither plaintext, wrapped keys nor key material appear in any encoding.
    std::vector<std::string> secrets;
    for (const auto *b : {&plain, &wo.wrapped, &wr.wrapped}) {
        secrets.push_back(crypto::base64url_encode(*b).substr(0, 20));
        secrets.push_back(standard_base64(*b).substr(0, 20));
        secrets.push_back(crypto::hex_encode(*b).substr(0, 20));
    }
    std::string material = test::slurp(f.dir + "/keys/oct/" + oct.version + ".key");
    secrets.push_back(material.substr(0, 20));
    for (const auto &s : secrets) {
        INFO(s);
        CHECK(log.find(s) == std::string::npos);
    }
}

TEST_CASE("provider options: vault= must match the kid, audit= moves the log", "[keys][vault]") {
    TempDir other;
    Fixture f;
    auto k = f.vault.create_key("k", lv::KeyType::oct, 0);
    auto pinned = load_provider(test::local_plugin(), {"vault=" + f.dir, "audit=" + (other / "a.log")});
    auto plain = random_bytes<std::vector<uint8_t>>(16, 13);
    auto w = pinned->wrap(f.ref(k.kid), plain);
    CHECK(same(pinned->unwrap(f.ref(k.kid), w.wrapped).span(), plain));
    CHECK_THAT(test::slurp(other / "a.log"), Contains("\"unwrapKey\""));

    auto v2 = lv::Vault::create(other / "v2", {});
    v2.set_policy(kIdentity, {"get", "wrapKey", "unwrapKey"});
    auto k2 = v2.create_key("k", lv::KeyType::oct, 0);
    auto e = failure([&] { pinned->check(f.ref(k2.kid)); });
    CHECK(e.status() == ProviderStatus::invalid);
    CHECK_THAT(e.what(), Contains("not in the configured vault"));

    // A vault= that is not a vault refuses to open.
    CHECK_THROWS_AS(load_provider(test::local_plugin(), {"vault=" + (other / "none")}), PluginLoadError);
    CHECK_THROWS_AS(load_provider(test::local_plugin(), {"vault=relative"}), PluginLoadError);
}

TEST_CASE("management API: list, show, attributes", "[keys][vault]") {
    Fixture f;
    auto a = f.vault.create_key("alpha", lv::KeyType::rsa, 2048);
    f.vault.create_key("beta", lv::KeyType::oct, 0);
    auto keys = f.vault.list_keys(false);
    REQUIRE(keys.size() == 2);
    CHECK(keys[0].name == "alpha");
    CHECK(keys[0].kid == f.vault.key_id("alpha").str());
    auto shown = f.vault.show_key("alpha");
    CHECK(shown.kid == a.kid);
    CHECK(shown.rsa_n == a.rsa_n);
    CHECK(shown.rsa_e == "AQAB");
    auto upd = f.vault.set_enabled("alpha", a.version, false);
    CHECK_FALSE(upd.enabled);
    CHECK(upd.updated >= upd.created);
    CHECK_THROWS_AS(f.vault.create_key("bad name", lv::KeyType::oct, 0), lv::VaultError);
    CHECK_THROWS_AS(f.vault.create_key("x", lv::KeyType::rsa, 1024), lv::VaultError);
    CHECK_THROWS_AS(f.vault.show_key("nope"), lv::VaultError);
    CHECK_THROWS_AS(lv::Vault::open(f.tmp / "nothing"), lv::VaultError);
}
