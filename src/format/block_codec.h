// Seals and opens one content block: nonce || AES-256-GCM(plain) || tag with
// AAD = file id || block index (big endian), so a block moved to another file
// or another position fails authentication.
#pragma once

#include <cstdint>
#include <span>

#include "crypto/secure_bytes.h"
#include "format/file_layout.h"

namespace cmkfs::format {

enum class BlockOpen { ok, hole, bad };

class BlockCodec {
public:
    BlockCodec(const crypto::ContentKey &key, const FileId &id) : key_(key), id_(id) {}

    // out.size() must be plain.size() + kBlockOverhead. A fresh random nonce
    // every call: never reuse one under a key.
    void seal(uint64_t index, std::span<const uint8_t> plain, std::span<uint8_t> out) const;

    // cipher.size() is out.size() + kBlockOverhead. An all-zero block is a hole
    // (sparse region) and reads as zeros.
    [[nodiscard]] BlockOpen open(uint64_t index, std::span<const uint8_t> cipher,
                                 std::span<uint8_t> out) const;

private:
    const crypto::ContentKey &key_;
    const FileId &id_;
};

}  // namespace cmkfs::format
