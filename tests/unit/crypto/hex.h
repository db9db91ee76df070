// Test-vector helpers: vectors are written as hex strings, as in the RFCs.
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/encoding.h"
#include "crypto/kdf.h"  // as_bytes

namespace cmkfs::test {

using Bytes = std::vector<uint8_t>;

// Hex (whitespace allowed, as vectors are printed in groups) to bytes.
inline Bytes unhex(std::string_view text) {
    std::string compact;
    for (char c : text)
        if (c != ' ' && c != '\n') compact += c;
    auto bytes = crypto::hex_decode(compact);
    if (!bytes) throw std::invalid_argument("bad hex in test vector: " + compact);
    return *bytes;
}

inline std::string hex(std::span<const uint8_t> bytes) { return crypto::hex_encode(bytes); }

// Bytes lo, lo+1, ..., hi-1 (RFC 5869 writes inputs this way).
inline Bytes byte_range(unsigned lo, unsigned hi) {
    Bytes out;
    for (unsigned b = lo; b < hi; ++b) out.push_back(static_cast<uint8_t>(b));
    return out;
}

}  // namespace cmkfs::test
