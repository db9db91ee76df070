// Content blocks (format/block_codec.h): nonce || AES-256-GCM || tag with
// AAD = file id || u64 BE block index; an all-zero block is a hole.
#include <catch2/catch.hpp>

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "crypto/random.h"
#include "format/block_codec.h"
#include "support/test_seed.h"
#include "unit/format/format_test_util.h"

namespace format = cmkfs::format;
using Bytes = std::vector<uint8_t>;

namespace {

struct Fixture {
    format::VolumeKeys keys = cmkfs::test::random_volume_keys();
    format::FileId id = format::FileHeader::random().id;
    cmkfs::crypto::ContentKey key = keys.content_key(id);
    format::BlockCodec codec{key, id};

    Bytes seal(uint64_t index, const Bytes &plain) {
        Bytes out(plain.size() + format::kBlockOverhead);
        codec.seal(index, plain, out);
        return out;
    }
};

Bytes random_plain(size_t n, uint64_t stream) {
    auto rng = cmkfs::test::rng(stream);
    Bytes out(n);
    for (auto &b : out) b = static_cast<uint8_t>(rng());
    return out;
}

}  // namespace

TEST_CASE("block seal/open round trips for every block length class", "[format][block]") {
    Fixture f;
    for (size_t len : {size_t{1}, size_t{17}, size_t{4095}, size_t{4096}}) {
        INFO("length " << len);
        Bytes plain = random_plain(len, len);
        Bytes cipher = f.seal(7, plain);
        REQUIRE(cipher.size() == len + 28);
        Bytes back(len);
        CHECK(f.codec.open(7, cipher, back) == format::BlockOpen::ok);
        CHECK(back == plain);
    }
}

TEST_CASE("every seal uses a fresh nonce", "[format][block]") {
    Fixture f;
    Bytes plain(4096, 0x42);
    Bytes a = f.seal(0, plain);
    Bytes b = f.seal(0, plain);
    CHECK_FALSE(std::equal(a.begin(), a.begin() + 12, b.begin()));
    CHECK(a != b);
}

TEST_CASE("a block opened at another index, in another file or edited is bad", "[format][block]") {
    Fixture f;
    Bytes plain = random_plain(300, 1);
    Bytes cipher = f.seal(5, plain);
    Bytes out(plain.size());

    CHECK(f.codec.open(4, cipher, out) == format::BlockOpen::bad);
    CHECK(f.codec.open(6, cipher, out) == format::BlockOpen::bad);
    CHECK(f.codec.open(5 + (uint64_t{1} << 32), cipher, out) == format::BlockOpen::bad);

    // Another file id under the same volume: other key and other AAD.
    format::FileId other_id = f.id;
    other_id[0] ^= 1;
    auto other_key = f.keys.content_key(other_id);
    CHECK(format::BlockCodec(other_key, other_id).open(5, cipher, out) == format::BlockOpen::bad);
    // Same key, other id in the AAD only.
    CHECK(format::BlockCodec(f.key, other_id).open(5, cipher, out) == format::BlockOpen::bad);

    for (size_t pos = 0; pos < cipher.size(); ++pos) {
        for (uint8_t bit : {uint8_t{0x01}, uint8_t{0x80}}) {
            Bytes bad = cipher;
            bad[pos] ^= bit;
            INFO("flipped byte " << pos);
            CHECK(f.codec.open(5, bad, out) == format::BlockOpen::bad);
        }
    }
    REQUIRE(f.codec.open(5, cipher, out) == format::BlockOpen::ok);
    CHECK(out == plain);
}

TEST_CASE("a failed open leaves no plaintext behind", "[format][block]") {
    Fixture f;
    Bytes plain(4096, 0x5a);
    Bytes cipher = f.seal(0, plain);
    cipher[100] ^= 1;
    Bytes out(4096);
    REQUIRE(f.codec.open(0, cipher, out) == format::BlockOpen::bad);
    CHECK(std::count(out.begin(), out.end(), 0x5a) < 64);
}

TEST_CASE("an all-zero block is a hole and reads as zeros", "[format][block]") {
    Fixture f;
    for (size_t len : {size_t{1}, size_t{4096}}) {
        Bytes zeros(len + format::kBlockOverhead, 0);
        Bytes out(len, 0xaa);
        CHECK(f.codec.open(0, zeros, out) == format::BlockOpen::hole);
        CHECK(std::all_of(out.begin(), out.end(), [](uint8_t b) { return b == 0; }));
    }
    // Almost zero is not a hole.
    Bytes nearly(4096 + format::kBlockOverhead, 0);
    nearly.back() = 1;
    Bytes out(4096);
    CHECK(f.codec.open(0, nearly, out) == format::BlockOpen::bad);
}

TEST_CASE("block codec refuses inconsistent sizes", "[format][block]") {
    Fixture f;
    Bytes plain(10);
    Bytes small(10 + format::kBlockOverhead - 1);
    CHECK_THROWS_AS(f.codec.seal(0, plain, small), std::invalid_argument);
    Bytes huge_plain(4097);
    Bytes huge_out(4097 + format::kBlockOverhead);
    CHECK_THROWS_AS(f.codec.seal(0, huge_plain, huge_out), std::invalid_argument);
    Bytes out(10);
    CHECK_THROWS_AS(f.codec.open(0, small, out), std::invalid_argument);
}
