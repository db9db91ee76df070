// Mapping between plaintext and ciphertext offsets and sizes of one file.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "format/layout.h"

namespace cmkfs::format {

using FileId = std::array<uint8_t, kFileIdSize>;

struct FileHeader {
    FileId id{};
    std::array<uint8_t, kFileHeaderSize> encode() const;
    // nullopt when magic or version is wrong.
    static std::optional<FileHeader> decode(std::span<const uint8_t> bytes);
    static FileHeader random();
};

inline constexpr uint64_t block_index(uint64_t plain_offset) { return plain_offset / kBlockPlainSize; }
inline constexpr uint64_t block_cipher_offset(uint64_t index) {
    return kFileHeaderSize + index * kBlockCipherSize;
}

// Backing size for a plaintext size (0 stays 0: an empty file has no header).
uint64_t cipher_size_for(uint64_t plain_size);

struct PlainSize {
    uint64_t size = 0;
    // The backing size cannot come from any plaintext size: the file was
    // truncated inside a block's nonce/tag or inside the header.
    bool torn_tail = false;
};
PlainSize plain_size_for(uint64_t cipher_size);

}  // namespace cmkfs::format
