// HKDF-SHA256 (RFC 5869), HMAC-SHA256 and SHA-256 through OpenSSL EVP.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "crypto/secure_bytes.h"

namespace cmkfs::crypto {

using Digest = std::array<uint8_t, 32>;

SecureBytes hkdf_sha256(std::span<const uint8_t> ikm, std::span<const uint8_t> salt,
                        std::span<const uint8_t> info, size_t length);

Digest hmac_sha256(std::span<const uint8_t> key, std::span<const uint8_t> data);
Digest sha256(std::span<const uint8_t> data);

// Constant-time comparison.
bool equal_ct(std::span<const uint8_t> a, std::span<const uint8_t> b);

inline std::span<const uint8_t> as_bytes(std::string_view s) {
    return {reinterpret_cast<const uint8_t *>(s.data()), s.size()};
}

}  // namespace cmkfs::crypto
