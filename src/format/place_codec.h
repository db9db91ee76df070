// Format version 2 binds what a directory entry *is* to *where* it is: a
// symlink's target and a directory's id are authenticated together with the
// parent directory's id and the entry's plaintext name (its "place"), so an
// entry swapped with another, or copied from another directory or name, no
// longer authenticates. Version 1 binds neither; both are read and written
// here so that callers only pass the store's format version. Pure: no files.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/secure_bytes.h"
#include "format/name_codec.h"

namespace cmkfs::format {

// The first format version that binds symlinks and directory ids to their place.
inline constexpr uint32_t kPlaceBindingVersion = 2;
inline bool binds_place(uint32_t format_version) { return format_version >= kPlaceBindingVersion; }

// A directory id file being rebound to a new place (docs/FORMAT.md §4.2).
inline constexpr std::string_view kDirIdNextName = ".cmkfs.dirid.next";
inline constexpr size_t kDirIdTagSize = 32;                             // HMAC-SHA256
inline constexpr size_t kDirIdFileSizeV2 = kDirIdSize + kDirIdTagSize;  // 48

// Where an entry is: its parent directory's id and its plaintext name (as
// given to the filesystem, before any name encryption). The root directory
// has no parent and no name.
struct Place {
    std::optional<DirId> parent;
    std::string name;

    static Place root() { return {}; }
    static Place in(const DirId &parent, std::string_view name) { return {parent, std::string(name)}; }
    bool is_root() const { return !parent.has_value(); }
    bool operator==(const Place &) const = default;
};

// "symlink" (v1), or "symlink" ‖ parent id ‖ u16be(len(name)) ‖ name (v2).
std::vector<uint8_t> symlink_aad(uint32_t format_version, const Place &place);

// A symlink's backing target: base64url(nonce ‖ AES-256-GCM(meta key, AAD, target) ‖ tag).
std::string seal_symlink_target(uint32_t format_version, const crypto::MetaKey &key, const Place &place,
                                std::string_view target);
// nullopt unless `sealed` authenticates for exactly this place (v2).
std::optional<std::string> open_symlink_target(uint32_t format_version, const crypto::MetaKey &key,
                                               const Place &place, std::string_view sealed);

// The plaintext length of a target from the length of its backing symlink
// (stat's st_size of a symlink): base64url of nonce ‖ ciphertext ‖ tag.
uint64_t symlink_target_length(uint64_t sealed_length);

// The contents of `.cmkfs.dirid`: the 16-byte id (v1), or the id ‖
// HMAC-SHA256(dir-id key, id ‖ place bytes) (v2), where the place bytes are
// 0x00 for the root and 0x01 ‖ parent id ‖ u16be(len(name)) ‖ name otherwise.
std::vector<uint8_t> encode_dir_id_file(uint32_t format_version, const crypto::DirIdKey &key, const DirId &id,
                                        const Place &place);
// nullopt when the file is malformed or (v2) not bound to this place.
std::optional<DirId> decode_dir_id_file(uint32_t format_version, const crypto::DirIdKey &key,
                                        std::span<const uint8_t> file, const Place &place);
// The id a v1 or v2 file carries, without any check (for removal and repair).
std::optional<DirId> unverified_dir_id(std::span<const uint8_t> file);

}  // namespace cmkfs::format
