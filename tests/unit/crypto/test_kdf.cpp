// Known-answer tests for HKDF-SHA256, HMAC-SHA256 and SHA-256 (crypto/kdf.h).
#include <catch2/catch.hpp>

#include "crypto/kdf.h"
#include "unit/crypto/hex.h"

namespace crypto = cmkfs::crypto;
using cmkfs::test::byte_range;
using cmkfs::test::Bytes;
using cmkfs::test::hex;
using cmkfs::test::unhex;

TEST_CASE("HKDF-SHA256 matches RFC 5869 test cases 1-3", "[kdf][hkdf]") {
    SECTION("case 1: basic") {
        const Bytes ikm(22, 0x0b);
        auto okm = crypto::hkdf_sha256(ikm, byte_range(0x00, 0x0d), byte_range(0xf0, 0xfa), 42);
        CHECK(hex(okm.span()) ==
              "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
              "34007208d5b887185865");
    }
    SECTION("case 2: long inputs") {
        auto okm = crypto::hkdf_sha256(byte_range(0x00, 0x50), byte_range(0x60, 0xb0),
                                       byte_range(0xb0, 0x100), 82);
        CHECK(hex(okm.span()) ==
              "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
              "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
              "cc30c58179ec3e87c14c01d5c1f3434f1d87");
    }
    SECTION("case 3: empty salt and info") {
        const Bytes ikm(22, 0x0b);
        auto okm = crypto::hkdf_sha256(ikm, {}, {}, 42);
        CHECK(hex(okm.span()) ==
              "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
              "9d201395faa4b61a96c8");
    }
}

TEST_CASE("HKDF-SHA256 output depends on every input", "[kdf][hkdf]") {
    const Bytes ikm(32, 0x42), salt(16, 0x01);
    const auto base = crypto::hkdf_sha256(ikm, salt, crypto::as_bytes("content"), 32);
    REQUIRE(base.size() == 32);
    Bytes ikm2 = ikm;
    ikm2[31] ^= 1;
    Bytes salt2 = salt;
    salt2[0] ^= 1;
    CHECK(hex(crypto::hkdf_sha256(ikm2, salt, crypto::as_bytes("content"), 32).span()) != hex(base.span()));
    CHECK(hex(crypto::hkdf_sha256(ikm, salt2, crypto::as_bytes("content"), 32).span()) != hex(base.span()));
    CHECK(hex(crypto::hkdf_sha256(ikm, salt, crypto::as_bytes("names"), 32).span()) != hex(base.span()));
    // A longer output extends the shorter one (T(1) || T(2) ...).
    const auto longer = crypto::hkdf_sha256(ikm, salt, crypto::as_bytes("content"), 64);
    CHECK(hex(longer.span()).substr(0, 64) == hex(base.span()));
}

TEST_CASE("HMAC-SHA256 matches RFC 4231 test cases 1 and 2", "[kdf][hmac]") {
    SECTION("case 1") {
        CHECK(hex(crypto::hmac_sha256(Bytes(20, 0x0b), crypto::as_bytes("Hi There"))) ==
              "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    }
    SECTION("case 2: key shorter than the block") {
        CHECK(hex(crypto::hmac_sha256(crypto::as_bytes("Jefe"),
                                      crypto::as_bytes("what do ya want for nothing?"))) ==
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }
}

TEST_CASE("SHA-256 matches FIPS 180-2 examples", "[kdf][sha256]") {
    CHECK(hex(crypto::sha256(crypto::as_bytes("abc"))) ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(hex(crypto::sha256({})) ==
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("equal_ct compares contents and sizes", "[kdf]") {
    const Bytes a = unhex("00112233"), b = unhex("00112233"), c = unhex("00112234");
    CHECK(crypto::equal_ct(a, b));
    CHECK_FALSE(crypto::equal_ct(a, c));
    CHECK_FALSE(crypto::equal_ct(a, Bytes(a.begin(), a.end() - 1)));
    CHECK(crypto::equal_ct(Bytes{}, Bytes{}));
}
