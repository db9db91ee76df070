// Seals and opens one content block: nonce || AES-256-GCM(plain) || tag with
// AAD = file id || block index (big endian), and in format 2 one more byte
// saying whether the block is the file's last (as STREAM does), so a block
// moved to another file or position fails authentication, and so does a file
// cut at a block boundary or grown by whole blocks (format 2).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "crypto/aead.h"
#include "crypto/secure_bytes.h"
#include "format/file_layout.h"

namespace cmkfs::format {

enum class BlockOpen { ok, hole, bad };

// Build one per request and use it for all of the request's blocks: the key
// is expanded once, not per block.
class BlockCodec {
public:
    // `format_version` is the store's (header().format_version): 1 ignores
    // the `last` flags below, 2 authenticates them.
    BlockCodec(const crypto::ContentKey &key, const FileId &id, uint32_t format_version)
        : cipher_(key.bytes()), id_(id), version_(format_version) {}
    // The file id is held by reference (it goes into every block's AAD): a
    // temporary would dangle.
    BlockCodec(const crypto::ContentKey &key, FileId &&id, uint32_t format_version) = delete;

    // out.size() must be plain.size() + kBlockOverhead. A fresh random nonce
    // every call: never reuse one under a key. `last`: this is the final
    // block of the file (index == (size - 1) / 4096).
    void seal(uint64_t index, bool last, std::span<const uint8_t> plain, std::span<uint8_t> out);
    // Draws the nonces of the next `blocks` seals in one call to the random
    // generator instead of one each (each call costs OpenSSL a fork check,
    // a getpid syscall, and a DRBG round: about as much as sealing the
    // 4 KiB block itself). Nonces are public; they are still used once.
    void draw_nonces(size_t blocks);

    // cipher.size() is out.size() + kBlockOverhead. An all-zero block is a hole
    // (sparse region) and reads as zeros, except, in format 2, the final
    // block: a file never ends in a hole there, so a trailing run of zeros is
    // an attacker's extension (or a cut that left a hole last) and is bad.
    // Format 2: the final block (last) must be sealed as final; any other
    // block opens sealed either way (a crash may have lost the re-seal of an
    // append; FORMAT.md §3).
    [[nodiscard]] BlockOpen open(uint64_t index, bool last, std::span<const uint8_t> cipher,
                                 std::span<uint8_t> out);

    // Whether the final block of a file of this format may be a hole.
    static bool final_block_may_be_hole(uint32_t format_version) { return format_version < 2; }

private:
    crypto::GcmCipher cipher_;
    const FileId &id_;
    uint32_t version_;
    std::vector<uint8_t> nonces_;  // drawn ahead by draw_nonces, taken from the front
    size_t next_nonce_ = 0;
};

// The index of a file's final block; only meaningful for plain_size > 0.
inline constexpr uint64_t final_block_index(uint64_t plain_size) {
    return plain_size == 0 ? 0 : (plain_size - 1) / kBlockPlainSize;
}

}  // namespace cmkfs::format
