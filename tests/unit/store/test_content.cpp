// FileContent (store/content.h) on a plain temporary file: a randomized
// comparison against an in-memory model, and what the backing file looks like.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <random>
#include <vector>

#include "format/block_codec.h"
#include "format/file_layout.h"
#include "store/content.h"
#include "store/keyring.h"
#include "support/process.h"
#include "support/test_seed.h"
#include "util/errors.h"
#include "util/file_io.h"
#include "util/unique_fd.h"
#include "support/random_bytes.h"

namespace format = cmkfs::format;
namespace store = cmkfs::store;
using Bytes = std::vector<uint8_t>;

namespace {

constexpr uint64_t kBlock = format::kBlockPlainSize;

struct Fixture {
    cmkfs::test::TempDir dir;
    std::string path = dir / "file";
    cmkfs::UniqueFd fd{::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)};
    store::Keyring ring;
    uint32_t version;  // the store's format version
    explicit Fixture(uint32_t format_version = format::kFormatVersion) : version(format_version) {
        REQUIRE(fd);
        ring.unlock(format::VolumeKeys(format::generate_volume_key()));
    }

    uint64_t backing_size() const {
        struct stat st {};
        REQUIRE(::fstat(fd.get(), &st) == 0);
        return static_cast<uint64_t>(st.st_size);
    }
    Bytes backing() const {
        Bytes out(backing_size());
        REQUIRE(cmkfs::pread_full(fd.get(), out, 0) == out.size());
        return out;
    }
    void poke(uint64_t offset, const Bytes &bytes) { cmkfs::pwrite_full(fd.get(), bytes, static_cast<off_t>(offset)); }
};

Bytes read_all(store::FileContent &c) {
    Bytes out(c.size() + 10);
    out.resize(c.read(0, out));
    return out;
}

Bytes pattern(size_t n, uint8_t seed) {
    Bytes out(n);
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(seed + i * 31 + (i >> 8));
    return out;
}

// Offsets near block edges find most bugs; the rest are uniform.
uint64_t pick_offset(std::mt19937_64 &rng, uint64_t limit) {
    if (rng() % 3 == 0) {
        uint64_t edge = (rng() % (limit / kBlock + 2)) * kBlock;
        int64_t delta = static_cast<int64_t>(rng() % 5) - 2;
        return static_cast<uint64_t>(std::max<int64_t>(0, static_cast<int64_t>(edge) + delta));
    }
    return rng() % (limit + 1);
}

}  // namespace

TEST_CASE("random writes, reads and truncates match a model", "[store][content]") {
    Fixture f(GENERATE(1u, 2u));
    INFO("format version " << f.version);
    auto rng = cmkfs::test::rng(1);
    store::ContentState state;
    auto access = f.ring.access();
    Bytes model;
    constexpr uint64_t kLimit = 6 * kBlock;

    for (int step = 0; step < 600; ++step) {
        store::FileContent content(f.fd.get(), state, access, f.version, "model-file");
        const unsigned op = rng() % 10;
        if (op < 5) {
            const uint64_t offset = pick_offset(rng, kLimit);
            const size_t len = 1 + rng() % (rng() % 4 == 0 ? 3 * kBlock : 300);
            const Bytes data = cmkfs::test::random_bytes<Bytes>(rng, len);
            INFO("step " << step << ": write " << len << " at " << offset);
            content.write(offset, data);
            if (model.size() < offset + len) model.resize(offset + len, 0);
            std::copy(data.begin(), data.end(), model.begin() + static_cast<ptrdiff_t>(offset));
        } else if (op < 8) {
            const uint64_t offset = pick_offset(rng, model.size() + 100);
            Bytes out(1 + rng() % (2 * kBlock + 10), 0xee);
            INFO("step " << step << ": read " << out.size() << " at " << offset);
            const size_t n = content.read(offset, out);
            const size_t expected = offset >= model.size() ? 0 : std::min<size_t>(out.size(), model.size() - offset);
            REQUIRE(n == expected);
            CHECK(std::equal(out.begin(), out.begin() + static_cast<ptrdiff_t>(n),
                             model.begin() + static_cast<ptrdiff_t>(std::min<uint64_t>(offset, model.size()))));
        } else {
            uint64_t size = rng() % 8 == 0 ? 0 : pick_offset(rng, kLimit);
            INFO("step " << step << ": truncate to " << size);
            content.truncate(size);
            model.resize(size, 0);
        }
        INFO("after step " << step);
        REQUIRE(content.size() == model.size());
        // Format 2 keeps the header of an emptied file (its xattrs are bound to its id).
        const bool header_only = f.version >= 2 && model.empty() && f.backing_size() == format::kFileHeaderSize;
        REQUIRE((f.backing_size() == format::cipher_size_for(model.size()) || header_only));
        // Every block, the final one with its flag, authenticates after every step.
        REQUIRE(content.verify_all().empty());
    }

    // A fresh state (another open of the file) reads the same bytes and every block verifies.
    store::ContentState fresh;
    store::FileContent content(f.fd.get(), fresh, access, f.version, "model-file");
    CHECK(read_all(content) == model);
    CHECK(content.verify_all().empty());
}

TEST_CASE("an empty file has no backing bytes, not even a header (format 1)", "[store][content]") {
    Fixture f(1);
    store::ContentState state;
    auto access = f.ring.access();
    store::FileContent content(f.fd.get(), state, access, f.version);
    content.write(0, {});
    CHECK(f.backing_size() == 0);
    content.write(0, pattern(10, 1));
    CHECK(f.backing_size() == 24 + 10 + 28);
    content.truncate(0);
    CHECK(f.backing_size() == 0);
    CHECK(content.size() == 0);
    // A new file id is drawn for the next write.
    content.write(0, pattern(10, 2));
    CHECK(read_all(content) == pattern(10, 2));
}

TEST_CASE("format 2: truncating to 0 keeps the header and so the file id", "[store][content]") {
    Fixture f(2);
    store::ContentState state;
    auto access = f.ring.access();
    store::FileContent content(f.fd.get(), state, access, f.version);
    content.write(0, {});
    CHECK(f.backing_size() == 0);  // creating a file writes nothing yet
    const auto made = content.ensure_file_id();
    CHECK(content.file_id() == made);
    CHECK(f.backing_size() == 24);  // header only: reads as empty
    CHECK(content.size() == 0);
    const auto id = *content.file_id();
    content.write(0, pattern(10, 1));
    content.truncate(0);
    CHECK(f.backing_size() == 24);
    store::ContentState fresh;
    store::FileContent again(f.fd.get(), fresh, access, f.version);
    CHECK(again.file_id() == id);
    again.write(0, pattern(10, 2));
    CHECK(again.file_id() == id);
    CHECK(read_all(again) == pattern(10, 2));
}

TEST_CASE("the backing file is header then sealed blocks", "[store][content]") {
    Fixture f;
    store::ContentState state;
    auto access = f.ring.access();
    store::FileContent content(f.fd.get(), state, access, f.version);
    const Bytes data = pattern(2 * kBlock + 5, 3);
    content.write(0, data);
    Bytes raw = f.backing();
    REQUIRE(raw.size() == format::cipher_size_for(data.size()));
    auto header = format::FileHeader::decode(raw);
    REQUIRE(header);
    // Block i opens with the file's key at index i, as docs/FORMAT.md describes.
    auto key = access.content_key(header->id);
    format::BlockCodec codec(*key, header->id, f.version);
    Bytes plain(kBlock);
    REQUIRE(codec.open(1, false, std::span(raw).subspan(24 + 4124, 4124), plain) == format::BlockOpen::ok);
    CHECK(std::equal(plain.begin(), plain.end(), data.begin() + kBlock));
    // No plaintext run survives in the backing file.
    CHECK(std::search(raw.begin(), raw.end(), data.begin() + 100, data.begin() + 132) == raw.end());
}

TEST_CASE("writing past the end leaves a hole that reads as zeros", "[store][content]") {
    Fixture f;
    store::ContentState state;
    auto access = f.ring.access();
    store::FileContent content(f.fd.get(), state, access, f.version);
    content.write(0, pattern(100, 4));             // partial first block
    content.write(64 * kBlock + 10, pattern(7, 5));  // far beyond it
    Bytes all = read_all(content);
    REQUIRE(all.size() == 64 * kBlock + 17);
    CHECK(std::equal(all.begin(), all.begin() + 100, pattern(100, 4).begin()));
    CHECK(std::all_of(all.begin() + 100, all.begin() + 64 * kBlock + 10, [](uint8_t b) { return b == 0; }));
    CHECK(std::equal(all.begin() + 64 * kBlock + 10, all.end(), pattern(7, 5).begin()));
    CHECK(content.verify_all().empty());
    // Growing by truncate is a hole as well, but for the final block, which
    // format 2 writes out sealed (a file never ends in a hole there).
    content.truncate(70 * kBlock + 3);
    all = read_all(content);
    CHECK(all.size() == 70 * kBlock + 3);
    CHECK(std::all_of(all.begin() + 64 * kBlock + 17, all.end(), [](uint8_t b) { return b == 0; }));
    CHECK(content.verify_all().empty());
    // Blocks 66..69 stay holes (65 shares a filesystem block with the end of 64).
    const off_t data = ::lseek(f.fd.get(), static_cast<off_t>(format::block_cipher_offset(66)), SEEK_DATA);
    CHECK(data >= static_cast<off_t>(format::block_cipher_offset(69)));
    Bytes final_block(3 + format::kBlockOverhead);
    REQUIRE(cmkfs::pread_full(f.fd.get(), final_block, static_cast<off_t>(format::block_cipher_offset(70))) ==
            final_block.size());
    CHECK_FALSE(std::all_of(final_block.begin(), final_block.end(), [](uint8_t b) { return b == 0; }));
}

TEST_CASE("tampered backing bytes fail as integrity errors", "[store][content]") {
    Fixture f;
    store::ContentState state;
    auto access = f.ring.access();
    {
        store::FileContent content(f.fd.get(), state, access, f.version, "tampered");
        content.write(0, pattern(3 * kBlock, 6));
    }
    const uint64_t block1 = format::block_cipher_offset(1);
    Bytes byte(1);
    REQUIRE(cmkfs::pread_full(f.fd.get(), byte, static_cast<off_t>(block1 + 500)) == 1);
    byte[0] ^= 0x10;
    f.poke(block1 + 500, byte);

    store::ContentState fresh;
    store::FileContent content(f.fd.get(), fresh, access, f.version, "tampered");
    Bytes out(100);
    CHECK(content.read(0, out) == 100);  // block 0 is intact
    CHECK_THROWS_AS(content.read(kBlock + 10, out), cmkfs::IntegrityError);
    CHECK_THROWS_WITH(content.read(kBlock, out), Catch::Contains("tampered") && Catch::Contains("block 1"));
    CHECK_THROWS_AS(content.write(kBlock + 1, pattern(3, 7)), cmkfs::IntegrityError);  // read-modify-write
    CHECK(content.verify_all() == std::vector<uint64_t>{1});
}

TEST_CASE("a bad file header fails as an integrity error", "[store][content]") {
    Fixture f;
    store::ContentState state;
    auto access = f.ring.access();
    {
        store::FileContent content(f.fd.get(), state, access, f.version);
        content.write(0, pattern(50, 8));
    }
    f.poke(0, Bytes{'X'});
    store::ContentState fresh;
    store::FileContent content(f.fd.get(), fresh, access, f.version, "bad-header");
    Bytes out(10);
    CHECK_THROWS_AS(content.read(0, out), cmkfs::IntegrityError);
    CHECK(content.verify_all() == std::vector<uint64_t>{0});
}

TEST_CASE("a file id changed in the header makes every block fail", "[store][content]") {
    Fixture f;
    store::ContentState state;
    auto access = f.ring.access();
    {
        store::FileContent content(f.fd.get(), state, access, f.version);
        content.write(0, pattern(2 * kBlock, 9));
    }
    Bytes id_byte(1);
    REQUIRE(cmkfs::pread_full(f.fd.get(), id_byte, 8) == 1);
    id_byte[0] ^= 1;
    f.poke(8, id_byte);
    store::ContentState fresh;
    store::FileContent content(f.fd.get(), fresh, access, f.version);
    CHECK(content.verify_all() == std::vector<uint64_t>{0, 1});
}

TEST_CASE("a torn tail is reported and refused for writes", "[store][content]") {
    Fixture f;
    store::ContentState state;
    auto access = f.ring.access();
    store::FileContent content(f.fd.get(), state, access, f.version, "torn");
    content.write(0, pattern(kBlock + 100, 10));
    // Cut inside block 1's last 28 bytes' worth: only part of the overhead remains.
    REQUIRE(::ftruncate(f.fd.get(), static_cast<off_t>(format::block_cipher_offset(1) + 20)) == 0);
    // The intact part is one block (the size may be reported one byte longer
    // so that a reader reaching the end meets the damage).
    CHECK(format::plain_size_for(f.backing_size()).size == kBlock);
    CHECK(content.size() >= kBlock);
    Bytes out(200);
    CHECK(content.read(0, out) == 200);  // before the torn block: fine
    CHECK_THROWS_AS(content.read(kBlock - 50, out), cmkfs::IntegrityError);
    CHECK_THROWS_AS(content.write(0, pattern(1, 1)), cmkfs::IntegrityError);
    CHECK(content.verify_all() == std::vector<uint64_t>{1});
    // Truncating to a valid size repairs the file.
    content.truncate(kBlock);
    CHECK(f.backing_size() == format::cipher_size_for(kBlock));
    CHECK(content.verify_all().empty());
}

// The two limitations docs/FORMAT.md states: both are pinned here so that a
// change in behaviour is a conscious format decision.
TEST_CASE("limitation: an all-zero block reads as a hole", "[store][content][limitation]") {
    Fixture f;
    store::ContentState state;
    auto access = f.ring.access();
    store::FileContent content(f.fd.get(), state, access, f.version);
    content.write(0, pattern(3 * kBlock, 11));
    f.poke(format::block_cipher_offset(1), Bytes(format::kBlockCipherSize, 0));
    Bytes all = read_all(content);
    REQUIRE(all.size() == 3 * kBlock);
    CHECK(std::all_of(all.begin() + kBlock, all.begin() + 2 * kBlock, [](uint8_t b) { return b == 0; }));
    CHECK(content.verify_all().empty());
}

TEST_CASE("format 1 limitation: truncation at a block boundary is not detected", "[store][content][limitation]") {
    Fixture f(1);
    store::ContentState state;
    auto access = f.ring.access();
    store::FileContent content(f.fd.get(), state, access, f.version);
    content.write(0, pattern(3 * kBlock + 7, 12));
    REQUIRE(::ftruncate(f.fd.get(), static_cast<off_t>(format::cipher_size_for(kBlock))) == 0);
    CHECK(content.size() == kBlock);
    CHECK(read_all(content) == pattern(kBlock, 12));
    CHECK(content.verify_all().empty());
}

TEST_CASE("format 2: a file cut at a block boundary fails at its new final block", "[store][content]") {
    Fixture f(2);
    store::ContentState state;
    auto access = f.ring.access();
    store::FileContent content(f.fd.get(), state, access, f.version, "cut");
    content.write(0, pattern(3 * kBlock + 7, 12));
    REQUIRE(::ftruncate(f.fd.get(), static_cast<off_t>(format::cipher_size_for(kBlock))) == 0);
    CHECK(content.size() == kBlock);
    Bytes out(kBlock);
    CHECK_THROWS_WITH(content.read(0, out), Catch::Contains("cut") && Catch::Contains("block 0"));
    CHECK(content.verify_all() == std::vector<uint64_t>{0});
}

TEST_CASE("format 2: zero blocks appended fail at the new final block", "[store][content]") {
    Fixture f(2);
    store::ContentState state;
    auto access = f.ring.access();
    store::FileContent content(f.fd.get(), state, access, f.version, "grown");
    content.write(0, pattern(2 * kBlock, 15));
    REQUIRE(::ftruncate(f.fd.get(), static_cast<off_t>(format::cipher_size_for(4 * kBlock))) == 0);
    CHECK(content.size() == 4 * kBlock);
    Bytes out(kBlock);
    CHECK(content.read(0, out) == kBlock);  // block 0 is untouched
    // The old final block still opens (as a crash that lost its re-seal would
    // leave it); the zero block now final does not.
    CHECK(content.read(kBlock, out) == kBlock);
    CHECK_THROWS_WITH(content.read(3 * kBlock, out), Catch::Contains("grown") && Catch::Contains("block 3"));
    CHECK(content.verify_all() == std::vector<uint64_t>{3});
}

TEST_CASE("format 2: a cut that leaves a hole as the final block fails", "[store][content]") {
    Fixture f(2);
    store::ContentState state;
    auto access = f.ring.access();
    store::FileContent content(f.fd.get(), state, access, f.version, "holey");
    content.write(0, pattern(10, 16));
    content.write(10 * kBlock, pattern(10, 17));  // blocks 1..9 are holes
    REQUIRE(::ftruncate(f.fd.get(), static_cast<off_t>(format::cipher_size_for(5 * kBlock))) == 0);
    Bytes out(kBlock);
    CHECK_THROWS_AS(content.read(4 * kBlock, out), cmkfs::IntegrityError);
    CHECK(content.verify_all() == std::vector<uint64_t>{4});  // found although the scan skips holes
}

TEST_CASE("format 2: growing a file re-seals its full final block, within the same write", "[store][content]") {
    Fixture f(2);
    store::ContentState state;
    auto access = f.ring.access();
    store::FileContent content(f.fd.get(), state, access, f.version);
    content.write(0, pattern(kBlock, 18));
    const Bytes before = f.backing();
    content.write(kBlock, pattern(100, 19));  // an append
    const Bytes after = f.backing();
    // Block 0 was sealed again (new nonce) as not-last.
    CHECK_FALSE(std::equal(before.begin() + 24, before.begin() + 36, after.begin() + 24));
    CHECK(content.verify_all().empty());
    Bytes all = read_all(content);
    CHECK(std::equal(all.begin(), all.begin() + kBlock, pattern(kBlock, 18).begin()));
    // A write that does not grow the file leaves the final block alone.
    const Bytes tail(after.end() - 128, after.end());
    content.write(10, pattern(5, 20));
    const Bytes now = f.backing();
    CHECK(Bytes(now.end() - 128, now.end()) == tail);
}

TEST_CASE("a block moved to another position or file fails", "[store][content]") {
    Fixture f;
    store::ContentState state;
    auto access = f.ring.access();
    {
        store::FileContent content(f.fd.get(), state, access, f.version);
        content.write(0, pattern(3 * kBlock, 13));
    }
    Bytes raw = f.backing();
    // Swap blocks 0 and 1.
    Bytes b0(raw.begin() + 24, raw.begin() + 24 + 4124);
    Bytes b1(raw.begin() + 24 + 4124, raw.begin() + 24 + 2 * 4124);
    f.poke(24, b1);
    f.poke(24 + 4124, b0);
    store::ContentState fresh;
    store::FileContent content(f.fd.get(), fresh, access, f.version);
    CHECK(content.verify_all() == std::vector<uint64_t>{0, 1});

    // Block 2 put into another file at the same index.
    cmkfs::UniqueFd other(::open((f.dir / "other").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    store::ContentState other_state;
    store::FileContent other_content(other.get(), other_state, access, f.version);
    other_content.write(0, pattern(3 * kBlock, 14));
    cmkfs::pwrite_full(other.get(), std::span(raw).subspan(24 + 2 * 4124, 4124), 24 + 2 * 4124);
    CHECK(other_content.verify_all() == std::vector<uint64_t>{2});
}
