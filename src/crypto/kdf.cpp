#include "crypto/kdf.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <memory>
#include <stdexcept>

#include "crypto/openssl_error.h"

namespace cmkfs::crypto {

namespace {
struct KdfFree { void operator()(EVP_KDF *k) const { EVP_KDF_free(k); } };
struct KdfCtxFree { void operator()(EVP_KDF_CTX *c) const { EVP_KDF_CTX_free(c); } };
struct MacFree { void operator()(EVP_MAC *m) const { EVP_MAC_free(m); } };
struct MacCtxFree { void operator()(EVP_MAC_CTX *c) const { EVP_MAC_CTX_free(c); } };

// Fetched once: EVP_*_fetch is expensive and the results are thread safe.
EVP_KDF *hkdf_algorithm() {
    static std::unique_ptr<EVP_KDF, KdfFree> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
    if (!kdf) throw_openssl("EVP_KDF_fetch(HKDF)");
    return kdf.get();
}
EVP_MAC *hmac_algorithm() {
    static std::unique_ptr<EVP_MAC, MacFree> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
    if (!mac) throw_openssl("EVP_MAC_fetch(HMAC)");
    return mac.get();
}
void *mut(const uint8_t *p) { return const_cast<uint8_t *>(p); }
}  // namespace

SecureBytes hkdf_sha256(std::span<const uint8_t> ikm, std::span<const uint8_t> salt,
                        std::span<const uint8_t> info, size_t length) {
    std::unique_ptr<EVP_KDF_CTX, KdfCtxFree> ctx(EVP_KDF_CTX_new(hkdf_algorithm()));
    if (!ctx) throw_openssl("EVP_KDF_CTX_new");
    char digest[] = "SHA256";
    OSSL_PARAM params[5];
    size_t n = 0;
    params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, mut(ikm.data()), ikm.size());
    if (!salt.empty())
        params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, mut(salt.data()), salt.size());
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, mut(info.data()), info.size());
    params[n] = OSSL_PARAM_construct_end();
    SecureBytes out(length);
    if (EVP_KDF_derive(ctx.get(), out.data(), length, params) != 1) throw_openssl("HKDF derive");
    return out;
}

Digest hmac_sha256(std::span<const uint8_t> key, std::span<const uint8_t> data) {
    std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx(EVP_MAC_CTX_new(hmac_algorithm()));
    if (!ctx) throw_openssl("EVP_MAC_CTX_new");
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    Digest out{};
    size_t len = 0;
    if (EVP_MAC_init(ctx.get(), key.data(), key.size(), params) != 1 ||
        EVP_MAC_update(ctx.get(), data.data(), data.size()) != 1 ||
        EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1 || len != out.size())
        throw_openssl("HMAC-SHA256");
    return out;
}

Digest sha256(std::span<const uint8_t> data) {
    Digest out{};
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1)
        throw_openssl("SHA-256");
    return out;
}

bool equal_ct(std::span<const uint8_t> a, std::span<const uint8_t> b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace cmkfs::crypto
