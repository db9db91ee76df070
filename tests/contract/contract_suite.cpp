// The provider contract: what cmkfs relies on from every key provider,
// checked through the host loader against each registered fixture.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "provider_fixture.h"
#include "support/test_seed.h"
#include "support/random_bytes.h"

using namespace cmkfs;
using namespace cmkfs::keys;
using cmkfs::contract::ProviderFixture;
using cmkfs::contract::registered_fixtures;

namespace {

std::vector<uint8_t> random_key(size_t n) {
    static uint64_t stream = 0;
    return test::random_bytes<std::vector<uint8_t>>(n, ++stream);
}

std::string hex(const std::vector<uint8_t> &bytes) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (uint8_t b : bytes) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

bool same(const crypto::SecureBytes &got, const std::vector<uint8_t> &want) {
    return got.size() == want.size() && std::equal(want.begin(), want.end(), got.data());
}

// What a provider call ended in: ok, or the status of the ProviderError it
// threw (with its message). Any other exception fails the test.
struct Outcome {
    ProviderStatus status = ProviderStatus::ok;
    std::string message;
};

Outcome outcome_of(const std::function<void()> &call) {
    try {
        call();
    } catch (const ProviderError &e) {
        return {e.status(), e.what()};
    }
    return {};
}

std::string describe(const Outcome &o) {
    return std::string(to_string(o.status)) + (o.message.empty() ? "" : " (" + o.message + ")");
}

#define CHECK_STATUS(outcome, ...)                                               \
    do {                                                                         \
        const Outcome o_ = (outcome);                                            \
        const std::set<ProviderStatus> allowed_{__VA_ARGS__};                    \
        INFO("got " << describe(o_));                                            \
        CHECK(allowed_.count(o_.status) == 1);                                   \
        CHECK(o_.message.find('\n') == std::string::npos);                       \
    } while (0)

// Runs body once per registered fixture, each in its own section.
void for_each_fixture(const std::function<void(ProviderFixture &)> &body) {
    REQUIRE_FALSE(registered_fixtures().empty());
    for (const auto &reg : registered_fixtures()) {
        DYNAMIC_SECTION("provider fixture " << reg.name) {
            auto fixture = reg.make();
            body(*fixture);
        }
    }
}

KeyRef versioned(const ProviderFixture &f, const WrapResult &w) {
    return {w.versioned_key_id, f.good_key().identity};
}

}  // namespace

TEST_CASE("contract: wrap and unwrap round-trip 16..64-byte keys", "[contract]") {
    for_each_fixture([](ProviderFixture &f) {
        auto p = contract::open_provider(f);
        const KeyRef good = f.good_key();
        const std::string resolved = p->check(good);
        CHECK_FALSE(resolved.empty());
        for (size_t n : {16, 17, 24, 31, 32, 48, 63, 64}) {
            INFO("plaintext of " << n << " bytes");
            auto plain = random_key(n);
            WrapResult w = p->wrap(good, plain);
            CHECK(w.versioned_key_id == resolved);  // check names the version wrap uses
            CHECK(w.wrapped != plain);
            CHECK(hex(w.wrapped).find(hex(plain)) == std::string::npos);
            CHECK(same(p->unwrap(versioned(f, w), w.wrapped), plain));
        }
        // A second instance (a later mount) unwraps what the first wrapped;
        // two wraps of one key both unwrap.
        auto plain = random_key(32);
        WrapResult w1 = p->wrap(good, plain);
        WrapResult w2 = p->wrap(good, plain);
        auto other = contract::open_provider(f);
        CHECK(same(other->unwrap(versioned(f, w1), w1.wrapped), plain));
        CHECK(same(other->unwrap(versioned(f, w2), w2.wrapped), plain));
    });
}

TEST_CASE("contract: a wrong key id is NOT_FOUND or INVALID, never success", "[contract]") {
    for_each_fixture([](ProviderFixture &f) {
        auto p = contract::open_provider(f);
        const std::string identity = f.good_key().identity;
        auto plain = random_key(32);
        WrapResult w = p->wrap(f.good_key(), plain);
        for (const std::string &id : {f.missing_key_id(), f.malformed_key_id()}) {
            INFO("key id " << id);
            const KeyRef wrong{id, identity};
            CHECK_STATUS(outcome_of([&] { p->check(wrong); }), ProviderStatus::not_found,
                         ProviderStatus::invalid);
            CHECK_STATUS(outcome_of([&] { p->wrap(wrong, plain); }), ProviderStatus::not_found,
                         ProviderStatus::invalid);
            Outcome u = outcome_of([&] { p->unwrap(wrong, w.wrapped); });
            CHECK_STATUS(u, ProviderStatus::not_found, ProviderStatus::invalid);
            CHECK(u.message.find(hex(plain)) == std::string::npos);
        }
    });
}

TEST_CASE("contract: a denied identity is DENIED; access returns without reopening", "[contract]") {
    for_each_fixture([](ProviderFixture &f) {
        auto p = contract::open_provider(f);
        auto plain = random_key(32);
        WrapResult w = p->wrap(f.good_key(), plain);
        f.make_denied();
        CHECK_STATUS(outcome_of([&] { p->check(f.good_key()); }), ProviderStatus::denied);
        CHECK_STATUS(outcome_of([&] { p->wrap(f.good_key(), plain); }), ProviderStatus::denied);
        Outcome u = outcome_of([&] { p->unwrap(versioned(f, w), w.wrapped); });
        CHECK_STATUS(u, ProviderStatus::denied);
        CHECK(u.message.find(hex(plain)) == std::string::npos);
        f.restore();
        CHECK(same(p->unwrap(versioned(f, w), w.wrapped), plain));
    });
}

TEST_CASE("contract: a deleted key is NOT_FOUND; a restored key works again", "[contract]") {
    for_each_fixture([](ProviderFixture &f) {
        auto p = contract::open_provider(f);
        auto plain = random_key(32);
        WrapResult w = p->wrap(f.good_key(), plain);
        f.make_missing();
        CHECK_STATUS(outcome_of([&] { p->check(f.good_key()); }), ProviderStatus::not_found);
        CHECK_STATUS(outcome_of([&] { p->unwrap(versioned(f, w), w.wrapped); }),
                     ProviderStatus::not_found);
        f.restore();
        if (f.restore_keeps_key()) {
            CHECK(same(p->unwrap(versioned(f, w), w.wrapped), plain));
        } else {
            WrapResult again = p->wrap(f.good_key(), plain);
            CHECK(same(p->unwrap(versioned(f, again), again.wrapped), plain));
        }
    });
}

TEST_CASE("contract: an unreachable backend is UNAVAILABLE, not a revocation", "[contract]") {
    for_each_fixture([](ProviderFixture &f) {
        auto p = contract::open_provider(f);
        auto plain = random_key(32);
        WrapResult w = p->wrap(f.good_key(), plain);
        f.make_unavailable();
        CHECK_STATUS(outcome_of([&] { p->check(f.good_key()); }), ProviderStatus::unavailable);
        CHECK_STATUS(outcome_of([&] { p->unwrap(versioned(f, w), w.wrapped); }),
                     ProviderStatus::unavailable);
        CHECK_STATUS(outcome_of([&] { p->wrap(f.good_key(), plain); }), ProviderStatus::unavailable);
        f.restore();
        CHECK(same(p->unwrap(versioned(f, w), w.wrapped), plain));
    });
}

TEST_CASE("contract: 8 threads unwrap through one instance at once, all correctly", "[contract]") {
    for_each_fixture([](ProviderFixture &f) {
        constexpr int kThreads = 8;
        constexpr int kRounds = 6;
        auto p = contract::open_provider(f);
        std::vector<std::vector<uint8_t>> plains;
        std::vector<WrapResult> wrapped;
        for (int i = 0; i < kThreads; ++i) {
            plains.push_back(random_key(static_cast<size_t>(16 + 6 * i)));
            wrapped.push_back(p->wrap(f.good_key(), plains.back()));
        }
        std::atomic<int> correct{0};
        std::mutex mu;
        std::vector<std::string> failures;
        std::atomic<bool> go{false};
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&, t] {
                while (!go.load()) std::this_thread::yield();
                for (int r = 0; r < kRounds; ++r) {
                    // Each thread walks the keys in its own order.
                    const int i = (t + r) % kThreads;
                    try {
                        if (same(p->unwrap(versioned(f, wrapped[i]), wrapped[i].wrapped), plains[i]))
                            ++correct;
                        else
                            throw std::runtime_error("wrong plaintext for key " + std::to_string(i));
                    } catch (const std::exception &e) {
                        std::lock_guard<std::mutex> lock(mu);
                        failures.push_back(e.what());
                    }
                }
            });
        }
        go = true;
        for (auto &t : threads) t.join();
        for (const auto &msg : failures) FAIL_CHECK(msg);
        CHECK(correct.load() == kThreads * kRounds);
    });
}

TEST_CASE("contract: tampered, truncated or extended wrapped data fails as INVALID", "[contract]") {
    for_each_fixture([](ProviderFixture &f) {
        auto p = contract::open_provider(f);
        auto plain = random_key(32);
        WrapResult w = p->wrap(f.good_key(), plain);
        const KeyRef key = versioned(f, w);
        const size_t n = w.wrapped.size();
        REQUIRE(n > 2);
        std::vector<std::pair<std::string, std::vector<uint8_t>>> bad;
        for (size_t at : {size_t{0}, n / 2, n - 1}) {
            auto flipped = w.wrapped;
            flipped[at] ^= 0x01;
            bad.emplace_back("bit flipped at byte " + std::to_string(at), flipped);
        }
        bad.emplace_back("last byte cut", std::vector<uint8_t>(w.wrapped.begin(), w.wrapped.end() - 1));
        auto longer = w.wrapped;
        longer.push_back(0);
        bad.emplace_back("a byte appended", longer);
        bad.emplace_back("empty", std::vector<uint8_t>{});
        for (const auto &[what, data] : bad) {
            INFO(what);
            Outcome u = outcome_of([&, &data = data] { p->unwrap(key, data); });
            CHECK_STATUS(u, ProviderStatus::invalid);
            CHECK(u.message.find(hex(plain)) == std::string::npos);
        }
        // The untouched data still unwraps: the failures were about the data.
        CHECK(same(p->unwrap(key, w.wrapped), plain));
    });
}
