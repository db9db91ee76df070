// File layout (docs/FORMAT.md "File contents"): the size mapping between
// plaintext and backing files, and the 24-byte file header.
#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <vector>

#include "format/file_layout.h"

namespace format = cmkfs::format;
using format::cipher_size_for;
using format::plain_size_for;

namespace {
constexpr uint64_t kHeader = 24;
constexpr uint64_t kBlock = 4096;
constexpr uint64_t kCipherBlock = 4096 + 12 + 16;
constexpr uint64_t kGiB = uint64_t{1} << 30;
}  // namespace

TEST_CASE("layout constants are those of format versions 1, 2 and 3", "[format][layout]") {
    STATIC_REQUIRE(format::kFormatVersion == 3);
    STATIC_REQUIRE(format::kOldestFormatVersion == 1);
    STATIC_REQUIRE(format::kFileHeaderSize == kHeader);
    STATIC_REQUIRE(format::kBlockPlainSize == kBlock);
    STATIC_REQUIRE(format::kBlockCipherSize == kCipherBlock);
    STATIC_REQUIRE(format::kBlockOverhead == 28);
    STATIC_REQUIRE(format::kFileIdSize == 16);
    STATIC_REQUIRE(format::kDirIdSize == 16);
    STATIC_REQUIRE(format::kMaxDirectNameLength == 255);
}

TEST_CASE("cipher_size_for maps known plaintext sizes", "[format][layout]") {
    CHECK(cipher_size_for(0) == 0);  // an empty file has no header
    CHECK(cipher_size_for(1) == kHeader + 1 + 28);
    CHECK(cipher_size_for(4095) == kHeader + 4095 + 28);
    CHECK(cipher_size_for(4096) == kHeader + kCipherBlock);
    CHECK(cipher_size_for(4097) == kHeader + kCipherBlock + 1 + 28);
    CHECK(cipher_size_for(2 * kBlock) == kHeader + 2 * kCipherBlock);
    CHECK(cipher_size_for(5 * kGiB) == kHeader + (5 * kGiB / kBlock) * kCipherBlock);
    CHECK(cipher_size_for(5 * kGiB + 7) == kHeader + (5 * kGiB / kBlock) * kCipherBlock + 7 + 28);
}

TEST_CASE("plain_size_for inverts cipher_size_for", "[format][layout]") {
    std::vector<uint64_t> sizes = {0, 1, 2, 27, 28, 29, 4095, 4096, 4097, 8191, 8192, 8193,
                                   1 << 20, (1 << 20) + 1, 3 * kGiB, 3 * kGiB + 4095,
                                   5 * kGiB, 5 * kGiB + 1, uint64_t{1} << 44};
    for (uint64_t plain = 0; plain < 3 * kBlock + 64; ++plain) sizes.push_back(plain);
    for (uint64_t plain : sizes) {
        INFO("plain size " << plain);
        auto back = plain_size_for(cipher_size_for(plain));
        CHECK(back.size == plain);
        CHECK_FALSE(back.torn_tail);
    }
}

TEST_CASE("every backing size is either a valid file or a torn tail", "[format][layout]") {
    uint64_t previous = 0;
    for (uint64_t backing = 0; backing < kHeader + 3 * kCipherBlock + 64; ++backing) {
        INFO("backing size " << backing);
        auto p = plain_size_for(backing);
        // Header only (24 bytes) is the one non-canonical valid size: empty.
        if (!p.torn_tail && backing != kHeader) CHECK(cipher_size_for(p.size) == backing);
        CHECK(p.size >= previous);  // monotonic
        previous = p.size;
    }
}

TEST_CASE("torn tails: truncated inside the header or a block's nonce/tag", "[format][layout]") {
    for (uint64_t n = 1; n < kHeader; ++n) {
        INFO("backing size " << n);
        CHECK(plain_size_for(n).torn_tail);
        CHECK(plain_size_for(n).size == 0);
    }
    CHECK_FALSE(plain_size_for(kHeader).torn_tail);  // header only: an empty body
    CHECK(plain_size_for(kHeader).size == 0);
    for (uint64_t extra = 1; extra <= 28; ++extra) {
        INFO("extra " << extra);
        CHECK(plain_size_for(kHeader + extra).torn_tail);
        CHECK(plain_size_for(kHeader + kCipherBlock + extra).torn_tail);
        CHECK(plain_size_for(kHeader + kCipherBlock + extra).size == kBlock);
        CHECK(plain_size_for(kHeader + 5 * kGiB / kBlock * kCipherBlock + extra).torn_tail);
    }
    CHECK(plain_size_for(kHeader + 29).size == 1);
    CHECK_FALSE(plain_size_for(kHeader + 29).torn_tail);
    CHECK(plain_size_for(kHeader + kCipherBlock + 29).size == kBlock + 1);
    CHECK_FALSE(plain_size_for(kHeader + kCipherBlock + 29).torn_tail);
}

TEST_CASE("block positions", "[format][layout]") {
    CHECK(format::block_index(0) == 0);
    CHECK(format::block_index(4095) == 0);
    CHECK(format::block_index(4096) == 1);
    CHECK(format::block_index(5 * kGiB) == 5 * kGiB / kBlock);
    CHECK(format::block_cipher_offset(0) == kHeader);
    CHECK(format::block_cipher_offset(1) == kHeader + kCipherBlock);
    CHECK(format::block_cipher_offset(1000) == kHeader + 1000 * kCipherBlock);
}

TEST_CASE("file header encodes magic, version, reserved and file id", "[format][layout]") {
    format::FileHeader h;
    for (size_t i = 0; i < h.id.size(); ++i) h.id[i] = static_cast<uint8_t>(0xa0 + i);
    auto bytes = h.encode();
    REQUIRE(bytes.size() == kHeader);
    CHECK(bytes[0] == 'C');
    CHECK(bytes[1] == 'M');
    CHECK(bytes[2] == 'K');
    CHECK(bytes[3] == 'F');
    CHECK(bytes[4] == 0);  // version 1, big endian
    CHECK(bytes[5] == 1);
    CHECK(bytes[6] == 0);  // reserved
    CHECK(bytes[7] == 0);
    for (size_t i = 0; i < 16; ++i) CHECK(bytes[8 + i] == h.id[i]);

    auto decoded = format::FileHeader::decode(bytes);
    REQUIRE(decoded);
    CHECK(decoded->id == h.id);
}

TEST_CASE("file header decode rejects bad magic, version and short input", "[format][layout]") {
    const auto good = format::FileHeader::random().encode();
    for (size_t i = 0; i < 4; ++i) {
        auto bad = good;
        bad[i] ^= 0x20;
        INFO("magic byte " << i);
        CHECK_FALSE(format::FileHeader::decode(bad));
    }
    for (uint16_t version : {0, 2, 0x0100, 0xffff}) {
        auto bad = good;
        bad[4] = static_cast<uint8_t>(version >> 8);
        bad[5] = static_cast<uint8_t>(version & 0xff);
        INFO("version " << version);
        CHECK_FALSE(format::FileHeader::decode(bad));
    }
    CHECK_FALSE(format::FileHeader::decode(std::span(good).first(kHeader - 1)));
    CHECK_FALSE(format::FileHeader::decode({}));
    // Readers ignore the reserved bytes (writers set them to zero); the file
    // id is what the block AAD and the content key bind to.
    auto reserved = good;
    reserved[6] = 0xff;
    CHECK(format::FileHeader::decode(reserved));
}

TEST_CASE("random file headers have distinct ids", "[format][layout]") {
    auto a = format::FileHeader::random();
    auto b = format::FileHeader::random();
    CHECK(a.id != b.id);
}
