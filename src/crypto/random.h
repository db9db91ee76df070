#pragma once

#include <cstdint>
#include <span>

namespace cmkfs::crypto {
// Cryptographically secure random bytes (OpenSSL DRBG); throws on failure.
void random_bytes(std::span<uint8_t> out);
}  // namespace cmkfs::crypto
