// Extended attributes of the user.* namespace: the part after "user." is
// encrypted deterministically (AES-SIV, so it can be looked up), the value
// with AES-GCM bound to the plaintext attribute name and, in format 2, to the
// identity of the object that carries it (FORMAT.md §7).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "crypto/secure_bytes.h"

namespace cmkfs::format {

inline constexpr std::string_view kUserXattrPrefix = "user.";
inline constexpr size_t kXattrValueOverhead = 28;  // nonce + tag

// "user.<name>" -> "user.<base64url(SIV(name))>"; `plain` must start with "user.".
std::string encrypt_xattr_name(const crypto::NameKey &key, std::string_view plain);
// Inverse; nullopt for other namespaces or names that fail to authenticate.
std::optional<std::string> decrypt_xattr_name(const crypto::NameKey &key, std::string_view backing);

// `owner`: format 2, the 16-byte file id (regular file) or directory id
// (directory) of the object carrying the attribute; empty in format 1, where
// values are bound to their name only.
std::string seal_xattr_value(const crypto::MetaKey &key, std::string_view plain_name, std::string_view value,
                             std::span<const uint8_t> owner);
std::optional<std::string> open_xattr_value(const crypto::MetaKey &key, std::string_view plain_name,
                                            std::string_view sealed, std::span<const uint8_t> owner);

}  // namespace cmkfs::format
