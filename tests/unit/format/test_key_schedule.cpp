// Key schedule (format/key_schedule.h): every key derives from the volume key.
#include <catch2/catch.hpp>

#include <stdexcept>

#include "crypto/random.h"
#include "format/key_schedule.h"
#include "unit/format/format_test_util.h"

namespace format = cmkfs::format;
namespace crypto = cmkfs::crypto;

TEST_CASE("derived keys have their sizes and differ from each other", "[format][keys]") {
    auto keys = cmkfs::test::random_volume_keys();
    CHECK(keys.volume_key().size() == 32);
    CHECK(keys.header_mac().size() == 32);
    CHECK(keys.names().size() == 64);  // AES-256-SIV: two AES-256 keys
    CHECK(keys.meta().size() == 32);
    format::FileId a{}, b{};
    b[15] = 1;
    auto ka = keys.content_key(a);
    auto kb = keys.content_key(b);
    CHECK(ka.size() == 32);
    CHECK_FALSE(std::equal(ka.bytes().begin(), ka.bytes().end(), kb.bytes().begin()));
    CHECK_FALSE(std::equal(ka.bytes().begin(), ka.bytes().end(), keys.meta().bytes().begin()));
    CHECK_FALSE(std::equal(keys.header_mac().bytes().begin(), keys.header_mac().bytes().end(),
                           keys.meta().bytes().begin()));
    auto again = keys.content_key(a);
    CHECK(std::equal(ka.bytes().begin(), ka.bytes().end(), again.bytes().begin()));
}

TEST_CASE("volume keys are 32 random bytes", "[format][keys]") {
    auto a = format::generate_volume_key();
    auto b = format::generate_volume_key();
    REQUIRE(a.size() == format::kVolumeKeySize);
    CHECK_FALSE(std::equal(a.bytes().begin(), a.bytes().end(), b.bytes().begin()));
}

TEST_CASE("a volume key of the wrong size is refused", "[format][keys]") {
    CHECK_THROWS_AS(format::VolumeKeys(crypto::VolumeKey(crypto::SecureBytes(16))), std::invalid_argument);
    CHECK_THROWS_AS(format::VolumeKeys(crypto::VolumeKey(crypto::SecureBytes(33))), std::invalid_argument);
}
