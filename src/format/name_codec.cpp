#include "format/name_codec.h"

#include <cerrno>
#include <climits>

#include "crypto/aead.h"
#include "crypto/encoding.h"
#include "crypto/kdf.h"
#include "crypto/random.h"
#include "util/errors.h"

namespace cmkfs::format {

namespace {
std::span<const uint8_t> bytes_of(std::string_view s) { return crypto::as_bytes(s); }
constexpr size_t kLongHashLength = 43;  // base64url of a SHA-256 digest
}  // namespace

BackingName NameCodec::encode(const DirId &parent, std::string_view plain) const {
    if (plain.empty() || plain == "." || plain == ".." || plain.find('/') != std::string_view::npos)
        throw Error(EINVAL, "invalid file name");
    if (plain.size() > NAME_MAX) throw Error(ENAMETOOLONG, "file name too long");
    if (plaintext()) {
        if (is_reserved_name(plain)) throw Error(EPERM, "names starting with .cmkfs are reserved");
        return {std::string(plain), {}, {}};
    }
    auto sealed = crypto::siv_seal(names_->bytes(), {parent}, bytes_of(plain));
    std::string encoded = crypto::base64url_encode(sealed);
    if (encoded.size() <= kMaxDirectNameLength) return {std::move(encoded), {}, {}};
    std::string name = long_name_for(encoded);
    std::string sidecar = sidecar_for(name);
    return {std::move(name), std::move(sidecar), std::move(encoded)};
}

std::optional<std::string> NameCodec::decode(const DirId &parent, std::string_view encoded) const {
    if (plaintext()) {
        if (is_reserved_name(encoded)) return std::nullopt;
        return std::string(encoded);
    }
    auto raw = crypto::base64url_decode(encoded);
    if (!raw) return std::nullopt;
    std::vector<uint8_t> plain;
    if (!crypto::siv_open(names_->bytes(), {parent}, *raw, plain)) return std::nullopt;
    if (plain.empty()) return std::nullopt;
    return std::string(plain.begin(), plain.end());
}

std::optional<std::string> NameCodec::decode_long(const DirId &parent, std::string_view backing,
                                                  std::string_view full) const {
    if (plaintext() || backing != long_name_for(full)) return std::nullopt;
    return decode(parent, full);
}

bool NameCodec::is_long_name(std::string_view backing) {
    // Exactly prefix + 43 base64url characters: leftovers such as a crashed
    // sidecar temporary (".cmkfs.long.<hash>.name.tmp.…") are not entries.
    if (!backing.starts_with(kLongNamePrefix) || backing.size() != kLongNamePrefix.size() + kLongHashLength)
        return false;
    return crypto::base64url_decode(backing.substr(kLongNamePrefix.size())).has_value();
}

bool NameCodec::is_sidecar(std::string_view backing) {
    return backing.ends_with(kLongNameSidecarSuffix) &&
           is_long_name(backing.substr(0, backing.size() - kLongNameSidecarSuffix.size()));
}

std::string NameCodec::long_name_for(std::string_view full) {
    return std::string(kLongNamePrefix) + crypto::base64url_encode(crypto::sha256(bytes_of(full)));
}

std::string NameCodec::sidecar_for(std::string_view long_name) {
    return std::string(long_name) + std::string(kLongNameSidecarSuffix);
}

std::string seal_bytes(const crypto::MetaKey &key, std::string_view context, std::string_view plain) {
    std::string out(crypto::kGcmNonceSize + plain.size() + crypto::kGcmTagSize, '\0');
    auto *p = reinterpret_cast<uint8_t *>(out.data());
    std::span<uint8_t> all(p, out.size());
    crypto::random_bytes(all.first(crypto::kGcmNonceSize));
    crypto::gcm_seal(key.bytes(), all.first(crypto::kGcmNonceSize), bytes_of(context), bytes_of(plain),
                     all.subspan(crypto::kGcmNonceSize, plain.size()), all.last(crypto::kGcmTagSize));
    return out;
}

std::optional<std::string> open_bytes(const crypto::MetaKey &key, std::string_view context,
                                      std::string_view sealed) {
    constexpr size_t overhead = crypto::kGcmNonceSize + crypto::kGcmTagSize;
    if (sealed.size() < overhead) return std::nullopt;
    auto in = bytes_of(sealed);
    std::string out(sealed.size() - overhead, '\0');
    std::span<uint8_t> plain(reinterpret_cast<uint8_t *>(out.data()), out.size());
    if (!crypto::gcm_open(key.bytes(), in.first(crypto::kGcmNonceSize), bytes_of(context),
                          in.subspan(crypto::kGcmNonceSize, out.size()), in.last(crypto::kGcmTagSize),
                          plain))
        return std::nullopt;
    return out;
}

std::string NameCodec::seal_text(const crypto::MetaKey &key, std::string_view context,
                                 std::string_view plain) {
    std::string sealed = seal_bytes(key, context, plain);
    return crypto::base64url_encode(bytes_of(sealed));
}

std::optional<std::string> NameCodec::open_text(const crypto::MetaKey &key, std::string_view context,
                                                std::string_view sealed) {
    auto raw = crypto::base64url_decode(sealed);
    if (!raw) return std::nullopt;
    return open_bytes(key, context,
                      std::string_view(reinterpret_cast<const char *>(raw->data()), raw->size()));
}

}  // namespace cmkfs::format
