// The azure-keyvault plugin's small parts on their own: the in-place JSON
// scanner that reads secrets out of responses, base64url (against cmkfs's own
// codec), key id parsing and option parsing.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "answers.h"
#include "azure_error.h"
#include "base64url.h"
#include "crypto/encoding.h"
#include "json_scan.h"
#include "key_id.h"
#include "settings.h"
#include "support/test_seed.h"
#include "support/random_bytes.h"

using namespace cmkfs::azure;

TEST_CASE("json scanner finds a top-level string member in place", "[azure]") {
    const std::string doc =
        R"({"kid": "https://v/keys/k/1", "nested": {"value": "inner", "a": [1, {"value": "x"}]},)"
        R"( "n": -1.5e3, "s": "with \"escape\"", "value" : "dGVzdA"})";
    auto v = find_plain_string_member(doc, "value");
    REQUIRE(v);
    CHECK(*v == "dGVzdA");
    CHECK(v->data() >= doc.data());  // a view into the document, not a copy
    CHECK(v->data() < doc.data() + doc.size());
    CHECK(*find_plain_string_member(doc, "kid") == "https://v/keys/k/1");
    CHECK_FALSE(find_plain_string_member(doc, "s"));        // escaped: refused
    CHECK_FALSE(find_plain_string_member(doc, "n"));        // not a string
    CHECK(*find_scalar_member(doc, "n") == "-1.5e3");       // ... but a scalar
    CHECK_FALSE(find_plain_string_member(doc, "missing"));
    CHECK_FALSE(find_plain_string_member(R"(["value", "x"])", "value"));
    CHECK_FALSE(find_plain_string_member(R"({"value": )", "value"));
    CHECK_FALSE(find_plain_string_member(R"({"value": "unterminated)", "value"));
    CHECK_FALSE(find_plain_string_member("", "value"));
    CHECK(*find_scalar_member(R"({"expires_in":3599,"access_token":"t"})", "expires_in") == "3599");
    CHECK(*find_scalar_member(R"({"expires_in":"3599"})", "expires_in") == "3599");
}

TEST_CASE("base64url matches cmkfs's codec for every length", "[azure]") {
    auto rng = cmkfs::test::rng(11);
    for (size_t n = 0; n < 70; ++n) {
        const auto data = cmkfs::test::random_bytes<std::vector<uint8_t>>(rng, n);
        const std::string text = base64url_encode(data);
        CHECK(text == cmkfs::crypto::base64url_encode(data));
        std::vector<uint8_t> back;
        REQUIRE(base64url_decode(text, back));
        CHECK(back == data);
        cmkfs::sdk::SecretBuffer secret(nullptr);
        base64url_encode(data.data(), data.size(), secret);
        CHECK(secret.view() == text);
    }
    std::vector<uint8_t> out;
    CHECK(base64url_decode("dGVzdA==", out));  // padding and the standard alphabet are accepted
    CHECK(std::string(out.begin(), out.end()) == "test");
    out.clear();
    CHECK_FALSE(base64url_decode("dGV*dA", out));
    CHECK_FALSE(base64url_decode("d", out));
}

TEST_CASE("key ids: vault URL, name and optional version", "[azure]") {
    KeyId id = parse_key_id("https://Contoso-KV.vault.azure.net/keys/registry-kek/0a1b2c3d4e5f60718293a4b5c6d7e8f9");
    CHECK(id.host == "contoso-kv.vault.azure.net");
    CHECK(id.vault_url == "https://Contoso-KV.vault.azure.net");
    CHECK(id.name == "registry-kek");
    CHECK(id.version == "0a1b2c3d4e5f60718293a4b5c6d7e8f9");
    KeyId latest = parse_key_id("https://127.0.0.1:8443/keys/k/");
    CHECK(latest.host == "127.0.0.1");
    CHECK(latest.vault_url == "https://127.0.0.1:8443");
    CHECK(latest.version.empty());
    CHECK(latest.key_url() == "https://127.0.0.1:8443/keys/k");
    for (const std::string &bad : std::vector<std::string>{"", "https://", "https://v.vault.azure.net", "https://v/keys/a_b",
                                  "https://v:99999x/keys/k", "https://v/keys/k/ver-sion", "https://v v/keys/k",
                                  "https://v/keys/k#frag", std::string("https://v/keys/") + std::string(128, 'a')}) {
        INFO(bad);
        try {
            parse_key_id(bad);
            FAIL("accepted");
        } catch (const AzureError &e) {
            CHECK(e.status() == CMKFS_ERR_INVALID);
        }
    }
}

TEST_CASE("tokens go to Key Vault and Managed HSM hosts, or to allow-listed ones", "[azure]") {
    for (const std::string host : {"contoso.vault.azure.net", "h.managedhsm.azure.net", "c.vault.azure.cn",
                                   "c.managedhsm.azure.cn", "g.vault.usgovcloudapi.net",
                                   "g.managedhsm.usgovcloudapi.net", "d.vault.microsoftazure.de"}) {
        INFO(host);
        CHECK(is_key_vault_host(host));
        CHECK_NOTHROW(require_trusted_vault_host(parse_key_id("https://" + host + "/keys/k"), {}));
    }
    for (const std::string host : {"vault.azure.net", "evil.com", "vault.azure.net.evil.com", "evilvault.azure.net",
                                   "127.0.0.1", "x.blob.core.windows.net"}) {
        INFO(host);
        CHECK_FALSE(is_key_vault_host(host));
    }
    const KeyId local = parse_key_id("https://127.0.0.1:8443/keys/k");
    CHECK_THROWS_AS(require_trusted_vault_host(local, {}), AzureError);
    CHECK_THROWS_AS(require_trusted_vault_host(local, {"127.0.0.2"}), AzureError);
    CHECK_NOTHROW(require_trusted_vault_host(local, {"localhost", "127.0.0.1"}));
}

TEST_CASE("options: defaults, durations, and the client secret set", "[azure]") {
    auto parse = [](std::vector<std::string> opts) {
        std::vector<const char *> argv;
        for (auto &o : opts) argv.push_back(o.c_str());
        argv.push_back(nullptr);
        return parse_settings(argv.data());
    };
    Settings d = parse({});
    CHECK(d.credential == CredentialKind::managed_identity);
    CHECK(d.imds_endpoint == "http://169.254.169.254/metadata/identity/oauth2/token");
    CHECK(d.authority_host == "https://login.microsoftonline.com");
    CHECK(d.check == CheckMode::roundtrip);
    Settings s = parse({"timeout=2.5s", "connect_timeout=300ms", "retry_budget=7", "client_secret_file=/etc/s",
                        "tenant_id=t", "authority_host=https://login.chinacloudapi.cn/"});
    CHECK(s.timeout.count() == 2500);
    CHECK(s.connect_timeout.count() == 300);
    CHECK(s.retry_budget.count() == 7000);
    CHECK(s.credential == CredentialKind::client_secret);  // implied by the secret file
    CHECK(s.authority_host == "https://login.chinacloudapi.cn");
    for (const auto &bad : std::vector<std::vector<std::string>>{
             {"timeout=0"}, {"timeout=-1s"}, {"max_retries=21"}, {"check=never"}, {"ca_file=relative.pem"},
             {"client_secret_file=/s"}, {"credential=password"}, {"tenant_id=a/b"}, {"novalue"}}) {
        INFO(bad[0]);
        CHECK_THROWS_AS(parse(bad), AzureError);
    }
}

// Found by fuzz/azure_answer.cpp (fuzz/regressions/azure_answer/): a
// retry-after-ms of 20 digits made std::stoll throw out of the retry loop (an
// INTERNAL failure instead of a retry), and a far HTTP date gave a wait whose
// conversion to steady_clock nanoseconds overflowed. Every wait is now at most a day.
TEST_CASE("Retry-After values are bounded, whatever the server sends", "[azure]") {
    const auto wait_for = [](const std::string &name, const std::string &value) {
        HttpResponse r(nullptr);
        r.headers[name] = value;
        return retry_after(r);
    };
    const Millis day = std::chrono::hours(24);
    CHECK(wait_for("retry-after-ms", "1500") == Millis(1500));
    CHECK(wait_for("retry-after", "3") == Millis(3000));
    CHECK(wait_for("retry-after-ms", "99999999999999999999") == day);
    CHECK(wait_for("x-ms-retry-after-ms", "9223372036854775807") == day);
    CHECK(wait_for("retry-after", "999999999999") == day);
    CHECK(wait_for("retry-after", "Fri, 31 Dec 9999 23:59:59 GMT") == day);
    CHECK(wait_for("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT") == Millis(0));
    CHECK_FALSE(wait_for("retry-after", "soon"));
}

// Found by fuzz/azure_settings.cpp (fuzz/regressions/azure_settings/): "nan"
// parses as a double and passed both range checks, then its conversion to an
// integer was undefined (a negative timeout in practice). Options can come
// from the volume header.
TEST_CASE("options: a duration that is not a number is refused", "[azure]") {
    for (const std::string opt : {"timeout=nan", "connect_timeout=NaNms", "retry_budget=-nans", "retry_base=nan",
                                  "timeout=inf", "timeout=1e400"}) {
        INFO(opt);
        std::vector<const char *> argv{opt.c_str(), nullptr};
        CHECK_THROWS_AS(parse_settings(argv.data()), AzureError);
    }
}

// Found by reading fuzz/azure_answer.cpp's invariants: an expires_in too large
// for a long long saturated to 2^63-1 seconds, which overflowed the refresh
// time (steady_clock nanoseconds). A token is used for a day at most.
TEST_CASE("token lifetimes are bounded, whatever the endpoint claims", "[azure]") {
    const std::time_t now = 1'700'000'000;
    auto life = [&](const std::string &body) { return token_from_answer(body, now)->lifetime_seconds; };
    CHECK(life(R"({"access_token":"t","expires_in":"3599"})") == 3599);
    CHECK(life(R"({"access_token":"t","expires_in":99999999999999999999})") == 24 * 3600);
    CHECK(life(R"({"access_token":"t","expires_on":"9223372036854775807"})") == 24 * 3600);
    CHECK(life(R"({"access_token":"t","expires_in":"3599","expires_on":"1700000100"})") == 100);
    CHECK(life(R"({"access_token":"t"})") == 60);
    CHECK_FALSE(token_from_answer(R"({"expires_in":"3599"})", now));
}
