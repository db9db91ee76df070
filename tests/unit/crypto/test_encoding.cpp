// base64url (no padding, canonical only) and hex (crypto/encoding.h).
#include <catch2/catch.hpp>

#include <string>

#include "crypto/encoding.h"
#include "support/test_seed.h"
#include "unit/crypto/hex.h"
#include "support/random_bytes.h"

namespace crypto = cmkfs::crypto;
using cmkfs::test::Bytes;

TEST_CASE("base64url encodes RFC 4648 examples without padding", "[encoding]") {
    auto enc = [](std::string_view s) { return crypto::base64url_encode(crypto::as_bytes(s)); };
    CHECK(enc("") == "");
    CHECK(enc("f") == "Zg");
    CHECK(enc("fo") == "Zm8");
    CHECK(enc("foo") == "Zm9v");
    CHECK(enc("foob") == "Zm9vYg");
    CHECK(enc("fooba") == "Zm9vYmE");
    CHECK(enc("foobar") == "Zm9vYmFy");
    // The URL alphabet: 62 -> '-', 63 -> '_' (never '+' or '/').
    CHECK(crypto::base64url_encode(Bytes{0xfb, 0xff}) == "-_8");
}

TEST_CASE("base64url round-trips random byte strings of length 0..300", "[encoding]") {
    auto rng = cmkfs::test::rng(301);
    for (size_t len = 0; len <= 300; ++len) {
        const Bytes data = cmkfs::test::random_bytes<Bytes>(rng, len);
        const std::string text = crypto::base64url_encode(data);
        INFO("length " << len << " text " << text);
        REQUIRE(text.size() == (len * 4 + 2) / 3);
        REQUIRE(text.find_first_not_of(
                    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
                std::string::npos);
        const auto back = crypto::base64url_decode(text);
        REQUIRE(back.has_value());
        REQUIRE(*back == data);
    }
}

TEST_CASE("base64url rejects non-canonical trailing bits", "[encoding]") {
    // "Zg" is canonical for "f"; "Zh".."Zv" carry non-zero unused low bits.
    CHECK(crypto::base64url_decode("Zg").has_value());
    CHECK_FALSE(crypto::base64url_decode("Zh").has_value());
    CHECK_FALSE(crypto::base64url_decode("Zv").has_value());
    // Three characters carry 18 bits for 2 bytes: the low 2 bits must be zero.
    CHECK(crypto::base64url_decode("Zm8").has_value());
    CHECK_FALSE(crypto::base64url_decode("Zm9").has_value());
    CHECK_FALSE(crypto::base64url_decode("Zm-").has_value());
    // Every byte string has exactly one encoding: changing the last character
    // of a one- or two-byte encoding either decodes to different bytes or is
    // rejected; it never decodes to the same bytes. Exhaustive for one byte,
    // sampled for two.
    const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    auto no_alias = [&](const Bytes &data) {
        const std::string text = crypto::base64url_encode(data);
        size_t accepted = 0;
        for (char last : alphabet) {
            std::string other = text;
            other.back() = last;
            if (other == text) continue;
            const auto decoded = crypto::base64url_decode(other);
            if (!decoded) continue;
            ++accepted;
            INFO("encoding " << text << " alias " << other);
            CHECK(*decoded != data);
        }
        return accepted;
    };
    for (int a = 0; a < 256; ++a)  // 2 of 6 bits carry data: 3 other canonical endings
        CHECK(no_alias(Bytes{static_cast<uint8_t>(a)}) == 3);
    for (int a = 0; a < 256; a += 7)  // 4 of 6 bits carry data: 15 other canonical endings
        CHECK(no_alias(Bytes{static_cast<uint8_t>(a), static_cast<uint8_t>(255 - a)}) == 15);
}

TEST_CASE("base64url rejects invalid characters, padding and impossible lengths", "[encoding]") {
    for (const char *bad : {"Zg==", "Zm8=", "Zg=", "Zm9v=", "Zm+v", "Zm/v", "Zm9 ", " Zm9",
                            "Zm.v", "Z\n9v", "Zm9v\xff", "Z"}) {
        INFO("input " << bad);
        CHECK_FALSE(crypto::base64url_decode(bad).has_value());
    }
    CHECK_FALSE(crypto::base64url_decode(std::string("Zm\0v", 4)).has_value());
    CHECK_FALSE(crypto::base64url_decode("Zm9vY").has_value());  // 5 chars: length % 4 == 1
    CHECK(crypto::base64url_decode("")->empty());
}

TEST_CASE("hex round-trips and rejects malformed input", "[encoding]") {
    auto rng = cmkfs::test::rng(302);
    const Bytes data = cmkfs::test::random_bytes<Bytes>(rng, 64);
    const std::string text = crypto::hex_encode(data);
    CHECK(text.size() == 128);
    CHECK(*crypto::hex_decode(text) == data);
    CHECK(*crypto::hex_decode("00ABff") == Bytes{0x00, 0xab, 0xff});
    CHECK_FALSE(crypto::hex_decode("abc").has_value());
    CHECK_FALSE(crypto::hex_decode("zz").has_value());
    CHECK_FALSE(crypto::hex_decode("0x").has_value());
}
