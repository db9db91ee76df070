// Wrapping a volume key with an AES key object, and the blob that records how:
//
//   "CMKP11" | version 0x01 | mechanism | payload
//   mechanism 0x01 aes-gcm:  IV (12 bytes, from the token's RNG) | ciphertext | tag (16)
//                            C_Encrypt/C_Decrypt with CKM_AES_GCM, AAD = the 8 header bytes
//   mechanism 0x02 aes-kwp:  key length (1 byte) | RFC 5649 output of C_WrapKey with
//                            CKM_AES_KEY_WRAP_PAD (the volume key passes through a
//                            short-lived session object; the length byte is there because
//                            SoftHSM2 2.6 returns unwrapped keys with their padding)
//
// The mechanism byte makes unwrap unambiguous whatever the options say now.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "key_object.h"
#include <cmkfs/secret_buffer.h>

namespace cmkfs::p11 {

enum class Mechanism : uint8_t { aes_gcm = 1, aes_kwp = 2 };
enum class MechanismChoice { automatic, aes_gcm, aes_kwp };

// Throws P11Error(INVALID) for an unknown name: auto, aes-gcm, aes-kwp.
MechanismChoice parse_mechanism(const std::string &name);

// The mechanism to wrap with: aes-gcm when the key may encrypt and decrypt,
// else aes-kwp when it may wrap and unwrap (auto), or the one asked for.
// Throws P11Error(DENIED) when the key's attributes forbid it.
Mechanism choose_mechanism(MechanismChoice choice, const KeyObject &key, const std::string &key_name);

std::vector<uint8_t> wrap_key(const TokenContext &ctx, const KeyObject &key, Mechanism mech, const uint8_t *plain,
                              size_t plain_len);

// Throws P11Error(INVALID) for a blob that is not ours or does not verify.
sdk::SecretBuffer unwrap_key(const TokenContext &ctx, const KeyObject &key, const cmkfs_host &host, const uint8_t *blob,
                        size_t blob_len);

}  // namespace cmkfs::p11
