// Seals and opens one content block: nonce || AES-256-GCM(plain) || tag with
// AAD = file id || block index (big endian), so a block moved to another file
// or another position fails authentication.
#pragma once

#include <cstdint>
#include <span>

#include "crypto/aead.h"
#include "crypto/secure_bytes.h"
#include "format/file_layout.h"

namespace cmkfs::format {

enum class BlockOpen { ok, hole, bad };

// Build one per request and use it for all of the request's blocks: the key
// is expanded once, not per block.
class BlockCodec {
public:
    BlockCodec(const crypto::ContentKey &key, const FileId &id) : cipher_(key.bytes()), id_(id) {}

    // out.size() must be plain.size() + kBlockOverhead. A fresh random nonce
    // every call: never reuse one under a key.
    void seal(uint64_t index, std::span<const uint8_t> plain, std::span<uint8_t> out);

    // cipher.size() is out.size() + kBlockOverhead. An all-zero block is a hole
    // (sparse region) and reads as zeros.
    [[nodiscard]] BlockOpen open(uint64_t index, std::span<const uint8_t> cipher,
                                 std::span<uint8_t> out);

private:
    crypto::GcmCipher cipher_;
    const FileId &id_;
};

}  // namespace cmkfs::format
