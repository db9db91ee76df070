// Shared helpers for the format tests: keys from fixed or random bytes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "crypto/random.h"
#include "crypto/secure_bytes.h"
#include "format/key_schedule.h"

namespace cmkfs::test {

inline crypto::VolumeKey volume_key_filled(uint8_t byte) {
    crypto::SecureBytes bytes(format::kVolumeKeySize);
    for (auto &b : bytes.span()) b = byte;
    return crypto::VolumeKey(std::move(bytes));
}

inline format::VolumeKeys random_volume_keys() { return format::VolumeKeys(format::generate_volume_key()); }

inline std::string as_string(const std::vector<uint8_t> &v) { return {v.begin(), v.end()}; }

}  // namespace cmkfs::test
