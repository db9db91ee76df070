// Rotation in key custody: the automatic one that follows a version-less key
// id to its newest version at a check, and the operator's online one, both
// audited; neither while locked.
#include <catch2/catch.hpp>

#include "store/rotation.h"
#include "unit/custody/custody_rig.h"

namespace custody = cmkfs::custody;
namespace keys = cmkfs::keys;
using cmkfs::test::CustodyRig;
using Strings = std::vector<std::string>;
using namespace std::chrono_literals;

TEST_CASE("a check that finds a newer key version re-wraps under it, audited", "[custody][rotation]") {
    CustodyRig rig("k");  // version-less: follows the newest version
    REQUIRE(rig.custodian->unlock_at_mount(false));
    REQUIRE(rig.volume->header().versioned_key_id == "k/v1");
    rig.custodian->check();
    CHECK(rig.volume->header().versioned_key_id == "k/v1");  // nothing newer
    CHECK(rig.status().last_rotation_check);

    rig.provider->set_latest_version(2);
    rig.custodian->check();
    CHECK(rig.volume->header().versioned_key_id == "k/v2");
    cmkfs::store::Volume reopened(rig.backing);
    CHECK(reopened.header().versioned_key_id == "k/v2");
    CHECK(rig.audit_events() == Strings{"unlock", "rotation-started", "rotation-committed"});
    const auto lines = rig.audit_lines();
    CHECK(lines[1].at("trigger") == "automatic: new key version k/v2");
    CHECK(lines[2].at("toVersionedKeyId") == "k/v2");
    CHECK(rig.keys_installed());
    CHECK(rig.status().rotation_error.empty());

    SECTION("a failed version check is reported, the volume stays on its version") {
        rig.provider->fail_check(true);
        rig.custodian->check();
        CHECK(rig.status().rotation_error.find("check failed") != std::string::npos);
        CHECK_FALSE(rig.status().locked);  // the unwrap itself succeeded
        rig.provider->fail_check(false);
        rig.custodian->check();
        CHECK(rig.status().rotation_error.empty());
    }
}

TEST_CASE("a versioned key id is never rotated by a check", "[custody][rotation]") {
    CustodyRig rig("k/v1");
    REQUIRE(rig.custodian->unlock_at_mount(false));
    rig.provider->set_latest_version(2);
    rig.custodian->check();
    CHECK(rig.volume->header().versioned_key_id == "k/v1");
    CHECK_FALSE(rig.status().last_rotation_check);
}

TEST_CASE("the operator's rotation re-wraps the unlocked key; refused while locked with the lock's class",
          "[custody][rotation]") {
    CustodyRig rig("k/v1");
    REQUIRE(rig.custodian->unlock_at_mount(false));
    cmkfs::store::RotationRequest request;
    request.key_id = "k2/v1";
    SECTION("unlocked: rotated, audited as the operator's, and checked under the new key from then on") {
        const auto after = rig.custodian->rotate_key(request);
        CHECK(after.versioned_key_id == "k2/v1");
        CHECK(rig.audit_lines().back().at("trigger") == "operator");
        rig.take_events();
        rig.custodian->check();
        CHECK(rig.take_events().back() == "second:state:unlocked:k2/v1");
        CHECK(rig.keys_installed());
    }
    SECTION("revoked: a denial (exit 6)") {
        rig.provider->answer(keys::ProviderStatus::denied);
        rig.custodian->check();
        try {
            rig.custodian->rotate_key(request);
            FAIL("rotated while locked");
        } catch (const keys::ProviderError &e) {
            CHECK(e.status() == keys::ProviderStatus::denied);
        }
    }
    SECTION("past the grace of an outage: unavailable (exit 7)") {
        rig.provider->answer(keys::ProviderStatus::unavailable);
        rig.custodian->check();
        rig.clock.advance(301s);
        rig.custodian->check();
        REQUIRE(rig.status().locked);
        try {
            rig.custodian->rotate_key(request);
            FAIL("rotated while locked");
        } catch (const keys::ProviderError &e) {
            CHECK(e.status() == keys::ProviderStatus::unavailable);
        }
    }
    SECTION("under an emergency lock: refused as locked") {
        rig.custodian->emergency_lock();
        CHECK_THROWS_AS(rig.custodian->rotate_key(request), cmkfs::LockedError);
    }
    CHECK(rig.volume->header().versioned_key_id != "k/v2");
}

TEST_CASE("re-reading the header at each check picks up a rotation made by another host", "[custody][rotation]") {
    CustodyRig rig("k/v1", {30s, 300s}, /*reread_header=*/true);
    REQUIRE(rig.custodian->unlock_at_mount(false));
    // Another host rotates the store on shared storage (its own Volume object).
    cmkfs::store::Volume elsewhere(rig.backing);
    const auto keys = elsewhere.unlock(*rig.provider);
    cmkfs::store::rewrap_volume_key(elsewhere, keys, *rig.provider, {"scripted", {}, "k3/v1", "id"});
    rig.take_events();
    rig.custodian->check();
    CHECK(rig.volume->header().versioned_key_id == "k3/v1");
    CHECK(rig.custodian->header().versioned_key_id == "k3/v1");  // what `encryption show` reports
    CHECK(rig.take_events().back() == "second:state:unlocked:k3/v1");
    CHECK(rig.keys_installed());
}

TEST_CASE("re-reading the header at each check refuses a header that wraps another volume key", "[custody][rotation]") {
    CustodyRig rig("k/v1", {30s, 300s}, /*reread_header=*/true);
    REQUIRE(rig.custodian->unlock_at_mount(false));
    // The attacker writes a valid header of another store (its MAC verifies
    // under its own volume key, unwrapped by the same provider) over this one.
    const std::string other = rig.dir / "other";
    std::filesystem::create_directory(other);
    cmkfs::store::InitOptions init;
    init.provider = "scripted";
    init.key_id = "k3/v1";
    init.identity = "id";
    (void)cmkfs::store::init_volume(other, *rig.provider, init);
    std::filesystem::copy_file(other + "/.cmkfs.volume", rig.backing + "/.cmkfs.volume",
                               std::filesystem::copy_options::overwrite_existing);
    rig.take_events();
    rig.custodian->check();
    CHECK(rig.volume->header().versioned_key_id == "k/v1");  // stays on its own header
    CHECK(rig.custodian->header().versioned_key_id == "k/v1");
    CHECK_FALSE(rig.custodian->locked());
    CHECK(rig.keys_installed());
    CHECK(rig.audit_events().back() == "header-refused");
}
