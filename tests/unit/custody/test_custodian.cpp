// The custodian (custody/custodian.h) on a real store with a scripted
// provider and a fake clock: what each transition does to the keyring, the
// audit trail and the observers, in which order.
#include <catch2/catch.hpp>

#include <algorithm>

#include "unit/custody/custody_rig.h"

namespace custody = cmkfs::custody;
namespace keys = cmkfs::keys;
using cmkfs::test::CustodyRig;
using Strings = std::vector<std::string>;
using namespace std::chrono_literals;

namespace {
bool contains(const std::string &text, const std::string &part) { return text.find(part) != std::string::npos; }
}  // namespace

TEST_CASE("unlocked -> revoked -> locked -> restored -> unlocked, through the keyring and the audit trail",
          "[custody]") {
    const auto [status, word, result] = GENERATE(table<keys::ProviderStatus, std::string, std::string>(
        {{keys::ProviderStatus::denied, "denied", "denied"},
         {keys::ProviderStatus::disabled, "disabled", "disabled"},
         {keys::ProviderStatus::not_found, "not_found", "not_found"}}));
    INFO(word);
    CustodyRig rig;
    REQUIRE(rig.custodian->unlock_at_mount(false));
    CHECK(rig.keys_installed());
    CHECK_FALSE(rig.status().locked);
    CHECK(rig.take_events() == Strings{"first:checked:ok", "second:checked:ok", "first:unlocked:mount",
                                       "second:unlocked:mount", "first:state:unlocked:k/v1",
                                       "second:state:unlocked:k/v1"});

    rig.provider->answer(status);
    rig.clock.advance(30s);
    rig.custodian->check();
    CHECK_FALSE(rig.keys_installed());
    auto s = rig.status();
    CHECK(s.locked);
    CHECK(s.phase == custody::Phase::locked);
    CHECK(contains(s.reason, word));
    CHECK(s.last_result == s.reason);
    const auto locked_since = s.since;

    // Locked: a check that still fails keeps the keys away and the lock's time.
    rig.clock.advance(1s);
    rig.custodian->check();
    CHECK_FALSE(rig.keys_installed());
    CHECK(rig.status().since == locked_since);

    rig.provider->answer(keys::ProviderStatus::ok);
    rig.clock.advance(2s);
    rig.custodian->check();
    CHECK(rig.keys_installed());
    s = rig.status();
    CHECK_FALSE(s.locked);
    CHECK(s.reason.empty());
    CHECK(s.last_result == "ok");
    CHECK(s.since == locked_since + 3s);

    CHECK(rig.audit_events() == Strings{"unlock", "lock", "unlock"});
    const auto lines = rig.audit_lines();
    CHECK(lines[0].at("reason") == "mount");
    CHECK(lines[0].at("keyId") == "k/v1");
    CHECK(contains(lines[1].at("reason"), word));
    CHECK(lines[2].at("reason") == "key accessible again");
    CHECK(lines[2].at("keyId") == "k/v1");
    CHECK(lines[2].at("mountpoint") == "/mnt/test");
}

TEST_CASE("the lock sequence: the check's result, every before_wipe with the keys, the wipe, every key_locked "
          "without them, then the state",
          "[custody]") {
    CustodyRig rig;
    REQUIRE(rig.custodian->unlock_at_mount(false));
    rig.take_events();
    rig.provider->answer(keys::ProviderStatus::denied);
    rig.custodian->check();
    CHECK(rig.take_events() == Strings{"first:checked:denied", "second:checked:denied",
                                       "first:before_wipe:denied:keys", "second:before_wipe:denied:keys",
                                       "first:locked:denied:no-keys", "second:locked:denied:no-keys",
                                       "first:state:locked:k/v1", "second:state:locked:k/v1"});
    // Already locked: no second lock sequence.
    rig.custodian->check();
    CHECK(rig.take_events() == Strings{"first:checked:denied", "second:checked:denied", "first:state:locked:k/v1",
                                       "second:state:locked:k/v1"});
    // Unlocked: the keys are in before anyone is told.
    rig.provider->answer(keys::ProviderStatus::ok);
    rig.custodian->check();
    CHECK(rig.take_events() == Strings{"first:checked:ok", "second:checked:ok", "first:unlocked:recovered",
                                       "second:unlocked:recovered", "first:state:unlocked:k/v1",
                                       "second:state:unlocked:k/v1"});
}

TEST_CASE("an outage within the grace stays unlocked and is audited once; past the grace it locks", "[custody]") {
    CustodyRig rig("k/v1", {30s, 300s});
    REQUIRE(rig.custodian->unlock_at_mount(false));
    rig.provider->answer(keys::ProviderStatus::unavailable);
    for (int i = 0; i < 5; ++i) {
        rig.custodian->check();
        CHECK(rig.keys_installed());
        CHECK_FALSE(rig.status().locked);
        CHECK(rig.status().phase == custody::Phase::unavailable_in_grace);
        rig.clock.advance(59s);
    }
    CHECK(rig.audit_events() == Strings{"unlock", "provider-unavailable"});
    CHECK(rig.audit_lines()[1].at("graceSeconds") == 300);
    rig.clock.advance(5s);  // 5 * 59 + 5 = 300 s since the first failure
    rig.take_events();
    rig.custodian->check();
    CHECK_FALSE(rig.keys_installed());
    CHECK(contains(rig.status().reason, "grace period"));
    const auto events = rig.take_events();
    CHECK(std::count(events.begin(), events.end(), "first:locked:unavailable_grace:no-keys") == 1);
    CHECK(rig.audit_events() == Strings{"unlock", "provider-unavailable", "lock"});

    rig.provider->answer(keys::ProviderStatus::ok);
    rig.custodian->check();
    CHECK(rig.keys_installed());
}

TEST_CASE("an emergency lock holds through successful checks until the operator unlocks", "[custody]") {
    CustodyRig rig;
    REQUIRE(rig.custodian->unlock_at_mount(false));
    rig.take_events();
    rig.custodian->emergency_lock();
    CHECK_FALSE(rig.keys_installed());
    CHECK(rig.status().emergency);
    CHECK(rig.status().reason == "emergency lock by operator");
    CHECK(rig.take_events() == Strings{"first:before_wipe:emergency:keys", "second:before_wipe:emergency:keys",
                                       "first:locked:emergency:no-keys", "second:locked:emergency:no-keys",
                                       "first:state:locked:k/v1", "second:state:locked:k/v1"});

    rig.custodian->check();  // the key is fine
    CHECK_FALSE(rig.keys_installed());
    CHECK(rig.status().emergency);

    SECTION("the operator's unlock re-checks and unlocks") {
        const auto s = rig.custodian->unlock_by_operator();
        CHECK_FALSE(s.locked);
        CHECK(rig.keys_installed());
        const auto events = rig.take_events();
        CHECK(std::find(events.begin(), events.end(), "first:unlocked:operator") != events.end());
        CHECK(rig.audit_events() ==
              Strings{"unlock", "lock", "emergency-lock", "operator-unlock-requested", "unlock"});
    }
    SECTION("the operator's unlock while the key is revoked: locked with the provider's reason") {
        rig.provider->answer(keys::ProviderStatus::denied);
        const auto s = rig.custodian->unlock_by_operator();
        CHECK(s.locked);
        CHECK_FALSE(s.emergency);
        CHECK(contains(s.reason, "denied"));
        CHECK_FALSE(rig.keys_installed());
    }
}

TEST_CASE("a mount that waits for its key starts locked and unlocks when the key appears", "[custody]") {
    CustodyRig rig;
    rig.provider->answer(keys::ProviderStatus::denied);
    SECTION("without waiting: the provider's error, nothing unlocked") {
        CHECK_THROWS_AS(rig.custodian->unlock_at_mount(false), keys::ProviderError);
        CHECK_FALSE(rig.keys_installed());
        CHECK(rig.take_events() == Strings{"first:checked:denied", "second:checked:denied"});
    }
    SECTION("waiting") {
        CHECK_FALSE(rig.custodian->unlock_at_mount(true));
        CHECK_FALSE(rig.keys_installed());
        CHECK(contains(rig.status().reason, "waiting for key: denied"));
        CHECK(rig.audit_events() == Strings{"locked-at-mount"});
        CHECK(rig.take_events() == Strings{"first:checked:denied", "second:checked:denied",
                                           "first:state:locked:k/v1", "second:state:locked:k/v1"});
        rig.provider->answer(keys::ProviderStatus::ok);
        rig.custodian->check();
        CHECK(rig.keys_installed());
        CHECK(rig.audit_events() == Strings{"locked-at-mount", "unlock"});
    }
}

TEST_CASE("a key whose commitment is not the binding's is refused, at mount and at every check", "[custody]") {
    CustodyRig rig;
    cmkfs::store::TrustAnchor other;
    other.key_commitment = std::string(64, 'a');  // the binding commits to another key
    SECTION("at mount") {
        rig.volume->set_trust_anchor(other);
        CHECK_THROWS_AS(rig.custodian->unlock_at_mount(true), cmkfs::IntegrityError);
        CHECK_FALSE(rig.keys_installed());
    }
    SECTION("at a check: locks as a wrong key, and stays locked while the provider answers") {
        REQUIRE(rig.custodian->unlock_at_mount(false));
        rig.volume->set_trust_anchor(other);
        rig.custodian->check();
        CHECK_FALSE(rig.keys_installed());
        CHECK(contains(rig.status().reason, "wrong key"));
        rig.take_events();
        rig.custodian->check();
        CHECK_FALSE(rig.keys_installed());
        CHECK(rig.take_events().front() == "first:checked:integrity");
    }
}
