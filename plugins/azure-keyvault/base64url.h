// Base64url without padding (RFC 4648 §5), as Key Vault's JSON Web Key
// operations use it. Decoding also accepts padding and the standard alphabet.
// Writes straight into the destination so secrets are never copied elsewhere.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <cmkfs/secret_buffer.h>

namespace cmkfs::azure {

void base64url_encode(const uint8_t *data, size_t n, sdk::SecretBuffer &out);
std::string base64url_encode(const std::vector<uint8_t> &data);

// Returns false (leaving `out` with partial output) on a character outside the
// alphabet or an impossible length.
bool base64url_decode(std::string_view text, sdk::SecretBuffer &out);
bool base64url_decode(std::string_view text, std::vector<uint8_t> &out);

}  // namespace cmkfs::azure
