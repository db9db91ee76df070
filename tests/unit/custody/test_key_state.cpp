// The key state machine alone (custody/key_state.h): every transition, the
// grace period and the backoff schedule, on a fake clock.
#include <catch2/catch.hpp>

#include "custody/key_state.h"
#include "unit/custody/fake_clock.h"

namespace custody = cmkfs::custody;
using custody::CheckResult;
using custody::Phase;
using Kind = custody::Transition::Kind;
using namespace std::chrono_literals;

namespace {
const custody::Policy kPolicy{30s, 300s};
constexpr auto kRecovered = custody::UnlockReason::recovered;
}  // namespace

TEST_CASE("a new key state is locked until the mount's first unwrap", "[custody]") {
    cmkfs::test::FakeClock clock;
    custody::KeyState state(kPolicy, clock);
    CHECK(state.locked());
    CHECK(state.status().reason == "not unlocked yet");

    SECTION("the key opens: unlocked, reason mount") {
        const auto t = state.mounted(CheckResult::ok, "ok");
        CHECK(t.kind == Kind::unlock);
        CHECK(t.unlock_reason == custody::UnlockReason::mount);
        CHECK(state.phase() == Phase::unlocked);
        CHECK(state.status().reason.empty());
        CHECK(state.status().last_success == state.status().last_check);
    }
    SECTION("waiting for the key: stays locked, nothing to wipe") {
        const auto t = state.mounted(CheckResult::denied, "denied: no");
        CHECK(t.kind == Kind::none);
        CHECK(state.phase() == Phase::locked);
        CHECK(state.status().reason == "waiting for key: denied: no");
        CHECK_FALSE(state.status().last_success);
    }
}

TEST_CASE("revoked locks at once with the provider's reason; ok unlocks again", "[custody]") {
    cmkfs::test::FakeClock clock;
    custody::KeyState state(kPolicy, clock);
    state.mounted(CheckResult::ok, "ok");
    const auto [result, reason] = GENERATE(table<CheckResult, custody::LockReason>(
        {{CheckResult::denied, custody::LockReason::denied},
         {CheckResult::disabled, custody::LockReason::disabled},
         {CheckResult::not_found, custody::LockReason::not_found},
         {CheckResult::integrity, custody::LockReason::integrity}}));
    INFO(custody::to_string(result));
    clock.advance(5s);
    const auto since_unlock = state.status().since;
    auto t = state.checked(result, "revoked: why", kRecovered);
    CHECK(t.kind == Kind::lock);
    CHECK(t.lock_reason == reason);
    CHECK(state.phase() == Phase::locked);
    CHECK(state.status().reason == "revoked: why");
    CHECK(state.status().since == since_unlock + 5s);

    // Still revoked: the reason follows the provider's answer, the lock's time stays.
    clock.advance(1s);
    t = state.checked(result, "revoked again", kRecovered);
    CHECK(t.kind == Kind::relock);
    CHECK(state.status().reason == "revoked again");
    CHECK(state.status().since == since_unlock + 5s);

    t = state.checked(CheckResult::ok, "ok", kRecovered);
    CHECK(t.kind == Kind::unlock);
    CHECK(t.unlock_reason == kRecovered);
    CHECK(state.phase() == Phase::unlocked);
    CHECK(state.status().reason.empty());
}

TEST_CASE("an outage within the grace stays unlocked, past the grace it locks", "[custody]") {
    cmkfs::test::FakeClock clock;
    custody::KeyState state(kPolicy, clock);
    state.mounted(CheckResult::ok, "ok");

    auto t = state.checked(CheckResult::unavailable, "unavailable: down", kRecovered);
    CHECK(t.kind == Kind::none);
    CHECK(t.outage_began);
    CHECK(state.phase() == Phase::unavailable_in_grace);
    CHECK_FALSE(state.locked());

    clock.advance(299s);
    t = state.checked(CheckResult::unavailable, "unavailable: down", kRecovered);
    CHECK(t.kind == Kind::none);
    CHECK_FALSE(t.outage_began);  // the same outage
    CHECK_FALSE(state.locked());

    SECTION("back within the grace: unlocked, no transition") {
        t = state.checked(CheckResult::ok, "ok", kRecovered);
        CHECK(t.kind == Kind::none);
        CHECK(state.phase() == Phase::unlocked);
    }
    SECTION("the grace is over: locked") {
        clock.advance(1s);
        t = state.checked(CheckResult::unavailable, "unavailable: down", kRecovered);
        CHECK(t.kind == Kind::lock);
        CHECK(t.lock_reason == custody::LockReason::unavailable_grace);
        CHECK(state.status().reason ==
              "provider unavailable for longer than the grace period: unavailable: down");
        CHECK(state.in_outage());
        // Then back: unlocks by itself.
        t = state.checked(CheckResult::ok, "ok", kRecovered);
        CHECK(t.kind == Kind::unlock);
        CHECK_FALSE(state.in_outage());
    }
    SECTION("a revocation during the outage locks at once") {
        t = state.checked(CheckResult::denied, "denied: gone", kRecovered);
        CHECK(t.kind == Kind::lock);
        CHECK(t.lock_reason == custody::LockReason::denied);
        CHECK_FALSE(state.in_outage());
        // An outage while revoked neither unlocks nor changes the reason.
        clock.advance(600s);
        t = state.checked(CheckResult::unavailable, "unavailable: down", kRecovered);
        CHECK(t.kind == Kind::none);
        CHECK_FALSE(t.outage_began);
        CHECK(state.status().reason == "denied: gone");
    }
}

TEST_CASE("a zero grace locks at the first failed check", "[custody]") {
    cmkfs::test::FakeClock clock;
    custody::KeyState state({30s, 0s}, clock);
    state.mounted(CheckResult::ok, "ok");
    const auto t = state.checked(CheckResult::unavailable, "unavailable: down", kRecovered);
    CHECK(t.kind == Kind::lock);
    CHECK(t.outage_began);
}

TEST_CASE("an emergency lock is not lifted by a check, only by the operator", "[custody]") {
    cmkfs::test::FakeClock clock;
    custody::KeyState state(kPolicy, clock);
    state.mounted(CheckResult::ok, "ok");
    auto t = state.emergency_lock();
    CHECK(t.kind == Kind::lock);
    CHECK(t.lock_reason == custody::LockReason::emergency);
    CHECK(state.phase() == Phase::emergency);
    CHECK(state.checks_suspended());
    CHECK(state.status().emergency);
    CHECK(state.status().reason == "emergency lock by operator");

    t = state.checked(CheckResult::ok, "ok", kRecovered);  // a check already under way
    CHECK(t.kind == Kind::none);
    CHECK(state.phase() == Phase::emergency);

    state.operator_unlock();
    CHECK(state.phase() == Phase::locked);  // still locked: the check decides
    CHECK_FALSE(state.checks_suspended());
    t = state.checked(CheckResult::ok, "ok", custody::UnlockReason::operator_unlock);
    CHECK(t.kind == Kind::unlock);
    CHECK(t.unlock_reason == custody::UnlockReason::operator_unlock);

    // Over a revocation: the emergency takes over the reason; the revocation
    // decides again after the operator's unlock.
    state.checked(CheckResult::denied, "denied: gone", kRecovered);
    t = state.emergency_lock();
    CHECK(t.kind == Kind::relock);
    CHECK(state.phase() == Phase::emergency);
    state.operator_unlock();
    t = state.checked(CheckResult::denied, "denied: gone", custody::UnlockReason::operator_unlock);
    CHECK(t.kind == Kind::relock);
    CHECK(state.status().reason == "denied: gone");
    CHECK_FALSE(state.status().emergency);
}

TEST_CASE("the retry backoff: 1 s doubling up to the check interval, reset by a success", "[custody]") {
    cmkfs::test::FakeClock clock;
    custody::KeyState state(kPolicy, clock);
    state.mounted(CheckResult::ok, "ok");
    CHECK(state.next_wait() == 30s);
    CHECK(state.next_wait() == 30s);
    CHECK(state.status().next_check == clock.wall_now() + 30s);

    state.checked(CheckResult::denied, "denied", kRecovered);
    std::vector<std::chrono::milliseconds> schedule;
    for (int i = 0; i < 7; ++i) schedule.push_back(state.next_wait());
    CHECK(schedule == std::vector<std::chrono::milliseconds>{1s, 2s, 4s, 8s, 16s, 30s, 30s});

    state.checked(CheckResult::ok, "ok", kRecovered);
    CHECK(state.next_wait() == 30s);

    // An outage within the grace retries with backoff too, from 1 s again.
    state.checked(CheckResult::unavailable, "unavailable", kRecovered);
    CHECK(state.next_wait() == 1s);
    CHECK(state.next_wait() == 2s);
    // The operator's unlock starts the backoff over.
    state.emergency_lock();
    state.next_wait();
    state.operator_unlock();
    CHECK(state.next_wait() == 1s);
}
