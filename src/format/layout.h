// On-disk layout constants (see docs/FORMAT.md). Version 2 binds every
// ciphertext to its place; version-1 stores are still read and written.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace cmkfs::format {

inline constexpr uint32_t kFormatVersion = 3;  // what new stores (and reencrypt/upgrade) write
inline constexpr uint32_t kOldestFormatVersion = 1;  // oldest version still mounted
// Version 3 adds the authenticated `shared_storage` header member (several
// hosts mount the store at once); its data format is version 2's.
inline constexpr uint32_t kSharedStorageVersion = 3;

// Backing-root and per-directory bookkeeping files. Every name cmkfs owns
// starts with ".cmkfs"; encrypted names are base64url and never start with '.',
// and in plaintext-names mode such names are refused.
inline constexpr std::string_view kReservedPrefix = ".cmkfs";
inline constexpr std::string_view kVolumeHeaderName = ".cmkfs.volume";
inline constexpr std::string_view kDirIdName = ".cmkfs.dirid";
inline constexpr std::string_view kLongNamePrefix = ".cmkfs.long.";
inline constexpr std::string_view kLongNameSidecarSuffix = ".name";

inline bool is_reserved_name(std::string_view name) { return name.starts_with(kReservedPrefix); }

// File contents: a header, then AES-256-GCM blocks of nonce || ciphertext || tag.
inline constexpr size_t kFileMagicSize = 4;
inline constexpr uint8_t kFileMagic[kFileMagicSize] = {'C', 'M', 'K', 'F'};
inline constexpr size_t kFileIdSize = 16;
inline constexpr size_t kFileHeaderSize = 24;  // magic 4, version 2, reserved 2, file id 16
inline constexpr size_t kBlockPlainSize = 4096;
inline constexpr size_t kNonceSize = 12;
inline constexpr size_t kTagSize = 16;
inline constexpr size_t kBlockOverhead = kNonceSize + kTagSize;
inline constexpr size_t kBlockCipherSize = kBlockPlainSize + kBlockOverhead;

inline constexpr size_t kDirIdSize = 16;
// Longest base64url name stored as is; longer ones use the long-name scheme.
inline constexpr size_t kMaxDirectNameLength = 255;

}  // namespace cmkfs::format
