// Content blocks (format/block_codec.h): nonce || AES-256-GCM || tag with
// AAD = file id || u64 BE block index (|| u8 last, format 2); an all-zero
// block is a hole, except a format-2 final block.
#include <catch2/catch.hpp>

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "crypto/random.h"
#include "format/block_codec.h"
#include "support/test_seed.h"
#include "unit/format/format_test_util.h"
#include "support/random_bytes.h"

namespace format = cmkfs::format;
using Bytes = std::vector<uint8_t>;

namespace {

struct Fixture {
    format::VolumeKeys keys = cmkfs::test::random_volume_keys();
    format::FileId id = format::FileHeader::random().id;
    cmkfs::crypto::ContentKey key = keys.content_key(id);
    format::BlockCodec codec{key, id, 2};

    Bytes seal(uint64_t index, const Bytes &plain, bool last = false) {
        Bytes out(plain.size() + format::kBlockOverhead);
        codec.seal(index, last, plain, out);
        return out;
    }
};

}  // namespace

TEST_CASE("block seal/open round trips for every block length class", "[format][block]") {
    Fixture f;
    for (size_t len : {size_t{1}, size_t{17}, size_t{4095}, size_t{4096}}) {
        INFO("length " << len);
        Bytes plain = cmkfs::test::random_bytes<Bytes>(len, len);
        Bytes cipher = f.seal(7, plain);
        REQUIRE(cipher.size() == len + 28);
        Bytes back(len);
        CHECK(f.codec.open(7, false, cipher, back) == format::BlockOpen::ok);
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
    Bytes plain = cmkfs::test::random_bytes<Bytes>(300, 1);
    Bytes cipher = f.seal(5, plain);
    Bytes out(plain.size());

    CHECK(f.codec.open(4, false, cipher, out) == format::BlockOpen::bad);
    CHECK(f.codec.open(6, false, cipher, out) == format::BlockOpen::bad);
    CHECK(f.codec.open(5 + (uint64_t{1} << 32), false, cipher, out) == format::BlockOpen::bad);

    // Another file id under the same volume: other key and other AAD.
    format::FileId other_id = f.id;
    other_id[0] ^= 1;
    auto other_key = f.keys.content_key(other_id);
    CHECK(format::BlockCodec(other_key, other_id, 2).open(5, false, cipher, out) == format::BlockOpen::bad);
    // Same key, other id in the AAD only.
    CHECK(format::BlockCodec(f.key, other_id, 2).open(5, false, cipher, out) == format::BlockOpen::bad);

    for (size_t pos = 0; pos < cipher.size(); ++pos) {
        for (uint8_t bit : {uint8_t{0x01}, uint8_t{0x80}}) {
            Bytes bad = cipher;
            bad[pos] ^= bit;
            INFO("flipped byte " << pos);
            CHECK(f.codec.open(5, false, bad, out) == format::BlockOpen::bad);
        }
    }
    REQUIRE(f.codec.open(5, false, cipher, out) == format::BlockOpen::ok);
    CHECK(out == plain);
}

TEST_CASE("a failed open leaves no plaintext behind", "[format][block]") {
    Fixture f;
    Bytes plain(4096, 0x5a);
    Bytes cipher = f.seal(0, plain);
    cipher[100] ^= 1;
    Bytes out(4096);
    REQUIRE(f.codec.open(0, false, cipher, out) == format::BlockOpen::bad);
    CHECK(std::count(out.begin(), out.end(), 0x5a) < 64);
}

TEST_CASE("an all-zero block is a hole and reads as zeros", "[format][block]") {
    Fixture f;
    for (size_t len : {size_t{1}, size_t{4096}}) {
        Bytes zeros(len + format::kBlockOverhead, 0);
        Bytes out(len, 0xaa);
        CHECK(f.codec.open(0, false, zeros, out) == format::BlockOpen::hole);
        CHECK(std::all_of(out.begin(), out.end(), [](uint8_t b) { return b == 0; }));
    }
    // Almost zero is not a hole.
    Bytes nearly(4096 + format::kBlockOverhead, 0);
    nearly.back() = 1;
    Bytes out(4096);
    CHECK(f.codec.open(0, false, nearly, out) == format::BlockOpen::bad);
}

TEST_CASE("block codec refuses inconsistent sizes", "[format][block]") {
    Fixture f;
    Bytes plain(10);
    Bytes small(10 + format::kBlockOverhead - 1);
    CHECK_THROWS_AS(f.codec.seal(0, false, plain, small), std::invalid_argument);
    Bytes huge_plain(4097);
    Bytes huge_out(4097 + format::kBlockOverhead);
    CHECK_THROWS_AS(f.codec.seal(0, false, huge_plain, huge_out), std::invalid_argument);
    Bytes out(10);
    CHECK_THROWS_AS(f.codec.open(0, false, small, out), std::invalid_argument);
}

TEST_CASE("format 2: the last-block flag is authenticated", "[format][block]") {
    Fixture f;
    Bytes plain = cmkfs::test::random_bytes<Bytes>(4096, 2);
    Bytes out(plain.size());
    Bytes last = f.seal(3, plain, /*last=*/true);
    Bytes middle = f.seal(3, plain, /*last=*/false);
    CHECK(f.codec.open(3, true, last, out) == format::BlockOpen::ok);
    CHECK(f.codec.open(3, false, middle, out) == format::BlockOpen::ok);
    // A file cut after block 3 opens block 3 as final: sealed as not final, it fails.
    CHECK(f.codec.open(3, true, middle, out) == format::BlockOpen::bad);
    // A block sealed as final before a later one opens (a crash may have lost
    // its re-seal when the file grew); the final block itself is still checked.
    CHECK(f.codec.open(3, false, last, out) == format::BlockOpen::ok);
    CHECK(out == plain);
    // At another index it fails either way.
    CHECK(f.codec.open(4, false, last, out) == format::BlockOpen::bad);
    CHECK(f.codec.open(4, true, last, out) == format::BlockOpen::bad);
}

TEST_CASE("format 2: a final block is never a hole; format 1 allows it", "[format][block]") {
    Fixture f;
    Bytes zeros(100 + format::kBlockOverhead, 0);
    Bytes out(100);
    CHECK(f.codec.open(2, false, zeros, out) == format::BlockOpen::hole);
    CHECK(f.codec.open(2, true, zeros, out) == format::BlockOpen::bad);
    format::BlockCodec v1(f.key, f.id, 1);
    CHECK(v1.open(2, true, zeros, out) == format::BlockOpen::hole);
}

TEST_CASE("format 1 ignores the last flag; versions do not open each other's blocks", "[format][block]") {
    Fixture f;
    format::BlockCodec v1(f.key, f.id, 1);
    Bytes plain = cmkfs::test::random_bytes<Bytes>(500, 3);
    Bytes sealed(plain.size() + format::kBlockOverhead);
    v1.seal(4, true, plain, sealed);
    Bytes out(plain.size());
    CHECK(v1.open(4, false, sealed, out) == format::BlockOpen::ok);
    CHECK(out == plain);
    CHECK(f.codec.open(4, false, sealed, out) == format::BlockOpen::bad);  // neither flag opens a format-1 block
    CHECK(f.codec.open(4, true, sealed, out) == format::BlockOpen::bad);
    CHECK(v1.open(4, true, f.seal(4, plain, true), out) == format::BlockOpen::bad);
}

TEST_CASE("nonces drawn ahead are each used once, then each seal draws its own", "[format][block]") {
    Fixture f;
    const Bytes plain = cmkfs::test::random_bytes<Bytes>(4096, 4096);
    f.codec.draw_nonces(4);
    std::vector<Bytes> nonces;
    for (uint64_t i = 0; i < 7; ++i) {  // 4 from the batch, 3 past its end
        const Bytes cipher = f.seal(i, plain);
        nonces.emplace_back(cipher.begin(), cipher.begin() + 12);
        Bytes back(plain.size());
        CHECK(f.codec.open(i, false, cipher, back) == format::BlockOpen::ok);
        CHECK(back == plain);
    }
    std::sort(nonces.begin(), nonces.end());
    CHECK(std::adjacent_find(nonces.begin(), nonces.end()) == nonces.end());
    CHECK(std::none_of(nonces.begin(), nonces.end(), [](const Bytes &n) { return n == Bytes(12, 0); }));
}
