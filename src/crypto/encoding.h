// base64url without padding (RFC 4648 §5): safe in file names, no '/' or '.'.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cmkfs::crypto {
std::string base64url_encode(std::span<const uint8_t> data);
std::optional<std::vector<uint8_t>> base64url_decode(std::string_view text);
std::string hex_encode(std::span<const uint8_t> data);
std::optional<std::vector<uint8_t>> hex_decode(std::string_view text);
}  // namespace cmkfs::crypto
