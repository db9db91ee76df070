// The volume header (".cmkfs.volume" at the backing root): a JSON document a
// person can read, holding the CMK-wrapped volume key and the settings needed
// to mount. All fields are authenticated by an HMAC under a key derived from
// the volume key, so an edit is detected as soon as the key is unwrapped.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "crypto/secure_bytes.h"
#include "format/key_schedule.h"
#include "format/name_codec.h"

namespace cmkfs::format {

// Every format version this cmkfs reads; the header parser refuses others.
// One list, so a new version is one more entry.
inline constexpr std::array<uint32_t, 3> kSupportedFormatVersions{1, 2, 3};
static_assert(kSupportedFormatVersions.front() == kOldestFormatVersion &&
              kSupportedFormatVersions.back() == kFormatVersion);
bool is_supported_format_version(uint32_t version);
std::string supported_format_versions_text();  // "1" or "1, 2"

inline constexpr std::string_view kCipherSuite = "AES-256-GCM/4096+AES-256-SIV+HKDF-SHA256";

struct VolumeHeader {
    uint32_t format_version = kFormatVersion;
    std::string volume_id;  // 32 hex chars
    std::string cipher_suite = std::string(kCipherSuite);
    uint32_t block_size = kBlockPlainSize;
    bool plaintext_names = false;
    // Format 3: several hosts mount the store at once (shared locks, no
    // kernel caching across opens). Absent from (and false in) older versions.
    bool shared_storage = false;
    std::string provider;                               // plugin name or path
    std::map<std::string, std::string> provider_options;  // non-secret
    std::string key_id;             // as given by the user; version-less = follow latest
    std::string versioned_key_id;   // the exact version that wrapped the key
    std::string identity;
    std::vector<uint8_t> wrapped_key;
    std::string created;            // RFC 3339 UTC
    std::string last_rotation;      // RFC 3339 UTC or empty
    DirId root_dir_id{};
    std::string mac;                // hex HMAC-SHA256 over all other fields

    bool key_rotation_enabled() const;  // version-less key id
    std::vector<std::string> provider_option_list() const;  // "k=v"
};

// Parses without verifying the MAC (the key is not known yet). Throws
// IntegrityError naming the file when the document is malformed or of an
// unknown format version.
VolumeHeader parse_volume_header(const std::string &json_text, const std::string &origin);

// Fills in `mac` and returns the document to store.
std::string seal_volume_header(VolumeHeader &header, const crypto::HeaderMacKey &key);

// Throws IntegrityError when any field was changed.
void verify_volume_header(const VolumeHeader &header, const crypto::HeaderMacKey &key,
                          const std::string &origin);

std::string utc_now_rfc3339();
std::string rfc3339(std::chrono::system_clock::time_point t);

}  // namespace cmkfs::format
