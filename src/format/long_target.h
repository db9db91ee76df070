// Format version 3: symlink targets too long for a backing symlink (their
// sealed, base64url form reaches PATH_MAX) are kept in an encrypted sidecar
// file beside the symlink (docs/FORMAT.md §6.2). The backing symlink then
// holds a short *marker* naming its sidecar and the target's length:
//
//   marker  = ".cmkfs.target." ‖ base64url(link id, 16 bytes) ‖ "." ‖ decimal length (1-4095)
//   sidecar = ".cmkfs.target." ‖ base64url(link id)            (in the symlink's directory)
//   content = nonce (12) ‖ AES-256-GCM(meta key, AAD, target) ‖ tag (16)
//   AAD     = "symlink-long" ‖ link id (16) ‖ parent dir id (16) ‖ u16be(len(name)) ‖ name
//
// The target is bound to its place exactly as a format-2 target is, and to
// the link id that the marker names, so neither a sidecar nor a marker can be
// moved, swapped or copied to another symlink. Pure: no files.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/secure_bytes.h"
#include "format/place_codec.h"

namespace cmkfs::format {

inline constexpr uint32_t kLongTargetVersion = 3;
inline bool keeps_long_targets(uint32_t format_version) { return format_version >= kLongTargetVersion; }

inline constexpr std::string_view kLongTargetPrefix = ".cmkfs.target.";
inline constexpr size_t kLinkIdSize = 16;
inline constexpr size_t kMaxSymlinkTarget = 4095;  // PATH_MAX - 1, what the kernel passes
// Shortest and longest markers: prefix (14) + id (22) + "." + 1 to 4 digits.
inline constexpr size_t kMinMarkerLength = 38;
inline constexpr size_t kMaxMarkerLength = 41;

using LinkId = std::array<uint8_t, kLinkIdSize>;

struct LongTargetRef {
    LinkId id{};
    size_t length = 0;  // of the plaintext target (what stat reports)
    bool operator==(const LongTargetRef &) const = default;
};

std::string long_target_marker(const LongTargetRef &ref);
// The reference a backing symlink's target names, or nullopt unless it is a
// marker in exactly the canonical form above (attacker input: strict).
std::optional<LongTargetRef> parse_long_target_marker(std::string_view backing_target);
std::string long_target_sidecar_name(const LinkId &id);
// True for the backing name of a sidecar (hidden, bookkeeping).
bool is_long_target_sidecar(std::string_view backing_name);

std::string seal_long_target(const crypto::MetaKey &key, const LinkId &id, const Place &place,
                             std::string_view target);
// nullopt unless `sealed` authenticates for exactly this link id and place.
std::optional<std::string> open_long_target(const crypto::MetaKey &key, const LinkId &id, const Place &place,
                                            std::string_view sealed);

}  // namespace cmkfs::format
