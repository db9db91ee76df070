// A file's backing bytes as the attacker left them: the 24-byte header
// (magic, version, file id), then AES-GCM blocks, the last one short. Reads
// the whole file the way the read path does (size mapping, header, each
// block under the key derived from the file id, the final block flagged as
// final) for both format versions, and checks the size mapping's
// invariants; any bytes must end in data, a hole, or a refusal. Format 2
// authenticates the final-block flag (FORMAT.md §3): a block sealed as not
// final refuses to be read as the last one, and the last block is never a hole.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "format/block_codec.h"
#include "format/file_layout.h"
#include "fuzz_support.h"

using namespace cmkfs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::span<const uint8_t> backing(data, size);

    const format::PlainSize plain = format::plain_size_for(size);
    FUZZ_CHECK(plain.size <= size);
    // A header alone (an emptied file) is plaintext size 0 as well.
    if (!plain.torn_tail && plain.size > 0) FUZZ_CHECK(format::cipher_size_for(plain.size) == size);
    FUZZ_CHECK(format::cipher_size_for(plain.size) <= size);

    auto header = format::FileHeader::decode(backing);
    if (!header) return 0;
    FUZZ_CHECK(std::equal(header->id.begin(), header->id.end(), data + 8));
    const auto encoded = header->encode();
    FUZZ_CHECK(format::FileHeader::decode(encoded).has_value());

    const auto &keys = fuzz::test_keys();
    const crypto::ContentKey content_key = keys.content_key(header->id);
    std::vector<uint8_t> out(format::kBlockPlainSize);
    for (const uint32_t version : fuzz::kFormatVersions) {
        format::BlockCodec codec(content_key, header->id, version);
        const uint64_t final_index = format::final_block_index(plain.size);
        for (uint64_t index = 0; index * format::kBlockPlainSize < plain.size; ++index) {
            const uint64_t len =
                std::min<uint64_t>(format::kBlockPlainSize, plain.size - index * format::kBlockPlainSize);
            const uint64_t at = format::block_cipher_offset(index);
            FUZZ_CHECK(at + len + format::kBlockOverhead <= size);
            const auto cipher = backing.subspan(at, len + format::kBlockOverhead);
            const bool last = index == final_index;
            const format::BlockOpen got = codec.open(index, last, cipher, std::span(out).first(len));
            if (got == format::BlockOpen::hole) {
                FUZZ_CHECK(std::all_of(cipher.begin(), cipher.end(), [](uint8_t b) { return b == 0; }));
                FUZZ_CHECK(!last || format::BlockCodec::final_block_may_be_hole(version));
            }
        }

        // Writing the input as one block and reading it back gives it back;
        // the block opens at no other index, and (format 2) a block sealed
        // as not final is refused as the final one.
        const size_t len = std::min<size_t>(size, format::kBlockPlainSize);
        std::vector<uint8_t> sealed(len + format::kBlockOverhead);
        for (const bool last : {false, true}) {
            codec.seal(7, last, backing.first(len), sealed);
            FUZZ_CHECK(codec.open(7, last, sealed, std::span(out).first(len)) == format::BlockOpen::ok);
            FUZZ_CHECK(std::equal(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(len), data));
            FUZZ_CHECK(codec.open(8, last, sealed, std::span(out).first(len)) != format::BlockOpen::ok);
            const bool as_other_ok = codec.open(7, !last, sealed, std::span(out).first(len)) == format::BlockOpen::ok;
            FUZZ_CHECK(as_other_ok == (version < 2 || last));
        }
    }
    return 0;
}
