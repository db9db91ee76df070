// Shared helpers for the format tests: keys from fixed or random bytes, ids
// filled with one byte.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "crypto/random.h"
#include "crypto/secure_bytes.h"
#include "format/key_schedule.h"
#include "format/long_target.h"
#include "format/name_codec.h"

namespace cmkfs::test {

inline crypto::VolumeKey volume_key_filled(uint8_t byte) {
    crypto::SecureBytes bytes(format::kVolumeKeySize);
    for (auto &b : bytes.span()) b = byte;
    return crypto::VolumeKey(std::move(bytes));
}

inline format::VolumeKeys random_volume_keys() { return format::VolumeKeys(format::generate_volume_key()); }

// A directory id / link id whose every byte is `fill`.
inline format::DirId dir_id(uint8_t fill) {
    format::DirId id{};
    id.fill(fill);
    return id;
}
inline format::LinkId link_id(uint8_t fill) {
    format::LinkId id{};
    id.fill(fill);
    return id;
}

inline std::string as_string(const std::vector<uint8_t> &v) { return {v.begin(), v.end()}; }

}  // namespace cmkfs::test
