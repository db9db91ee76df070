#include "crypto/aead.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <climits>
#include <memory>
#include <stdexcept>

#include "crypto/openssl_error.h"

namespace cmkfs::crypto {

namespace {

struct CipherFree { void operator()(EVP_CIPHER *c) const { EVP_CIPHER_free(c); } };
struct CtxFree { void operator()(EVP_CIPHER_CTX *c) const { EVP_CIPHER_CTX_free(c); } };
using CipherPtr = std::unique_ptr<EVP_CIPHER, CipherFree>;
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

// Explicitly fetched once: implicit fetching per call costs a lock and a lookup.
const EVP_CIPHER *fetch(const char *name) {
    EVP_CIPHER *c = EVP_CIPHER_fetch(nullptr, name, nullptr);
    if (c == nullptr) throw_openssl(std::string("EVP_CIPHER_fetch ") + name);
    return c;
}
const EVP_CIPHER *aes256_gcm() {
    static CipherPtr c(const_cast<EVP_CIPHER *>(fetch("AES-256-GCM")));
    return c.get();
}
const EVP_CIPHER *aes_siv(size_t key_size) {
    static CipherPtr c128(const_cast<EVP_CIPHER *>(fetch("AES-128-SIV")));
    static CipherPtr c256(const_cast<EVP_CIPHER *>(fetch("AES-256-SIV")));
    if (key_size == 32) return c128.get();
    if (key_size == 64) return c256.get();
    throw std::invalid_argument("AES-SIV key must be 32 or 64 bytes");
}

// A context per call, freed (and cleansed by OpenSSL) at the end: an expanded
// name key must not linger in a thread's context after the call.
CtxPtr new_ctx() {
    CtxPtr ctx(EVP_CIPHER_CTX_new());
    if (!ctx) throw_openssl("EVP_CIPHER_CTX_new");
    return ctx;
}

int to_int(size_t n) {
    if (n > INT_MAX) throw std::length_error("AEAD input too large");
    return static_cast<int>(n);
}

// OpenSSL's AES-SIV treats an update with a null input as "finish": an empty
// AAD component must still come with a non-null pointer to be authenticated.
const uint8_t *nonnull(std::span<const uint8_t> s) {
    static const uint8_t empty = 0;
    return s.data() != nullptr ? s.data() : &empty;
}

void check_gcm_args(std::span<const uint8_t> key, std::span<const uint8_t> nonce, size_t tag) {
    if (key.size() != kGcmKeySize || nonce.size() != kGcmNonceSize || tag != kGcmTagSize)
        throw std::invalid_argument("AES-GCM: bad key, nonce or tag size");
}

}  // namespace

GcmCipher::GcmCipher(std::span<const uint8_t> key) : key_(key) {
    if (key.size() != kGcmKeySize) throw std::invalid_argument("AES-GCM: bad key size");
}

GcmCipher::~GcmCipher() {
    // Frees (and OpenSSL cleanses) the expanded key and GHASH table.
    EVP_CIPHER_CTX_free(seal_ctx_);
    EVP_CIPHER_CTX_free(open_ctx_);
}

namespace {
// Sets the nonce of ctx, keying it first if this is its first use (the
// expensive part: AES key expansion and the GHASH table).
void start_message(EVP_CIPHER_CTX *&ctx, std::span<const uint8_t> key, std::span<const uint8_t> nonce, int enc) {
    const bool fresh = ctx == nullptr;
    if (fresh && (ctx = EVP_CIPHER_CTX_new()) == nullptr) throw_openssl("EVP_CIPHER_CTX_new");
    if (EVP_CipherInit_ex2(ctx, fresh ? aes256_gcm() : nullptr, fresh ? key.data() : nullptr, nonce.data(), enc,
                           nullptr) != 1)
        throw_openssl("AES-256-GCM init");
}
}  // namespace

void GcmCipher::seal(std::span<const uint8_t> nonce, std::span<const uint8_t> aad, std::span<const uint8_t> plain,
                     std::span<uint8_t> out_cipher, std::span<uint8_t> out_tag) {
    check_gcm_args(key_, nonce, out_tag.size());
    if (out_cipher.size() != plain.size()) throw std::invalid_argument("AES-GCM: output size");
    start_message(seal_ctx_, key_, nonce, 1);
    EVP_CIPHER_CTX *ctx = seal_ctx_;
    int len = 0;
    if ((!aad.empty() && EVP_EncryptUpdate(ctx, nullptr, &len, aad.data(), to_int(aad.size())) != 1) ||
        EVP_EncryptUpdate(ctx, out_cipher.data(), &len, plain.data(), to_int(plain.size())) != 1 ||
        EVP_EncryptFinal_ex(ctx, out_cipher.data() + len, &len) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, kGcmTagSize, out_tag.data()) != 1)
        throw_openssl("AES-256-GCM encrypt");
}

bool GcmCipher::open(std::span<const uint8_t> nonce, std::span<const uint8_t> aad, std::span<const uint8_t> cipher,
                     std::span<const uint8_t> tag, std::span<uint8_t> out_plain) {
    check_gcm_args(key_, nonce, tag.size());
    if (out_plain.size() != cipher.size()) throw std::invalid_argument("AES-GCM: output size");
    start_message(open_ctx_, key_, nonce, 0);
    EVP_CIPHER_CTX *ctx = open_ctx_;
    int len = 0;
    if ((!aad.empty() && EVP_DecryptUpdate(ctx, nullptr, &len, aad.data(), to_int(aad.size())) != 1) ||
        EVP_DecryptUpdate(ctx, out_plain.data(), &len, cipher.data(), to_int(cipher.size())) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, kGcmTagSize, const_cast<uint8_t *>(tag.data())) != 1)
        throw_openssl("AES-256-GCM decrypt");
    int final_len = 0;
    if (EVP_DecryptFinal_ex(ctx, out_plain.data() + len, &final_len) != 1) {
        OPENSSL_cleanse(out_plain.data(), out_plain.size());
        return false;
    }
    return true;
}

void gcm_seal(std::span<const uint8_t> key, std::span<const uint8_t> nonce,
              std::span<const uint8_t> aad, std::span<const uint8_t> plain,
              std::span<uint8_t> out_cipher, std::span<uint8_t> out_tag) {
    GcmCipher(key).seal(nonce, aad, plain, out_cipher, out_tag);
}

bool gcm_open(std::span<const uint8_t> key, std::span<const uint8_t> nonce,
              std::span<const uint8_t> aad, std::span<const uint8_t> cipher,
              std::span<const uint8_t> tag, std::span<uint8_t> out_plain) {
    return GcmCipher(key).open(nonce, aad, cipher, tag, out_plain);
}

std::vector<uint8_t> siv_seal(std::span<const uint8_t> key,
                              std::initializer_list<std::span<const uint8_t>> aad,
                              std::span<const uint8_t> plain) {
    // OpenSSL 3.0 skips a zero-length AES-SIV encryption, so the tag of an
    // empty plaintext would never be computed. Names are never empty.
    if (plain.empty()) throw std::invalid_argument("AES-SIV: empty plaintext");
    CtxPtr owned = new_ctx();
    EVP_CIPHER_CTX *ctx = owned.get();
    std::vector<uint8_t> out(kSivTagSize + plain.size());
    int len = 0;
    if (EVP_EncryptInit_ex2(ctx, aes_siv(key.size()), key.data(), nullptr, nullptr) != 1)
        throw_openssl("AES-SIV init");
    for (auto a : aad)
        if (EVP_EncryptUpdate(ctx, nullptr, &len, nonnull(a), to_int(a.size())) != 1)
            throw_openssl("AES-SIV aad");
    if (EVP_EncryptUpdate(ctx, out.data() + kSivTagSize, &len, plain.data(),
                          to_int(plain.size())) != 1 ||
        EVP_EncryptFinal_ex(ctx, nullptr, &len) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, kSivTagSize, out.data()) != 1)
        throw_openssl("AES-SIV encrypt");
    return out;
}

bool siv_open(std::span<const uint8_t> key, std::initializer_list<std::span<const uint8_t>> aad,
              std::span<const uint8_t> sealed, std::vector<uint8_t> &out_plain) {
    // Nothing sealed by siv_seal is this short (it refuses empty plaintexts).
    if (sealed.size() <= kSivTagSize) {
        out_plain.clear();
        return false;
    }
    CtxPtr owned = new_ctx();
    EVP_CIPHER_CTX *ctx = owned.get();
    out_plain.assign(sealed.size() - kSivTagSize, 0);
    int len = 0;
    if (EVP_DecryptInit_ex2(ctx, aes_siv(key.size()), key.data(), nullptr, nullptr) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, kSivTagSize,
                            const_cast<uint8_t *>(sealed.data())) != 1)
        throw_openssl("AES-SIV init");
    for (auto a : aad)
        if (EVP_DecryptUpdate(ctx, nullptr, &len, nonnull(a), to_int(a.size())) != 1)
            throw_openssl("AES-SIV aad");
    bool ok = EVP_DecryptUpdate(ctx, out_plain.data(), &len, sealed.data() + kSivTagSize,
                                to_int(out_plain.size())) == 1;
    ok = ok && EVP_DecryptFinal_ex(ctx, nullptr, &len) == 1;
    if (!ok) {
        OPENSSL_cleanse(out_plain.data(), out_plain.size());
        out_plain.clear();
        openssl_errors();  // drop the queued authentication failure
    }
    return ok;
}

}  // namespace cmkfs::crypto
