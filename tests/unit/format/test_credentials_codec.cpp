// The credentials file (format/credentials_codec.h, docs/FORMAT.md §7).
#include <catch2/catch.hpp>

#include "crypto/encoding.h"
#include "format/credentials_codec.h"
#include "unit/format/format_test_util.h"
#include "util/errors.h"

namespace format = cmkfs::format;
using cmkfs::IntegrityError;

namespace {
const std::string kVolumeId = "00112233445566778899aabbccddeeff";
const format::RegistryCredentials kSample = {
    {"127.0.0.1:5000", {"alice", "s3cret-password"}},
    {"https://index.docker.io/v1/", {"bob", "token with \"quotes\" and ünïcode"}},
};
}  // namespace

TEST_CASE("credentials key: HKDF-SHA256(volume key, no salt, \"cmkfs v1 credentials\")", "[format][credentials]") {
    // Computed independently (Python hmac/hashlib) for a volume key of 32 bytes 0x01.
    format::VolumeKeys keys(cmkfs::test::volume_key_filled(1));
    const auto key = keys.credentials_key();
    CHECK(cmkfs::crypto::hex_encode(key.bytes()) == "0945aac334e08cf8223f60002032e24360ea7da7a7be4ed4765a2fd806cda3d8");
}

TEST_CASE("credentials round-trip and hold no plaintext", "[format][credentials]") {
    auto keys = cmkfs::test::random_volume_keys();
    const auto sealed = format::seal_credentials(keys.credentials_key(), kVolumeId, kSample);
    const std::string bytes = cmkfs::test::as_string(sealed);
    CHECK(bytes.substr(0, 4) == "CMKC");
    CHECK(bytes.find("s3cret") == std::string::npos);
    CHECK(bytes.find("alice") == std::string::npos);
    CHECK(bytes.find("127.0.0.1") == std::string::npos);
    CHECK(format::open_credentials(keys.credentials_key(), kVolumeId, sealed) == kSample);
    // A fresh nonce each time.
    CHECK(format::seal_credentials(keys.credentials_key(), kVolumeId, kSample) != sealed);
    CHECK(format::open_credentials(keys.credentials_key(), kVolumeId,
                                   format::seal_credentials(keys.credentials_key(), kVolumeId, {}))
              .empty());
}

TEST_CASE("a tampered, truncated, foreign or wrongly keyed credentials file is refused", "[format][credentials]") {
    auto keys = cmkfs::test::random_volume_keys();
    const auto sealed = format::seal_credentials(keys.credentials_key(), kVolumeId, kSample);
    for (size_t i = 0; i < sealed.size(); i += 7) {
        auto bad = sealed;
        bad[i] ^= 0x20;
        INFO("byte " << i);
        CHECK_THROWS_AS(format::open_credentials(keys.credentials_key(), kVolumeId, bad), IntegrityError);
    }
    CHECK_THROWS_AS(format::open_credentials(keys.credentials_key(), kVolumeId,
                                             std::span(sealed).first(sealed.size() - 1)),
                    IntegrityError);
    CHECK_THROWS_AS(format::open_credentials(keys.credentials_key(), kVolumeId, std::span(sealed).first(10)),
                    IntegrityError);
    CHECK_THROWS_AS(format::open_credentials(keys.credentials_key(), "ffeeddccbbaa99887766554433221100", sealed),
                    IntegrityError);
    auto other = cmkfs::test::random_volume_keys();
    CHECK_THROWS_AS(format::open_credentials(other.credentials_key(), kVolumeId, sealed), IntegrityError);
}
