// Extended attributes of the user.* namespace: the part after "user." is
// encrypted deterministically (AES-SIV, so it can be looked up), the value
// with AES-GCM bound to the plaintext attribute name.
#pragma once

#include <optional>
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

std::string seal_xattr_value(const crypto::MetaKey &key, std::string_view plain_name, std::string_view value);
std::optional<std::string> open_xattr_value(const crypto::MetaKey &key, std::string_view plain_name,
                                            std::string_view sealed);

}  // namespace cmkfs::format
