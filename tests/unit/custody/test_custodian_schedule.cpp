// The custodian's own thread on the fake clock: it checks when the schedule
// says (the check interval while unlocked, the backoff while locked), never
// under an emergency lock, and unlocks by itself when the key comes back.
#include <catch2/catch.hpp>

#include "unit/custody/custody_rig.h"

namespace custody = cmkfs::custody;
namespace keys = cmkfs::keys;
using cmkfs::test::CustodyRig;
using namespace std::chrono_literals;

TEST_CASE("the thread checks every interval, retries with backoff while locked, unlocks by itself", "[custody]") {
    CustodyRig rig("k/v1", {30s, 300s});
    REQUIRE(rig.custodian->unlock_at_mount(false));
    const int unwraps_at_mount = rig.provider->unwraps();
    rig.custodian->start();
    rig.clock.settle(1);
    CHECK(rig.clock.pending_wait() == 30s);
    CHECK(rig.status().next_check == rig.clock.wall_now() + 30s);
    CHECK(rig.provider->unwraps() == unwraps_at_mount);  // nothing before the interval

    rig.provider->answer(keys::ProviderStatus::denied);
    CHECK(rig.clock.advance_to_deadline() == 30s);
    rig.clock.settle(2);
    CHECK(rig.provider->unwraps() == unwraps_at_mount + 1);
    CHECK(rig.status().locked);
    CHECK_FALSE(rig.keys_installed());

    // Locked: 1 s, 2 s, 4 s, ... up to the interval, one check each.
    std::vector<std::chrono::milliseconds> schedule;
    for (int wait = 2; wait < 9; ++wait) {
        schedule.push_back(rig.clock.advance_to_deadline());
        rig.clock.settle(wait + 1);
        CHECK(rig.provider->unwraps() == unwraps_at_mount + wait);
    }
    CHECK(schedule == std::vector<std::chrono::milliseconds>{1s, 2s, 4s, 8s, 16s, 30s, 30s});

    rig.provider->answer(keys::ProviderStatus::ok);
    rig.clock.advance_to_deadline();
    rig.clock.settle(10);
    CHECK_FALSE(rig.status().locked);
    CHECK(rig.keys_installed());
    CHECK(rig.clock.pending_wait() == 30s);  // back to the interval
}

TEST_CASE("under an emergency lock the thread does not check, so a good key does not unlock", "[custody]") {
    CustodyRig rig("k/v1", {30s, 300s});
    REQUIRE(rig.custodian->unlock_at_mount(false));
    rig.custodian->start();
    rig.clock.settle(1);
    rig.custodian->emergency_lock();
    const int unwraps = rig.provider->unwraps();
    for (int wait = 2; wait < 6; ++wait) {
        rig.clock.advance_to_deadline();
        rig.clock.settle(wait);
    }
    CHECK(rig.provider->unwraps() == unwraps);
    CHECK(rig.status().emergency);
    CHECK_FALSE(rig.keys_installed());
    rig.custodian->unlock_by_operator();
    CHECK(rig.keys_installed());
}
