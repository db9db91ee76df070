#include "format/xattr_codec.h"

#include <vector>

#include "crypto/aead.h"
#include "crypto/encoding.h"
#include "crypto/kdf.h"
#include "format/name_codec.h"

namespace cmkfs::format {

namespace {
constexpr std::string_view kNameContext = "xattr";
// "xattr:" || full plaintext name || owner id. The id has a fixed length
// (16) and comes last, so the concatenation is unambiguous.
std::string value_context(std::string_view name, std::span<const uint8_t> owner) {
    std::string context = "xattr:" + std::string(name);
    context.append(reinterpret_cast<const char *>(owner.data()), owner.size());
    return context;
}
}  // namespace

std::string encrypt_xattr_name(const crypto::NameKey &key, std::string_view plain) {
    auto suffix = plain.substr(kUserXattrPrefix.size());
    auto sealed = crypto::siv_seal(key.bytes(), {crypto::as_bytes(kNameContext)}, crypto::as_bytes(suffix));
    return std::string(kUserXattrPrefix) + crypto::base64url_encode(sealed);
}

std::optional<std::string> decrypt_xattr_name(const crypto::NameKey &key, std::string_view backing) {
    if (!backing.starts_with(kUserXattrPrefix)) return std::nullopt;
    auto raw = crypto::base64url_decode(backing.substr(kUserXattrPrefix.size()));
    if (!raw) return std::nullopt;
    std::vector<uint8_t> plain;
    if (!crypto::siv_open(key.bytes(), {crypto::as_bytes(kNameContext)}, *raw, plain)) return std::nullopt;
    return std::string(kUserXattrPrefix) + std::string(plain.begin(), plain.end());
}

std::string seal_xattr_value(const crypto::MetaKey &key, std::string_view plain_name, std::string_view value,
                             std::span<const uint8_t> owner) {
    return seal_bytes(key, value_context(plain_name, owner), value);
}

std::optional<std::string> open_xattr_value(const crypto::MetaKey &key, std::string_view plain_name,
                                            std::string_view sealed, std::span<const uint8_t> owner) {
    return open_bytes(key, value_context(plain_name, owner), sealed);
}

}  // namespace cmkfs::format
