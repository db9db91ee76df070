// The two AEADs cmkfs uses, both from OpenSSL 3 EVP:
//  - AES-256-GCM for file contents, symlink targets and xattr values
//    (random 96-bit nonce per encryption, 128-bit tag);
//  - AES-SIV (RFC 5297) for names: deterministic, so a name can be looked up
//    by encrypting it again.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <vector>

#include <openssl/types.h>

namespace cmkfs::crypto {

inline constexpr size_t kGcmKeySize = 32;
inline constexpr size_t kGcmNonceSize = 12;
inline constexpr size_t kGcmTagSize = 16;
inline constexpr size_t kSivTagSize = 16;

// AES-256-GCM under one key for many messages (the blocks of one request):
// the key schedule and GHASH table are computed once per direction, not per
// message, and wiped when this goes away. One per thread at a time; the key
// must outlive it.
class GcmCipher {
public:
    explicit GcmCipher(std::span<const uint8_t> key);
    ~GcmCipher();
    GcmCipher(const GcmCipher &) = delete;
    GcmCipher &operator=(const GcmCipher &) = delete;

    // Encrypts plain into out_cipher (same size) and writes the tag.
    void seal(std::span<const uint8_t> nonce, std::span<const uint8_t> aad, std::span<const uint8_t> plain,
              std::span<uint8_t> out_cipher, std::span<uint8_t> out_tag);
    // Decrypts and verifies; returns false (and leaves out_plain unspecified
    // but wiped) when the tag does not match.
    [[nodiscard]] bool open(std::span<const uint8_t> nonce, std::span<const uint8_t> aad,
                            std::span<const uint8_t> cipher, std::span<const uint8_t> tag,
                            std::span<uint8_t> out_plain);

private:
    std::span<const uint8_t> key_;
    evp_cipher_ctx_st *seal_ctx_ = nullptr;  // keyed on first use
    evp_cipher_ctx_st *open_ctx_ = nullptr;
};

// One-shot forms of GcmCipher::seal and ::open.
void gcm_seal(std::span<const uint8_t> key, std::span<const uint8_t> nonce,
              std::span<const uint8_t> aad, std::span<const uint8_t> plain,
              std::span<uint8_t> out_cipher, std::span<uint8_t> out_tag);

[[nodiscard]] bool gcm_open(std::span<const uint8_t> key, std::span<const uint8_t> nonce,
                            std::span<const uint8_t> aad, std::span<const uint8_t> cipher,
                            std::span<const uint8_t> tag, std::span<uint8_t> out_plain);

// AES-SIV. key is 32 (AES-128-SIV) or 64 bytes (AES-256-SIV). The result is
// V (16-byte synthetic IV) || C, as in RFC 5297.
std::vector<uint8_t> siv_seal(std::span<const uint8_t> key,
                              std::initializer_list<std::span<const uint8_t>> aad,
                              std::span<const uint8_t> plain);
// Returns false when authentication fails or input is shorter than the tag.
[[nodiscard]] bool siv_open(std::span<const uint8_t> key,
                            std::initializer_list<std::span<const uint8_t>> aad,
                            std::span<const uint8_t> sealed, std::vector<uint8_t> &out_plain);

}  // namespace cmkfs::crypto
