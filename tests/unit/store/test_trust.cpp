// store/trust.h on plain temporary directories: the key commitment, the
// check every unwrap makes (Volume::unlock, which the daemon's key monitor
// calls at each periodic check), the header/binding comparison, and the
// binding kept in step with a rotation. The registry is the test process's own
// (tests/support/catch_main.cpp sets CMKFS_VOLUMES_DIR).
#include <catch2/catch.hpp>

#include <algorithm>

#include "config/binding.h"
#include "store/rotation.h"
#include "store/trust.h"
#include "store/volume.h"
#include "support/process.h"
#include "unit/store/reversing_provider.h"

namespace store = cmkfs::store;
namespace keys = cmkfs::keys;
namespace format = cmkfs::format;

namespace {

using cmkfs::test::ReversingProvider;

store::InitResult make_store(const std::string &dir, keys::KeyProvider &provider) {
    store::InitOptions init;
    init.provider = "reversing";
    init.key_id = "kek";
    init.identity = "id";
    return store::init_volume(dir, provider, init);
}

}  // namespace

TEST_CASE("the key commitment is a one-way value of the volume key and the volume id", "[trust]") {
    cmkfs::test::TempDir dir;
    ReversingProvider provider;
    const auto made = make_store(dir.path(), provider);
    store::Volume volume(dir.path());
    const auto keys = volume.unlock(provider);
    CHECK(made.key_commitment == store::key_commitment(keys.volume_key(), made.header.volume_id));
    CHECK(made.key_commitment.size() == 64);
    CHECK(made.key_commitment.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(store::key_commitment(keys.volume_key(), std::string(32, '0')) != made.key_commitment);
    const cmkfs::crypto::VolumeKey other = format::generate_volume_key();
    CHECK(store::key_commitment(other, made.header.volume_id) != made.key_commitment);
}

TEST_CASE("every unwrap of an anchored volume must reproduce the commitment", "[trust]") {
    cmkfs::test::TempDir dir;
    ReversingProvider provider;
    const auto made = make_store(dir.path(), provider);
    store::Volume volume(dir.path());
    store::TrustAnchor anchor;
    SECTION("the right commitment") {
        anchor.key_commitment = made.key_commitment;
        volume.set_trust_anchor(anchor);
        CHECK_NOTHROW(volume.unlock(provider));
    }
    SECTION("another key's commitment: refused, as at a periodic key check") {
        anchor.key_commitment = std::string(64, 'a');
        volume.set_trust_anchor(anchor);
        CHECK_THROWS_AS(volume.unlock(provider), store::TrustError);
        CHECK_THROWS_WITH(volume.unlock(provider), Catch::Contains("not the one this host's binding commits to"));
    }
    SECTION("the pending commitment of a re-encryption is accepted too") {
        anchor.key_commitment = std::string(64, 'a');
        anchor.pending_key_commitment = made.key_commitment;
        volume.set_trust_anchor(anchor);
        CHECK_NOTHROW(volume.unlock(provider));
    }
}

TEST_CASE("header and binding differences are listed field by field, values escaped", "[trust]") {
    format::VolumeHeader header;
    header.volume_id = std::string(32, 'a');
    header.provider = "exec";
    header.provider_options = {{"program", "/bin/sh"}, {"vault", "/v"}};
    header.key_id = header.versioned_key_id = "k";
    header.identity = "id\x1b[2J";
    auto binding = store::binding_from_header(header, std::string(64, 'c'));
    CHECK(store::header_binding_differences(header, binding).empty());
    binding.provider = "local";
    binding.provider_options = {{"vault", "/v"}};
    binding.identity = "id";
    const auto diffs = store::header_binding_differences(header, binding);
    REQUIRE(diffs.size() == 3);
    CHECK(diffs[0] == "provider: header says 'exec', binding says 'local'");
    CHECK(diffs[1] == "provider_options.program: header says '/bin/sh', binding says (unset)");
    CHECK(diffs[2] == "identity: header says 'id\\x1b[2J', binding says 'id'");
    CHECK_THROWS_AS(store::require_header_matches(header, binding, "h"), store::TrustError);
}

TEST_CASE("a version of a key is KEY/VERSION, one segment", "[trust]") {
    CHECK(store::is_version_of("local:///v/keys/k/0123", "local:///v/keys/k"));
    CHECK(store::is_version_of("https://x.vault.azure.net/keys/k/abc", "https://x.vault.azure.net/keys/k"));
    CHECK_FALSE(store::is_version_of("local:///v/keys/k", "local:///v/keys/k"));
    CHECK_FALSE(store::is_version_of("local:///v/keys/k2/0123", "local:///v/keys/k"));
    CHECK_FALSE(store::is_version_of("local:///v/keys/k/a/b", "local:///v/keys/k"));
    CHECK_FALSE(store::is_version_of("local:///v/keys/k/..", "local:///v/keys/k"));
    CHECK_FALSE(store::is_version_of("https://evil/keys/k/1", "https://x.vault.azure.net/keys/k"));
}

TEST_CASE("a rotation of an anchored volume updates its binding, commitment unchanged", "[trust][rotation]") {
    cmkfs::test::TempDir dir;
    ReversingProvider provider;
    const auto made = make_store(dir.path(), provider);
    cmkfs::config::save_binding(store::binding_from_header(made.header, made.key_commitment));
    store::Volume volume(dir.path());
    auto bound = cmkfs::config::load_binding(made.header.volume_id);
    REQUIRE(bound.has_value());
    volume.set_trust_anchor(store::anchor_for(*bound));
    const auto keys = volume.unlock(provider);

    store::rewrap_volume_key(volume, keys, provider, {"reversing", {}, "kek2", "id2"});
    const auto after = cmkfs::config::load_binding(made.header.volume_id);
    REQUIRE(after.has_value());
    CHECK(after->key_id == "kek2");
    CHECK(after->versioned_key_id == "kek2/v1");
    CHECK(after->identity == "id2");
    CHECK(after->key_commitment == made.key_commitment);
    CHECK_FALSE(after->rotating.has_value());
    CHECK_NOTHROW(volume.unlock(provider));
    volume.reload_header();  // the header on disk matches the updated binding
}
