// The pkcs11 provider plugin against a real SoftHSM2 token, loaded through
// keys::load_provider exactly as cmkfs loads it: wrap/unwrap round trips with
// both mechanisms, the versioned key id, the mapping of token errors to status
// classes, revocation by PIN change and key deletion seen by an open
// instance, and many threads unwrapping at once.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "keys/key_provider.h"
#include "support/softhsm.h"
#include "support/test_seed.h"
#include "support/random_bytes.h"

using namespace cmkfs;
using cmkfs::test::random_bytes;
using namespace cmkfs::keys;
using cmkfs::test::SoftHsm;
using Catch::Matchers::Contains;

namespace {

std::vector<uint8_t> bytes_of(const crypto::SecureBytes &s) { return {s.data(), s.data() + s.size()}; }

std::unique_ptr<KeyProvider> open_pkcs11(const SoftHsm &hsm, std::vector<std::string> extra = {}) {
    auto options = hsm.provider_options();
    options.insert(options.end(), extra.begin(), extra.end());
    return load_provider("pkcs11", options);
}

// The status of a provider call that must fail, and its message.
struct Failure {
    ProviderStatus status = ProviderStatus::ok;
    std::string message;
};

template <class Fn>
Failure failure_of(Fn &&fn) {
    try {
        fn();
    } catch (const ProviderError &e) {
        return {e.status(), e.what()};
    }
    return {};
}

std::string id_escaped(const std::string &hex) {
    std::string out;
    for (size_t i = 0; i < hex.size(); i += 2) {
        out += '%';
        for (char c : hex.substr(i, 2)) out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return out;
}

}  // namespace

TEST_CASE("pkcs11: wrap and unwrap 16..64 byte keys with AES-GCM", "[pkcs11]") {
    cmkfs::test::announce_seed();
    SoftHsm hsm;
    const std::string uri = hsm.create_aes_key("kek");
    auto provider = open_pkcs11(hsm);
    const std::string expected_kid = "pkcs11:token=cmkfs-test;object=kek;id=" + id_escaped(hsm.key_id_hex("kek")) +
                                     ";type=secret-key";
    for (size_t n : {16u, 24u, 32u, 48u, 64u}) {
        INFO("key size " << n);
        const auto plain = random_bytes<std::vector<uint8_t>>(n, n);
        WrapResult w = provider->wrap({uri, "id"}, plain);
        CHECK(w.versioned_key_id == expected_kid);
        REQUIRE(w.wrapped.size() == 8 + 12 + n + 16);
        CHECK(std::string(w.wrapped.begin(), w.wrapped.begin() + 6) == "CMKP11");
        CHECK(w.wrapped[7] == 1);  // aes-gcm
        CHECK(std::search(w.wrapped.begin(), w.wrapped.end(), plain.begin(), plain.end()) == w.wrapped.end());
        CHECK(bytes_of(provider->unwrap({w.versioned_key_id, "id"}, w.wrapped)) == plain);
        CHECK(bytes_of(provider->unwrap({uri, "id"}, w.wrapped)) == plain);
        // Fresh IV each time: the same key never wraps to the same bytes.
        CHECK(provider->wrap({uri, "id"}, plain).wrapped != w.wrapped);
    }
    CHECK(provider->check({uri, "id"}) == expected_kid);
    // The id= form (percent-encoded bytes) names the same object.
    const std::string by_id = "pkcs11:token=cmkfs-test;id=" + id_escaped(hsm.key_id_hex("kek"));
    CHECK(provider->check({by_id, "id"}) == expected_kid);
}

TEST_CASE("pkcs11: AES key wrap with padding, and the blob decides the mechanism", "[pkcs11]") {
    SoftHsm hsm;
    const std::string both = hsm.create_aes_key("both");
    const std::string wrap_only = hsm.create_aes_key("wrap-only", 32, "wu");
    auto kwp = open_pkcs11(hsm, {"mechanism=aes-kwp"});
    auto automatic = open_pkcs11(hsm);
    for (size_t n : {16u, 20u, 32u, 64u}) {
        INFO("key size " << n);
        const auto plain = random_bytes<std::vector<uint8_t>>(n, 100 + n);
        WrapResult w = kwp->wrap({both, "id"}, plain);
        REQUIRE(w.wrapped.size() == 8 + 1 + ((n + 7) / 8) * 8 + 8);
        CHECK(w.wrapped[8] == n);
        CHECK(w.wrapped[7] == 2);  // aes-kwp
        CHECK(bytes_of(kwp->unwrap({both, "id"}, w.wrapped)) == plain);
        // An instance configured otherwise still unwraps it: the blob names the mechanism.
        CHECK(bytes_of(automatic->unwrap({both, "id"}, w.wrapped)) == plain);
    }
    // auto picks key wrap for a key that may wrap but not encrypt.
    const auto plain = random_bytes<std::vector<uint8_t>>(32, 7);
    WrapResult w = automatic->wrap({wrap_only, "id"}, plain);
    CHECK(w.wrapped[7] == 2);
    CHECK(bytes_of(automatic->unwrap({wrap_only, "id"}, w.wrapped)) == plain);
    // ...and aes-gcm cannot be forced on it.
    auto gcm = open_pkcs11(hsm, {"mechanism=aes-gcm"});
    Failure f = failure_of([&] { gcm->wrap({wrap_only, "id"}, plain); });
    CHECK(f.status == ProviderStatus::denied);
    CHECK_THAT(f.message, Contains("CKA_ENCRYPT"));
}

TEST_CASE("pkcs11: damaged or foreign wrapped keys are invalid", "[pkcs11]") {
    SoftHsm hsm;
    const std::string uri = hsm.create_aes_key("kek");
    const std::string other = hsm.create_aes_key("other");
    auto provider = open_pkcs11(hsm);
    const auto plain = random_bytes<std::vector<uint8_t>>(32, 1);
    const auto wrapped = provider->wrap({uri, "id"}, plain).wrapped;
    for (size_t pos : {size_t{9}, size_t{20}, wrapped.size() - 1}) {
        auto bad = wrapped;
        bad[pos] ^= 0x01;
        INFO("flipped byte " << pos);
        CHECK(failure_of([&] { provider->unwrap({uri, "id"}, bad); }).status == ProviderStatus::invalid);
    }
    auto header = wrapped;
    header[7] = 1 ^ 0x40;  // an unknown mechanism
    CHECK_THAT(failure_of([&] { provider->unwrap({uri, "id"}, header); }).message, Contains("unknown mechanism"));
    std::vector<uint8_t> foreign(wrapped.size(), 0x42);
    CHECK(failure_of([&] { provider->unwrap({uri, "id"}, foreign); }).status == ProviderStatus::invalid);
    // The same blob under another key does not verify.
    CHECK(failure_of([&] { provider->unwrap({other, "id"}, wrapped); }).status == ProviderStatus::invalid);
}

TEST_CASE("pkcs11: token errors map to status classes and never show the PIN", "[pkcs11]") {
    SoftHsm hsm;
    const std::string uri = hsm.create_aes_key("kek");
    const auto plain = random_bytes<std::vector<uint8_t>>(32, 2);
    auto provider = open_pkcs11(hsm);
    const auto wrapped = provider->wrap({uri, "id"}, plain).wrapped;

    SECTION("missing object: not found") {
        Failure f = failure_of([&] { provider->check({"pkcs11:token=cmkfs-test;object=nope", "id"}); });
        CHECK(f.status == ProviderStatus::not_found);
        CHECK_THAT(f.message, Contains("object=nope"));
        f = failure_of([&] { provider->unwrap({"pkcs11:token=cmkfs-test;object=kek;id=%00", "id"}, wrapped); });
        CHECK(f.status == ProviderStatus::not_found);
    }
    SECTION("missing token: unavailable") {
        Failure f = failure_of([&] { provider->check({"pkcs11:token=no-such-token;object=kek", "id"}); });
        CHECK(f.status == ProviderStatus::unavailable);
        CHECK_THAT(f.message, Contains("token=no-such-token"));
    }
    SECTION("wrong PIN: denied, and the PIN is not in the message") {
        hsm.write_pin_file("9999-wrong-pin");
        Failure f = failure_of([&] { provider->unwrap({uri, "id"}, wrapped); });
        CHECK(f.status == ProviderStatus::denied);
        CHECK_THAT(f.message, Contains("CKR_PIN_INCORRECT"));
        CHECK(f.message.find("9999-wrong-pin") == std::string::npos);
        CHECK(f.message.find(hsm.user_pin()) == std::string::npos);
        CHECK(failure_of([&] { provider->check({uri, "id"}); }).status == ProviderStatus::denied);
        hsm.write_pin_file(hsm.user_pin());
        CHECK(bytes_of(provider->unwrap({uri, "id"}, wrapped)) == plain);
    }
    SECTION("key not permitted to encrypt or wrap: denied") {
        const std::string sign_only = hsm.create_aes_key("no-use", 32, "");
        CHECK(failure_of([&] { provider->check({sign_only, "id"}); }).status == ProviderStatus::denied);
        CHECK(failure_of([&] { provider->wrap({sign_only, "id"}, plain); }).status == ProviderStatus::denied);
    }
    SECTION("bad key ids: invalid, one line naming the problem") {
        for (const char *bad : {"local:///vault/keys/k", "pkcs11:token=cmkfs-test", "pkcs11:object=kek;bogus=1",
                                "pkcs11:token=cmkfs-test;object=kek?pin-value=1234", "pkcs11:object=%zz",
                                "pkcs11:object=a;object=b", "pkcs11:object=kek;type=private"}) {
            INFO(bad);
            Failure f = failure_of([&] { provider->check({bad, "id"}); });
            CHECK(f.status == ProviderStatus::invalid);
            CHECK_THAT(f.message, Contains("PKCS#11 URI: "));
            CHECK(f.message.find('\n') == std::string::npos);
            CHECK(f.message.find("pin-value=1234") == std::string::npos);
        }
    }
}

TEST_CASE("pkcs11: an open instance sees PIN changes and key deletion at the next call", "[pkcs11][revocation]") {
    SoftHsm hsm;
    const std::string uri = hsm.create_aes_key("kek");
    auto provider = open_pkcs11(hsm);
    const auto plain = random_bytes<std::vector<uint8_t>>(48, 3);
    const auto wrapped = provider->wrap({uri, "id"}, plain).wrapped;
    const std::string kid = provider->check({uri, "id"});
    const std::string old_pin = hsm.user_pin();

    // Another process changes the PIN; the PIN file still has the old one.
    hsm.change_pin("2468-new-pin");
    Failure f = failure_of([&] { provider->unwrap({kid, "id"}, wrapped); });
    CHECK(f.status == ProviderStatus::denied);
    CHECK_THAT(f.message, Contains("CKR_PIN_INCORRECT"));
    CHECK(failure_of([&] { provider->check({kid, "id"}); }).status == ProviderStatus::denied);
    // The operator puts the new PIN in the file: access is back.
    hsm.write_pin_file("2468-new-pin");
    CHECK(bytes_of(provider->unwrap({kid, "id"}, wrapped)) == plain);
    // Changed back on the token: the file is stale again, then restored.
    hsm.change_pin(old_pin);
    CHECK(failure_of([&] { provider->check({kid, "id"}); }).status == ProviderStatus::denied);
    hsm.write_pin_file(old_pin);
    CHECK(provider->check({kid, "id"}) == kid);

    // Deleted: not found. Re-imported (same material, label and id): back.
    hsm.delete_key("kek");
    CHECK(failure_of([&] { provider->unwrap({kid, "id"}, wrapped); }).status == ProviderStatus::not_found);
    CHECK(failure_of([&] { provider->check({kid, "id"}); }).status == ProviderStatus::not_found);
    hsm.reimport_key("kek");
    CHECK(provider->check({kid, "id"}) == kid);
    CHECK(bytes_of(provider->unwrap({kid, "id"}, wrapped)) == plain);
}

TEST_CASE("pkcs11: the PIN from an environment variable", "[pkcs11]") {
    SoftHsm hsm;
    const std::string uri = hsm.create_aes_key("kek");
    ::setenv("CMKFS_TEST_P11_PIN", hsm.user_pin().c_str(), 1);
    auto provider = load_provider("pkcs11", {"module=" + SoftHsm::module_path(), "pin_env=CMKFS_TEST_P11_PIN"});
    const auto plain = random_bytes<std::vector<uint8_t>>(32, 4);
    CHECK(bytes_of(provider->unwrap({uri, "id"}, provider->wrap({uri, "id"}, plain).wrapped)) == plain);
    ::unsetenv("CMKFS_TEST_P11_PIN");
    Failure f = failure_of([&] { provider->check({uri, "id"}); });
    CHECK(f.status == ProviderStatus::denied);
    CHECK_THAT(f.message, Contains("CMKFS_TEST_P11_PIN is not set"));
}

TEST_CASE("pkcs11: options are checked when the provider opens", "[pkcs11]") {
    SoftHsm hsm;
    auto open_error = [](const std::vector<std::string> &options) {
        try {
            load_provider("pkcs11", options);
        } catch (const PluginLoadError &e) {
            return std::string(e.what());
        }
        return std::string();
    };
    CHECK_THAT(open_error({"pin_file=" + hsm.pin_file()}), Contains("module= is required"));
    CHECK_THAT(open_error({"module=relative/lib.so"}), Contains("absolute"));
    CHECK_THAT(open_error({"module=/nonexistent/libp11.so"}), Contains("/nonexistent/libp11.so"));
    CHECK_THAT(open_error({"module=" + SoftHsm::module_path(), "pin_file=" + hsm.pin_file(), "pin_env=X"}),
               Contains("not both"));
    CHECK_THAT(open_error({"module=" + SoftHsm::module_path(), "pin=1234"}), Contains("never an option"));
    CHECK_THAT(open_error({"module=" + SoftHsm::module_path(), "mechanism=des"}), Contains("mechanism="));
    // A PIN file others can read is refused when it is used.
    const std::string uri = hsm.create_aes_key("kek");
    ::chmod(hsm.pin_file().c_str(), 0644);
    auto provider = open_pkcs11(hsm);
    Failure f = failure_of([&] { provider->check({uri, "id"}); });
    CHECK(f.status == ProviderStatus::invalid);
    CHECK_THAT(f.message, Contains("chmod 600"));
}

TEST_CASE("pkcs11: 8 threads unwrap at once while the key is checked", "[pkcs11][threads]") {
    SoftHsm hsm;
    const std::string uri = hsm.create_aes_key("kek");
    auto provider = open_pkcs11(hsm);
    std::vector<std::vector<uint8_t>> plains, blobs;
    for (int i = 0; i < 8; ++i) {
        plains.push_back(random_bytes<std::vector<uint8_t>>(32, 200 + i));
        blobs.push_back(provider->wrap({uri, "id"}, plains.back()).wrapped);
    }
    std::atomic<int> good{0}, bad{0};
    std::vector<std::string> errors(8);
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 15; ++i) {
                try {
                    const int which = (t + i) % 8;
                    if (bytes_of(provider->unwrap({uri, "id"}, blobs[which])) == plains[which]) ++good;
                    else ++bad;
                    if (i % 5 == 0) provider->check({uri, "id"});
                } catch (const std::exception &e) {
                    errors[t] = e.what();
                    ++bad;
                }
            }
        });
    }
    for (auto &th : threads) th.join();
    for (const auto &e : errors) CHECK(e == "");
    CHECK(bad == 0);
    CHECK(good == 8 * 15);
}

TEST_CASE("pkcs11: revalidate=login logs out and in again on every call", "[pkcs11]") {
    SoftHsm hsm;
    const std::string uri = hsm.create_aes_key("kek");
    auto provider = open_pkcs11(hsm, {"revalidate=login"});
    const auto plain = random_bytes<std::vector<uint8_t>>(32, 5);
    const auto wrapped = provider->wrap({uri, "id"}, plain).wrapped;
    CHECK(bytes_of(provider->unwrap({uri, "id"}, wrapped)) == plain);
    // The PIN file is read at every login, and a wrong PIN is refused although
    // the process was logged in a moment ago.
    hsm.write_pin_file("1111-wrong");
    Failure f = failure_of([&] { provider->unwrap({uri, "id"}, wrapped); });
    CHECK(f.status == ProviderStatus::denied);
    CHECK_THAT(f.message, Contains("CKR_PIN_INCORRECT"));
    hsm.write_pin_file(hsm.user_pin());
    CHECK(bytes_of(provider->unwrap({uri, "id"}, wrapped)) == plain);
    // Deletion is seen by a logged-in process too.
    hsm.delete_key("kek");
    CHECK(failure_of([&] { provider->check({uri, "id"}); }).status == ProviderStatus::not_found);
}
