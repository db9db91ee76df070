// Key rotation in the store layer (store/rotation.h) on a plain temporary
// directory: which settings the new header records, secrets kept out of it,
// and the verify step, which refuses a wrapping that does not give the volume
// key back. The provider here is an in-process one whose unwrap can be told
// to misbehave, a failure no honest provider produces on purpose.
#include <catch2/catch.hpp>

#include <algorithm>

#include "crypto/kdf.h"
#include "store/rotation.h"
#include "store/volume.h"
#include "support/process.h"
#include "unit/store/reversing_provider.h"
#include "util/errors.h"
#include "util/file_io.h"

namespace store = cmkfs::store;
namespace keys = cmkfs::keys;
namespace format = cmkfs::format;

namespace {

using cmkfs::test::ReversingProvider;

format::VolumeHeader current_header() {
    format::VolumeHeader h;
    h.provider = "local";
    h.provider_options = {{"vault", "/var/lib/cmkfs/vault"}};
    h.key_id = "local:///var/lib/cmkfs/vault/keys/k";
    h.versioned_key_id = h.key_id + "/1";
    h.identity = "registry-id";
    return h;
}

}  // namespace

TEST_CASE("a rotation target keeps what the request leaves out, options as a whole", "[rotation]") {
    const auto h = current_header();
    store::RotationRequest r;
    r.key_id = "local:///var/lib/cmkfs/vault/keys/k2";
    auto t = store::resolve_rotation_target(h, r);
    CHECK(t.provider == "local");
    CHECK(t.provider_options == h.provider_options);
    CHECK(t.identity == "registry-id");
    CHECK(t.key_id == r.key_id);
    CHECK(store::same_provider(h, t));

    r.provider = "pkcs11";  // another provider: the old options do not carry over
    t = store::resolve_rotation_target(h, r);
    CHECK(t.provider_options.empty());
    CHECK_FALSE(store::same_provider(h, t));

    r.provider.reset();
    r.provider_options = std::map<std::string, std::string>{{"vault", "/srv/vault2"}};
    r.identity = "other-id";
    t = store::resolve_rotation_target(h, r);
    CHECK(t.provider_options == std::map<std::string, std::string>{{"vault", "/srv/vault2"}});
    CHECK(t.identity == "other-id");
    CHECK_FALSE(store::same_provider(h, t));

    r.key_id.clear();
    CHECK_THROWS_AS(store::resolve_rotation_target(h, r), cmkfs::UsageError);
}

TEST_CASE("options holding secrets are refused, options naming where a secret is are fine", "[rotation]") {
    for (const char *bad : {"pin", "PIN", "password", "client_secret", "api_key", "user_pin", "token"}) {
        INFO(bad);
        CHECK_THROWS_AS(store::refuse_secret_options({{bad, "x"}}), cmkfs::UsageError);
    }
    for (const char *good : {"pin_file", "pin_env", "module", "vault", "token_path", "tenant", "client_id"}) {
        INFO(good);
        CHECK_NOTHROW(store::refuse_secret_options({{good, "x"}}));
    }
    try {
        store::refuse_secret_options({{"pin", "123456"}});
        FAIL("not refused");
    } catch (const cmkfs::UsageError &e) {
        CHECK(std::string(e.what()).find("123456") == std::string::npos);
        CHECK(std::string(e.what()).find("pin_file=") != std::string::npos);
    }
}

TEST_CASE("rewrap records the new key and proves it opens before writing", "[rotation]") {
    cmkfs::test::TempDir dir;
    ReversingProvider provider;
    store::InitOptions init;
    init.provider = "reversing";
    init.key_id = "old";
    init.identity = "id";
    store::init_volume(dir.path(), provider, init);
    store::Volume volume(dir.path());
    const auto keys = volume.unlock(provider);
    const std::string before = cmkfs::read_text_file(volume.header_path());

    const store::RotationTarget target{"reversing", {}, "new", "id2"};
    SECTION("a provider that does not give the key back: refused, header untouched") {
        provider.corrupt_unwrap = true;
        CHECK_THROWS_WITH(store::rewrap_volume_key(volume, keys, provider, target),
                          Catch::Contains("did not return the volume key"));
        CHECK(cmkfs::read_text_file(volume.header_path()) == before);
        CHECK(volume.header().versioned_key_id == "old/v1");
    }
    SECTION("success: new key, identity and timestamp; the same volume key opens it") {
        auto after = store::rewrap_volume_key(volume, keys, provider, target);
        CHECK(after.key_id == "new");
        CHECK(after.versioned_key_id == "new/v1");
        CHECK(after.identity == "id2");
        CHECK_FALSE(after.last_rotation.empty());
        store::Volume reopened(dir.path());
        CHECK(reopened.header().versioned_key_id == "new/v1");
        auto again = reopened.unlock(provider);  // verifies the MAC
        CHECK(cmkfs::crypto::equal_ct(again.volume_key().bytes(), keys.volume_key().bytes()));
    }
}
