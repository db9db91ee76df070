#include "format/credentials_codec.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <array>

#include <nlohmann/json.hpp>

#include "crypto/aead.h"
#include "crypto/kdf.h"
#include "crypto/random.h"
#include "util/errors.h"

namespace cmkfs::format {

namespace {

constexpr std::array<uint8_t, 4> kMagic = {'C', 'M', 'K', 'C'};
constexpr uint16_t kVersion = 1;
constexpr size_t kPrefixSize = 8;  // magic 4, version 2, reserved 2
constexpr size_t kNonceOffset = kPrefixSize;
constexpr size_t kCipherOffset = kNonceOffset + crypto::kGcmNonceSize;
constexpr size_t kMinSize = kCipherOffset + crypto::kGcmTagSize;

// The fixed prefix and the volume id: a file copied from another store fails.
std::vector<uint8_t> associated_data(std::span<const uint8_t> prefix, std::string_view volume_id) {
    std::vector<uint8_t> aad(prefix.size() + volume_id.size());
    std::copy(prefix.begin(), prefix.end(), aad.begin());
    std::copy(volume_id.begin(), volume_id.end(), aad.begin() + static_cast<std::ptrdiff_t>(prefix.size()));
    return aad;
}

// The serialized JSON holds every secret: keep it in the secure heap.
crypto::SecureBytes to_plaintext(const RegistryCredentials &credentials) {
    nlohmann::json doc = nlohmann::json::object();
    for (const auto &[url, cred] : credentials) doc[url] = {{"Username", cred.username}, {"Secret", cred.secret}};
    std::string text = doc.dump();
    crypto::SecureBytes plain(crypto::as_bytes(text));
    OPENSSL_cleanse(text.data(), text.size());
    return plain;
}

}  // namespace

std::vector<uint8_t> seal_credentials(const crypto::CredentialsKey &key, std::string_view volume_id,
                                      const RegistryCredentials &credentials) {
    const crypto::SecureBytes plain = to_plaintext(credentials);
    std::vector<uint8_t> out(kMinSize + plain.size());
    std::copy(kMagic.begin(), kMagic.end(), out.begin());
    out[4] = static_cast<uint8_t>(kVersion >> 8);
    out[5] = static_cast<uint8_t>(kVersion & 0xff);
    auto nonce = std::span(out).subspan(kNonceOffset, crypto::kGcmNonceSize);
    crypto::random_bytes(nonce);
    const auto aad = associated_data(std::span(out).first(kPrefixSize), volume_id);
    crypto::gcm_seal(key.bytes(), nonce, aad, plain.span(), std::span(out).subspan(kCipherOffset, plain.size()),
                     std::span(out).last(crypto::kGcmTagSize));
    return out;
}

RegistryCredentials open_credentials(const crypto::CredentialsKey &key, std::string_view volume_id,
                                     std::span<const uint8_t> sealed) {
    if (sealed.size() < kMinSize || !std::equal(kMagic.begin(), kMagic.end(), sealed.begin()))
        throw IntegrityError("credentials file is not a cmkfs credentials file");
    const uint16_t version = static_cast<uint16_t>(sealed[4] << 8 | sealed[5]);
    if (version != kVersion)
        throw IntegrityError("credentials file has unsupported version " + std::to_string(version));
    const size_t cipher_size = sealed.size() - kMinSize;
    crypto::SecureBytes plain(cipher_size);
    const auto aad = associated_data(sealed.first(kPrefixSize), volume_id);
    if (!crypto::gcm_open(key.bytes(), sealed.subspan(kNonceOffset, crypto::kGcmNonceSize), aad,
                          sealed.subspan(kCipherOffset, cipher_size), sealed.last(crypto::kGcmTagSize), plain.span()))
        throw IntegrityError("credentials file fails authentication (tampered, or from another store)");
    RegistryCredentials credentials;
    try {
        const auto doc = nlohmann::json::parse(plain.span().begin(), plain.span().end());
        for (const auto &[url, entry] : doc.items())
            credentials[url] = {entry.at("Username").get<std::string>(), entry.at("Secret").get<std::string>()};
    } catch (const nlohmann::json::exception &) {
        throw IntegrityError("credentials file content is malformed");
    }
    return credentials;
}

}  // namespace cmkfs::format
