// Key generation and wrapping with OpenSSL 3 EVP:
//  RSA keys: RSA-OAEP with SHA-256 and MGF1-SHA-256;
//  oct keys: AES-256 key wrap with padding (RFC 5649).
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <memory>
#include <utility>

#include "vault_internal.h"

namespace cmkfs::localvault {

namespace detail {
namespace {

struct PkeyFree {
    void operator()(EVP_PKEY *p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
    void operator()(EVP_PKEY_CTX *p) const { EVP_PKEY_CTX_free(p); }
};
struct BioFree {
    void operator()(BIO *p) const { BIO_free(p); }
};
struct CipherCtxFree {
    void operator()(EVP_CIPHER_CTX *p) const { EVP_CIPHER_CTX_free(p); }
};
struct CipherFree {
    void operator()(EVP_CIPHER *p) const { EVP_CIPHER_free(p); }
};
struct BnFree {
    void operator()(BIGNUM *p) const { BN_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
using Bio = std::unique_ptr<BIO, BioFree>;
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;
using Cipher = std::unique_ptr<EVP_CIPHER, CipherFree>;
using Bn = std::unique_ptr<BIGNUM, BnFree>;

[[noreturn]] void fail(Code code, const std::string &what) {
    unsigned long e = ERR_get_error();
    std::string detail;
    if (e != 0) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        detail = std::string(": ") + buf;
    }
    ERR_clear_error();
    throw VaultError(code, what + detail);
}

Pkey load_rsa(std::string_view pem) {
    Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) fail(Code::internal, "BIO_new_mem_buf");
    Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (!key) fail(Code::internal, "vault: cannot parse RSA key material");
    return key;
}

SecretBuffer load_oct(std::string_view material) {
    SecretBuffer key;
    if (!base64_decode_into(material, key) || key.size() != 32)
        throw VaultError(Code::internal, "vault: malformed oct key material");
    return key;
}

Cipher aes_wrap_pad() {
    Cipher c(EVP_CIPHER_fetch(nullptr, "AES-256-WRAP-PAD", nullptr));
    if (!c) fail(Code::internal, "EVP_CIPHER_fetch AES-256-WRAP-PAD");
    return c;
}

}  // namespace

void cleanse(std::string &s) noexcept {
    if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
    s.clear();
}

std::string base64_encode(std::span<const uint8_t> data) {
    std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char *>(out.data()), data.data(),
                            static_cast<int>(data.size()));
    out.resize(static_cast<size_t>(n));
    return out;
}

bool base64_decode_into(std::string_view text, SecretBuffer &out) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
        text.remove_suffix(1);
    if (text.empty() || text.size() % 4 != 0) return false;
    SecretBuffer buf(nullptr, text.size() / 4 * 3);
    int n = EVP_DecodeBlock(buf.data(), reinterpret_cast<const unsigned char *>(text.data()),
                            static_cast<int>(text.size()));
    if (n < 0) return false;
    size_t len = static_cast<size_t>(n);
    if (text.size() >= 1 && text[text.size() - 1] == '=') --len;
    if (text.size() >= 2 && text[text.size() - 2] == '=') --len;
    buf.resize_down(len);
    out = std::move(buf);
    return true;
}

std::string base64url_encode(std::span<const uint8_t> data) {
    std::string s = base64_encode(data);
    while (!s.empty() && s.back() == '=') s.pop_back();
    for (char &c : s) {
        if (c == '+') c = '-';
        else if (c == '/') c = '_';
    }
    return s;
}

std::string random_hex(size_t bytes) {
    std::vector<uint8_t> raw(bytes);
    if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) fail(Code::internal, "RAND_bytes");
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (uint8_t b : raw) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

SecretBuffer generate_material(KeyType kty, int bits) {
    if (kty == KeyType::oct) {
        SecretBuffer key(nullptr, 32);
        if (RAND_priv_bytes(key.data(), 32) != 1) fail(Code::internal, "RAND_priv_bytes");
        SecretBuffer text(nullptr, 4 * ((key.size() + 2) / 3) + 1);
        const int n = EVP_EncodeBlock(text.data(), key.data(), static_cast<int>(key.size()));
        text.resize_down(static_cast<size_t>(n));
        return text;
    }
    Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits)));
    if (!key) fail(Code::internal, "RSA key generation");
    Bio bio(BIO_new(BIO_s_secmem()));
    if (!bio) fail(Code::internal, "BIO_new");
    if (PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
        fail(Code::internal, "PEM_write_bio_PrivateKey");
    char *data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    if (len <= 0 || data == nullptr) fail(Code::internal, "BIO_get_mem_data");
    SecretBuffer pem;
    pem.append(std::string_view(data, static_cast<size_t>(len)));
    return pem;
}

void rsa_public_parts(std::string_view pem, std::string &n, std::string &e) {
    Pkey key = load_rsa(pem);
    for (auto [name, out] : {std::pair{OSSL_PKEY_PARAM_RSA_N, &n}, std::pair{OSSL_PKEY_PARAM_RSA_E, &e}}) {
        BIGNUM *raw = nullptr;
        if (EVP_PKEY_get_bn_param(key.get(), name, &raw) != 1) fail(Code::internal, "get RSA param");
        Bn bn(raw);
        std::vector<uint8_t> bytes(static_cast<size_t>(BN_num_bytes(bn.get())));
        BN_bn2bin(bn.get(), bytes.data());
        *out = base64url_encode(bytes);
    }
}

std::vector<uint8_t> wrap_with(KeyType kty, std::string_view material,
                               std::span<const uint8_t> plain) {
    if (kty == KeyType::rsa) {
        Pkey key = load_rsa(material);
        PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
        if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) != 1 ||
            EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) != 1 ||
            EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), EVP_sha256()) != 1 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), EVP_sha256()) != 1)
            fail(Code::internal, "RSA-OAEP setup");
        size_t len = 0;
        if (EVP_PKEY_encrypt(ctx.get(), nullptr, &len, plain.data(), plain.size()) != 1)
            fail(Code::internal, "RSA-OAEP encrypt");
        std::vector<uint8_t> out(len);
        if (EVP_PKEY_encrypt(ctx.get(), out.data(), &len, plain.data(), plain.size()) != 1)
            fail(Code::internal, "RSA-OAEP encrypt");
        out.resize(len);
        return out;
    }
    SecretBuffer key = load_oct(material);
    Cipher cipher = aes_wrap_pad();
    CipherCtx ctx(EVP_CIPHER_CTX_new());
    if (!ctx) fail(Code::internal, "EVP_CIPHER_CTX_new");
    EVP_CIPHER_CTX_set_flags(ctx.get(), EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    if (EVP_EncryptInit_ex2(ctx.get(), cipher.get(), key.data(), nullptr, nullptr) != 1)
        fail(Code::internal, "AES key wrap init");
    std::vector<uint8_t> out((plain.size() + 7) / 8 * 8 + 16);
    int len = 0;
    int fin = 0;
    if (EVP_EncryptUpdate(ctx.get(), out.data(), &len, plain.data(), static_cast<int>(plain.size())) != 1 ||
        EVP_EncryptFinal_ex(ctx.get(), out.data() + len, &fin) != 1)
        fail(Code::internal, "AES key wrap");
    out.resize(static_cast<size_t>(len) + static_cast<size_t>(fin));
    return out;
}

SecretBuffer unwrap_with(KeyType kty, std::string_view material,
                         std::span<const uint8_t> wrapped) {
    if (kty == KeyType::rsa) {
        Pkey key = load_rsa(material);
        PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
        if (!ctx || EVP_PKEY_decrypt_init(ctx.get()) != 1 ||
            EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) != 1 ||
            EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), EVP_sha256()) != 1 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), EVP_sha256()) != 1)
            fail(Code::internal, "RSA-OAEP setup");
        size_t len = 0;
        if (EVP_PKEY_decrypt(ctx.get(), nullptr, &len, wrapped.data(), wrapped.size()) != 1)
            fail(Code::invalid, "wrapped key does not decrypt under this key");
        SecretBuffer out(nullptr, len);
        if (EVP_PKEY_decrypt(ctx.get(), out.data(), &len, wrapped.data(), wrapped.size()) != 1)
            fail(Code::invalid, "wrapped key does not decrypt under this key");
        out.resize_down(len);
        return out;
    }
    if (wrapped.size() < 16 || wrapped.size() % 8 != 0)
        throw VaultError(Code::invalid, "wrapped key has a bad length for AES key wrap");
    SecretBuffer key = load_oct(material);
    Cipher cipher = aes_wrap_pad();
    CipherCtx ctx(EVP_CIPHER_CTX_new());
    if (!ctx) fail(Code::internal, "EVP_CIPHER_CTX_new");
    EVP_CIPHER_CTX_set_flags(ctx.get(), EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    if (EVP_DecryptInit_ex2(ctx.get(), cipher.get(), key.data(), nullptr, nullptr) != 1)
        fail(Code::internal, "AES key unwrap init");
    SecretBuffer out(nullptr, wrapped.size());
    int len = 0;
    int fin = 0;
    if (EVP_DecryptUpdate(ctx.get(), out.data(), &len, wrapped.data(), static_cast<int>(wrapped.size())) != 1 ||
        EVP_DecryptFinal_ex(ctx.get(), out.data() + len, &fin) != 1)
        fail(Code::invalid, "wrapped key does not decrypt under this key");
    out.resize_down(static_cast<size_t>(len) + static_cast<size_t>(fin));
    return out;
}

}  // namespace detail
}  // namespace cmkfs::localvault
