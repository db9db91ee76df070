// The azure-keyvault provider plugin, loaded through keys::load_provider and
// talking HTTPS to the fake vault (fake_keyvault.py): the exact requests it
// sends, version-less key ids, every error class, bounded retries, token
// caching, refresh and the 401 challenge, the client-secret credential, and
// eight threads unwrapping at once.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/encoding.h"
#include "fake_keyvault.h"
#include "keys/key_provider.h"
#include "support/test_seed.h"
#include "support/provider_calls.h"
#include "support/random_bytes.h"

using namespace cmkfs;
using cmkfs::test::random_bytes;
using namespace cmkfs::keys;
using cmkfs::test::FakeKeyVault;
using cmkfs::test::failure;
using cmkfs::test::same;
using Catch::Matchers::Contains;
using json = nlohmann::json;

namespace {

const std::string kIdentity = "5a1e2d3c-0000-4000-8000-00000000c0de";

std::string plugin_path() { return test::build_dir() + "/plugins/libcmkfs-provider-azure-keyvault.so"; }

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::vector<json> only(const std::vector<json> &requests, const std::string &path_suffix) {
    std::vector<json> out;
    for (const auto &r : requests) {
        const std::string path = r.at("path");
        if (path.size() >= path_suffix.size() && path.compare(path.size() - path_suffix.size(), std::string::npos, path_suffix) == 0)
            out.push_back(r);
    }
    return out;
}

// No access token the fake issued, and no key bytes, in a message.
void check_clean(const std::string &message, const FakeKeyVault &vault) {
    CHECK_THAT(message, !Contains("fake."));
    for (const auto &r : vault.requests("vault")) {
        if (r.at("body").is_object() && r["body"].contains("value"))
            CHECK_THAT(message, !Contains(r["body"]["value"].get<std::string>()));
    }
}

struct Fixture {
    FakeKeyVault vault;
    std::string kid;  // versioned id of key "k"
    Fixture() {
        vault.add_identity(kIdentity);
        kid = vault.create_key("k");
        vault.clear_requests();
    }
    std::unique_ptr<KeyProvider> provider(const std::vector<std::string> &extra = {}) const {
        return load_provider(plugin_path(), vault.provider_options(extra));
    }
    KeyRef ref(const std::string &key_id, const std::string &identity = kIdentity) const { return {key_id, identity}; }
};

}  // namespace

TEST_CASE("wrap and unwrap round trip with the exact requests of the REST contract", "[azure]") {
    Fixture f;
    auto p = f.provider();
    const auto plain = random_bytes<std::vector<uint8_t>>(32, 1);

    WrapResult w = p->wrap(f.ref(f.kid), plain);
    CHECK(w.versioned_key_id == f.kid);
    CHECK(w.wrapped.size() == 256);  // RSA-2048
    auto back = p->unwrap(f.ref(w.versioned_key_id), w.wrapped);
    CHECK(same({back.data(), back.size()}, plain));

    // One managed-identity token request, as the Azure docs spell it.
    auto imds = f.vault.requests("imds");
    REQUIRE(imds.size() == 1);
    CHECK(imds[0]["method"] == "GET");
    CHECK(imds[0]["path"] == "/metadata/identity/oauth2/token");
    CHECK(imds[0]["query"] == json({{"api-version", "2018-02-01"}, {"resource", "https://vault.azure.net"},
                                    {"client_id", kIdentity}}));
    CHECK(imds[0]["headers"]["metadata"] == "true");
    CHECK(imds[0]["status"] == 200);

    auto vault = f.vault.requests("vault");
    REQUIRE(vault.size() == 2);
    const std::string key_path = f.kid.substr(f.vault.vault_url().size());
    CHECK(vault[0]["method"] == "POST");
    CHECK(vault[0]["path"] == key_path + "/wrapkey");
    CHECK(vault[1]["path"] == key_path + "/unwrapkey");
    for (const auto &r : vault) {
        CHECK(r["query"] == json({{"api-version", "7.5"}}));
        CHECK(r["body"]["alg"] == "RSA-OAEP-256");
        CHECK(r["body"].size() == 2);
        CHECK_THAT(r["headers"]["content-type"].get<std::string>(), Contains("application/json"));
        CHECK_THAT(r["headers"]["authorization"].get<std::string>(), Catch::Matchers::StartsWith("Bearer fake."));
        CHECK(r["status"] == 200);
    }
    // The value fields are unpadded base64url of the plaintext and of the wrapped key.
    const std::string sent = vault[0]["body"]["value"];
    CHECK(sent.find_first_of("+/=") == std::string::npos);
    CHECK(crypto::base64url_decode(sent) == plain);
    CHECK(crypto::base64url_decode(vault[1]["body"]["value"].get<std::string>()) == w.wrapped);
}

TEST_CASE("a version-less key id resolves to the latest version", "[azure]") {
    Fixture f;
    const std::string v2 = f.vault.create_key("k");  // rotate: a second version
    REQUIRE(v2 != f.kid);
    f.vault.clear_requests();
    auto p = f.provider();
    const auto plain = random_bytes<std::vector<uint8_t>>(32, 2);

    WrapResult w = p->wrap(f.ref(f.vault.key_url("k")), plain);
    CHECK(w.versioned_key_id == v2);
    auto vault = f.vault.requests("vault");
    REQUIRE(vault.size() == 2);
    CHECK(vault[0]["method"] == "GET");
    CHECK(vault[0]["path"] == "/keys/k");
    CHECK(vault[0]["query"] == json({{"api-version", "7.5"}}));
    CHECK(vault[1]["path"] == v2.substr(f.vault.vault_url().size()) + "/wrapkey");

    CHECK(p->check(f.ref(f.vault.key_url("k"))) == v2);
    CHECK(p->check(f.ref(f.kid)) == f.kid);  // a versioned id stays on its version

    // A volume wrapped under version 1 still unwraps with its versioned id.
    WrapResult old = p->wrap(f.ref(f.kid), plain);
    CHECK(old.versioned_key_id == f.kid);
    auto back = p->unwrap(f.ref(f.kid), old.wrapped);
    CHECK(same({back.data(), back.size()}, plain));
    // ... but not with version 2's key.
    CHECK(failure([&] { p->unwrap(f.ref(v2), old.wrapped); }).status() == ProviderStatus::invalid);
}

TEST_CASE("Azure's answers map to the provider status classes", "[azure]") {
    Fixture f;
    auto p = f.provider({"max_retries=1", "timeout=1s"});
    const auto plain = random_bytes<std::vector<uint8_t>>(32, 3);
    WrapResult w = p->wrap(f.ref(f.kid), plain);
    const std::string version = f.kid.substr(f.kid.rfind('/') + 1);

    struct Case {
        std::string name;
        std::function<void()> revoke;
        std::function<void()> restore;
        ProviderStatus status;
        std::vector<std::string> words;  // the message names the HTTP status and Azure's codes
    };
    std::vector<Case> cases{
        {"access policy removed", [&] { f.vault.control({{"op", "delete_policy"}, {"identity", kIdentity}}); },
         [&] { f.vault.control({{"op", "set_policy"}, {"identity", kIdentity}}); }, ProviderStatus::denied,
         {"HTTP 403", "Forbidden/AccessDenied"}},
        {"RBAC denies", [&] {
             f.vault.control({{"op", "set_denial"}, {"inner", "ForbiddenByRbac"}});
             f.vault.control({{"op", "set_policy"}, {"identity", kIdentity}, {"permissions", {"get"}}});
         },
         [&] {
             f.vault.control({{"op", "set_denial"}, {"inner", "AccessDenied"}});
             f.vault.control({{"op", "set_policy"}, {"identity", kIdentity}});
         },
         ProviderStatus::denied, {"HTTP 403", "ForbiddenByRbac"}},
        {"policy denies", [&] {
             f.vault.control({{"op", "set_denial"}, {"inner", "ForbiddenByPolicy"}});
             f.vault.control({{"op", "set_policy"}, {"identity", kIdentity}, {"permissions", {"get", "wrapKey"}}});
         },
         [&] {
             f.vault.control({{"op", "set_denial"}, {"inner", "AccessDenied"}});
             f.vault.control({{"op", "set_policy"}, {"identity", kIdentity}});
         },
         ProviderStatus::denied, {"HTTP 403", "ForbiddenByPolicy"}},
        {"key disabled", [&] { f.vault.set_enabled("k", false); }, [&] { f.vault.set_enabled("k", true); },
         ProviderStatus::disabled, {"HTTP 403", "KeyDisabled", "disabled key"}},
        {"key deleted", [&] { f.vault.control({{"op", "delete_key"}, {"name", "k"}}); },
         [&] { f.vault.control({{"op", "recover_key"}, {"name", "k"}}); }, ProviderStatus::not_found,
         {"HTTP 404", "KeyNotFound"}},
        {"vault down (503)", [&] { f.vault.fault("vault", 503, 100); },
         [&] { f.vault.control({{"op", "clear_faults"}}); }, ProviderStatus::unavailable,
         {"HTTP 503", "gave up after 2 attempts"}},
        // Two timed-out attempts for the unwrap, two for the check's GET.
        {"vault too slow (timeout)", [&] { f.vault.control({{"op", "delay"}, {"seconds", 3}, {"count", 4}}); },
         [] {}, ProviderStatus::unavailable,
         {"timed out", "gave up after 2 attempts"}},
        {"managed identity endpoint down", [&] {
             f.vault.control({{"op", "revoke_tokens"}});
             f.vault.fault("imds", 500, 100);
         },
         [&] { f.vault.control({{"op", "clear_faults"}}); }, ProviderStatus::unavailable, {"HTTP 500"}},
    };
    SECTION("revocations and outages, then access restored") {
    for (const auto &c : cases) {
        INFO("case: " << c.name);
        c.revoke();
        for (const char *op : {"unwrap", "check"}) {
            INFO("operation: " << op);
            auto e = failure([&] {
                if (std::string(op) == "unwrap") p->unwrap(f.ref(f.kid), w.wrapped);
                else p->check(f.ref(f.kid));
            });
            CHECK(e.status() == c.status);
            for (const auto &word : c.words) CHECK_THAT(e.what(), Contains(word));
            CHECK_THAT(e.what(), Contains(version));
            check_clean(e.what(), f.vault);
        }
        c.restore();
        auto back = p->unwrap(f.ref(f.kid), w.wrapped);  // and access comes back
        CHECK(same({back.data(), back.size()}, plain));
    }
    }
    SECTION("an unknown key version is not found") {
        auto e = failure([&] { p->check(f.ref(f.vault.key_url("k") + "/0123456789abcdef0123456789abcdef")); });
        CHECK(e.status() == ProviderStatus::not_found);
        CHECK_THAT(e.what(), Contains("KeyNotFound"));
    }
    SECTION("an identity the managed-identity endpoint does not know is denied") {
        auto e = failure([&] { p->unwrap(f.ref(f.kid, "someone-else"), w.wrapped); });
        CHECK(e.status() == ProviderStatus::denied);
        CHECK_THAT(e.what(), Contains("Identity not found"));
        CHECK_THAT(e.what(), Contains("someone-else"));
    }
    SECTION("a tampered wrapped key is invalid") {
        auto bad = w.wrapped;
        bad[10] ^= 1;
        auto e = failure([&] { p->unwrap(f.ref(f.kid), bad); });
        CHECK(e.status() == ProviderStatus::invalid);
        CHECK_THAT(e.what(), Contains("HTTP 400"));
        CHECK_THAT(e.what(), Contains("BadParameter"));
    }
    SECTION("malformed key ids are invalid, before any request") {
        f.vault.clear_requests();
        for (const std::string bad : {"http://127.0.0.1/keys/k", "https://127.0.0.1/secrets/k", "https://127.0.0.1/keys/",
                                      "https://127.0.0.1/keys/k/v/x", "https://127.0.0.1/keys/k?x=1", "local:///v/keys/k",
                                      "https://user@127.0.0.1/keys/k"}) {
            INFO(bad);
            auto e = failure([&] { p->check(f.ref(bad)); });
            CHECK(e.status() == ProviderStatus::invalid);
            CHECK_THAT(e.what(), Contains("invalid Azure Key Vault key id"));
        }
        CHECK(f.vault.requests().empty());
    }
    SECTION("an unreachable vault is unavailable") {
        auto e = failure([&] { p->check(f.ref("https://127.0.0.1:1/keys/k")); });
        CHECK(e.status() == ProviderStatus::unavailable);
        CHECK_THAT(e.what(), Contains("127.0.0.1:1"));
    }
    SECTION("a server certificate the configured CA did not sign is unavailable, not trusted") {
        // Generous timeouts: under a sanitizer on a loaded machine the handshake
        // can be slow, and a timeout would hide the certificate error.
        auto other = load_provider(plugin_path(), {"imds_endpoint=" + f.vault.imds_endpoint(), "max_retries=0",
                                                   "connect_timeout=20s", "timeout=30s", "allowed_hosts=127.0.0.1"});
        const size_t before = f.vault.requests("vault").size();
        auto e = failure([&] { other->check(f.ref(f.kid)); });
        CHECK(e.status() == ProviderStatus::unavailable);
        CHECK_THAT(e.what(), Contains("certificate"));
        CHECK(f.vault.requests("vault").size() == before);  // no request got through
    }
    SECTION("a host outside Key Vault's domains, not allow-listed, gets no token and no request") {
        auto other = load_provider(plugin_path(), {"imds_endpoint=" + f.vault.imds_endpoint(),
                                                   "ca_file=" + f.vault.ca_file(), "max_retries=0"});
        const size_t before = f.vault.requests().size();
        auto e = failure([&] { other->check(f.ref(f.kid)); });
        CHECK(e.status() == ProviderStatus::invalid);
        CHECK_THAT(e.what(), Contains("not a Key Vault or Managed HSM host"));
        CHECK(f.vault.requests().size() == before);  // neither IMDS nor the vault was asked
    }
}

TEST_CASE("transient failures are retried with backoff, honouring Retry-After, and bounded", "[azure]") {
    Fixture f;
    const auto plain = random_bytes<std::vector<uint8_t>>(32, 4);

    SECTION("429 with Retry-After: waits as told, then succeeds") {
        auto p = f.provider();
        f.vault.fault("vault", 429, 2, 1);
        const auto t0 = std::chrono::steady_clock::now();
        WrapResult w = p->wrap(f.ref(f.kid), plain);
        const double took = seconds_since(t0);
        WARN("two throttled attempts took " << took << " s");
        CHECK(took >= 1.9);  // two Retry-After: 1
        CHECK(took < 15);
        auto wraps = only(f.vault.requests("vault"), "/wrapkey");
        REQUIRE(wraps.size() == 3);
        CHECK(wraps[0]["status"] == 429);
        CHECK(wraps[1]["status"] == 429);
        CHECK(wraps[2]["status"] == 200);
    }
    SECTION("5xx and 410 are retried, at most max_retries times") {
        auto p = f.provider({"max_retries=2"});
        f.vault.fault("vault", 500, 1);
        f.vault.fault("vault", 410, 1);
        CHECK_NOTHROW(p->wrap(f.ref(f.kid), plain));
        CHECK(only(f.vault.requests("vault"), "/wrapkey").size() == 3);

        f.vault.clear_requests();
        f.vault.fault("vault", 502, 100);
        auto e = failure([&] { p->wrap(f.ref(f.kid), plain); });
        CHECK(e.status() == ProviderStatus::unavailable);
        CHECK_THAT(e.what(), Contains("HTTP 502"));
        CHECK_THAT(e.what(), Contains("gave up after 3 attempts"));
        CHECK(only(f.vault.requests("vault"), "/wrapkey").size() == 3);
    }
    SECTION("a Retry-After beyond the retry budget fails at once") {
        auto p = f.provider({"retry_budget=2s"});
        f.vault.fault("vault", 429, 100, 30);
        const auto t0 = std::chrono::steady_clock::now();
        auto e = failure([&] { p->wrap(f.ref(f.kid), plain); });
        CHECK(seconds_since(t0) < 5);
        CHECK(e.status() == ProviderStatus::unavailable);
        CHECK_THAT(e.what(), Contains("HTTP 429"));
        CHECK_THAT(e.what(), Contains("Throttled"));
        CHECK_THAT(e.what(), Contains("retry budget"));
        CHECK(only(f.vault.requests("vault"), "/wrapkey").size() == 1);
    }
    SECTION("the managed-identity endpoint's outages are retried too") {
        auto p = f.provider();
        f.vault.fault("imds", 503, 2);
        CHECK_NOTHROW(p->wrap(f.ref(f.kid), plain));
        auto imds = f.vault.requests("imds");
        REQUIRE(imds.size() == 3);
        CHECK(imds[2]["status"] == 200);
    }
}

TEST_CASE("tokens are cached and replaced before they expire", "[azure]") {
    Fixture f;
    const auto plain = random_bytes<std::vector<uint8_t>>(32, 5);

    SECTION("a long-lived token serves many calls") {
        auto p = f.provider();
        for (int i = 0; i < 10; ++i) p->wrap(f.ref(f.kid), plain);
        CHECK(f.vault.requests("imds").size() == 1);
    }
    SECTION("a short-lived token is refreshed before expires_on, so the vault never sees it expired") {
        f.vault.control({{"op", "token_lifetime"}, {"seconds", 4}});
        auto p = f.provider();
        p->wrap(f.ref(f.kid), plain);
        p->wrap(f.ref(f.kid), plain);
        CHECK(f.vault.requests("imds").size() == 1);  // still fresh
        std::this_thread::sleep_for(std::chrono::milliseconds(2600));  // past half its life, before expiry
        p->wrap(f.ref(f.kid), plain);
        CHECK(f.vault.requests("imds").size() == 2);
        std::this_thread::sleep_for(std::chrono::milliseconds(4500));  // the second one has expired
        p->wrap(f.ref(f.kid), plain);
        CHECK(f.vault.requests("imds").size() == 3);
        for (const auto &r : f.vault.requests("vault")) CHECK(r["status"] == 200);  // no 401 at all
        auto imds = f.vault.requests("imds");
        auto vault = f.vault.requests("vault");
        CHECK(vault[2]["headers"]["authorization"] != vault[0]["headers"]["authorization"]);
    }
}

TEST_CASE("a 401 challenge is answered once with a token for the challenged resource", "[azure]") {
    Fixture f;
    const auto plain = random_bytes<std::vector<uint8_t>>(32, 6);
    auto p = f.provider();
    WrapResult w = p->wrap(f.ref(f.kid), plain);
    f.vault.clear_requests();

    SECTION("the vault revoked the token: a fresh one, one retry") {
        f.vault.control({{"op", "revoke_tokens"}});
        CHECK_NOTHROW(p->unwrap(f.ref(f.kid), w.wrapped));
        auto vault = f.vault.requests("vault");
        REQUIRE(vault.size() == 2);
        CHECK(vault[0]["status"] == 401);
        CHECK(vault[1]["status"] == 200);
        CHECK(f.vault.requests("imds").size() == 1);
    }
    SECTION("the vault wants another resource in its own domain: followed, and remembered") {
        f.vault.control({{"op", "vault_resource"}, {"resource", "https://127.0.0.1"}});
        CHECK_NOTHROW(p->unwrap(f.ref(f.kid), w.wrapped));
        CHECK_NOTHROW(p->unwrap(f.ref(f.kid), w.wrapped));
        auto imds = f.vault.requests("imds");
        REQUIRE(imds.size() == 1);
        CHECK(imds[0]["query"]["resource"] == "https://127.0.0.1");
        auto vault = f.vault.requests("vault");
        REQUIRE(vault.size() == 3);
        CHECK(vault[0]["status"] == 401);
        CHECK(vault[1]["status"] == 200);
        CHECK(vault[2]["status"] == 200);
    }
    SECTION("a challenge for a foreign resource is refused without asking for such a token") {
        f.vault.control({{"op", "vault_resource"}, {"resource", "https://management.azure.com"}});
        auto e = failure([&] { p->unwrap(f.ref(f.kid), w.wrapped); });
        CHECK(e.status() == ProviderStatus::denied);
        CHECK_THAT(e.what(), Contains("management.azure.com"));
        CHECK(f.vault.requests("imds").empty());
        CHECK(f.vault.requests("vault").size() == 1);
    }
    SECTION("a second 401 after answering the challenge is a denial, not a loop") {
        f.vault.control({{"op", "token_lifetime"}, {"seconds", 0}});  // every token arrives expired
        f.vault.control({{"op", "revoke_tokens"}});
        auto e = failure([&] { p->unwrap(f.ref(f.kid), w.wrapped); });
        CHECK(e.status() == ProviderStatus::denied);
        CHECK_THAT(e.what(), Contains("HTTP 401"));
        CHECK(f.vault.requests("vault").size() == 2);
    }
}

TEST_CASE("client secret credential: the Entra ID client-credentials request", "[azure]") {
    Fixture f;
    const std::string tenant = "0c0ffee0-1111-4222-8333-444455556666";
    const std::string app = "9e3f5b7a-aaaa-4bbb-8ccc-dddddddddddd";
    const std::string secret = "s3cr~et.with+odd&chars=";
    f.vault.control({{"op", "add_app"}, {"tenant", tenant}, {"client_id", app}, {"secret", secret}});
    f.vault.control({{"op", "set_policy"}, {"identity", app}});
    const std::string secret_file = f.vault.scratch() / "client-secret";
    test::write_file(secret_file, secret + "\n");
    ::chmod(secret_file.c_str(), 0600);
    const auto plain = random_bytes<std::vector<uint8_t>>(32, 7);

    auto p = f.provider({"tenant_id=" + tenant, "client_secret_file=" + secret_file});
    WrapResult w = p->wrap(f.ref(f.kid, app), plain);
    auto back = p->unwrap(f.ref(w.versioned_key_id, app), w.wrapped);
    CHECK(same({back.data(), back.size()}, plain));
    auto tokens = f.vault.requests("aad");
    REQUIRE(tokens.size() == 1);
    CHECK(tokens[0]["method"] == "POST");
    CHECK(tokens[0]["path"] == "/" + tenant + "/oauth2/v2.0/token");
    CHECK_THAT(tokens[0]["headers"]["content-type"].get<std::string>(), Contains("application/x-www-form-urlencoded"));
    CHECK(tokens[0]["body"] == json({{"grant_type", "client_credentials"}, {"client_id", app},
                                     {"client_secret", secret}, {"scope", "https://vault.azure.net/.default"}}));
    CHECK(f.vault.requests("imds").empty());

    SECTION("a wrong secret is denied, and the message does not show it") {
        test::write_file(secret_file, "wrong-secret");
        auto p2 = f.provider({"tenant_id=" + tenant, "client_secret_file=" + secret_file});
        auto e = failure([&] { p2->check(f.ref(f.kid, app)); });
        CHECK(e.status() == ProviderStatus::denied);
        CHECK_THAT(e.what(), Contains("invalid_client"));
        CHECK_THAT(e.what(), Contains("HTTP 401"));
        CHECK_THAT(e.what(), !Contains("wrong-secret"));
    }
    SECTION("a secret file others can read is refused") {
        ::chmod(secret_file.c_str(), 0644);
        auto p2 = f.provider({"tenant_id=" + tenant, "client_secret_file=" + secret_file});
        auto e = failure([&] { p2->check(f.ref(f.kid, app)); });
        CHECK(e.status() == ProviderStatus::invalid);
        CHECK_THAT(e.what(), Contains("chmod 600"));
    }
}

TEST_CASE("check: GET plus a wrap/unwrap round trip, or GET only", "[azure]") {
    Fixture f;
    auto roundtrip = f.provider();
    CHECK(roundtrip->check(f.ref(f.vault.key_url("k"))) == f.kid);
    auto vault = f.vault.requests("vault");
    REQUIRE(vault.size() == 3);
    CHECK(vault[0]["method"] == "GET");
    CHECK_THAT(vault[1]["path"].get<std::string>(), Contains("/wrapkey"));
    CHECK_THAT(vault[2]["path"].get<std::string>(), Contains("/unwrapkey"));

    f.vault.clear_requests();
    auto get_only = f.provider({"check=get"});
    CHECK(get_only->check(f.ref(f.vault.key_url("k"))) == f.kid);
    CHECK(f.vault.requests("vault").size() == 1);

    // Taking unwrapKey away is seen by the round trip only.
    f.vault.control({{"op", "set_policy"}, {"identity", kIdentity}, {"permissions", {"get", "wrapKey"}}});
    CHECK(failure([&] { roundtrip->check(f.ref(f.kid)); }).status() == ProviderStatus::denied);
    CHECK_NOTHROW(get_only->check(f.ref(f.kid)));
}

TEST_CASE("eight threads unwrapping at once share one token", "[azure]") {
    Fixture f;
    auto p = f.provider();
    const auto plain = random_bytes<std::vector<uint8_t>>(32, 8);
    WrapResult w = p->wrap(f.ref(f.kid), plain);
    auto fresh = f.provider();  // an empty token cache
    f.vault.clear_requests();

    std::atomic<int> ok{0}, bad{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 5; ++i) {
                try {
                    auto back = fresh->unwrap(f.ref(f.kid), w.wrapped);
                    (same({back.data(), back.size()}, plain) ? ok : bad)++;
                } catch (const std::exception &) {
                    bad++;
                }
            }
        });
    for (auto &t : threads) t.join();
    CHECK(ok == 40);
    CHECK(bad == 0);
    CHECK(f.vault.requests("imds").size() == 1);
    CHECK(only(f.vault.requests("vault"), "/unwrapkey").size() == 40);
}

TEST_CASE("options are checked when the provider opens", "[azure]") {
    FakeKeyVault vault;
    auto refused = [&](const std::vector<std::string> &options) {
        try {
            load_provider(plugin_path(), options);
        } catch (const PluginLoadError &e) {
            return std::string(e.what());
        }
        FAIL("the provider opened");
        return std::string();
    };
    CHECK_THAT(refused({"vault=/x"}), Contains("unknown option 'vault'"));
    CHECK_THAT(refused({"timeout=soon"}), Contains("timeout="));
    CHECK_THAT(refused({"credential=client_secret"}), Contains("tenant_id"));
    CHECK_THAT(refused({"authority_host=http://login.example"}), Contains("https"));
    CHECK_THAT(refused({"max_retries=-1"}), Contains("max_retries"));
    CHECK_NOTHROW(load_provider(plugin_path(), vault.provider_options({"timeout=2.5s", "connect_timeout=500ms"})));
}
