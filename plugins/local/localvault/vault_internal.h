// Helpers shared by the vault's translation units: file I/O with flock and
// atomic replace, timestamps, base64, and the OpenSSL key operations.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <cmkfs/localvault.h>

namespace cmkfs::localvault::detail {

// --- time ---
int64_t now_ms();
std::string format_rfc3339(int64_t epoch_ms);  // 2024-05-01T12:00:00.123Z
int64_t parse_rfc3339(const std::string &text);  // throws VaultError(internal)

// --- files (errors: ENOENT -> not_found, others -> unavailable) ---
[[noreturn]] void throw_io(const std::string &context, int err);
bool exists(const std::string &path);
std::string read_file(const std::string &path);
// The same for key material: straight into locked, wiped memory.
SecretBuffer read_secret_file(const std::string &path);
// Temp file beside `path`, fsync, rename, fsync the directory.
void write_file_atomic(const std::string &path, std::string_view data, unsigned mode);
void make_dir(const std::string &path, unsigned mode);
void remove_tree(const std::string &path);
// The entry names of a directory, without "." and "..".
std::vector<std::string> list_dir(const std::string &path);
// One write(2) of `line` + '\n' with O_APPEND.
void append_line(const std::string &path, const std::string &line);

// flock on DIR/.lock for the lifetime of the object.
class DirLock {
public:
    DirLock(const std::string &vault_dir, bool exclusive);
    ~DirLock();
    DirLock(const DirLock &) = delete;
    DirLock &operator=(const DirLock &) = delete;

private:
    int fd_ = -1;
};

// --- encoding ---
std::string base64_encode(std::span<const uint8_t> data);       // standard, padded
bool base64_decode_into(std::string_view text, SecretBuffer &out);  // secret output
std::string base64url_encode(std::span<const uint8_t> data);    // unpadded
std::string random_hex(size_t bytes);

// --- key material (the material text itself is secret: a SecretBuffer) ---
// Returns the material file text: PEM for RSA, base64 for oct.
SecretBuffer generate_material(KeyType kty, int bits);
// Public modulus and exponent (base64url) of an RSA PEM.
void rsa_public_parts(std::string_view pem, std::string &n, std::string &e);
std::vector<uint8_t> wrap_with(KeyType kty, std::string_view material,
                               std::span<const uint8_t> plain);
// Throws VaultError(invalid) when the ciphertext does not decrypt.
SecretBuffer unwrap_with(KeyType kty, std::string_view material,
                         std::span<const uint8_t> wrapped);
void cleanse(std::string &s) noexcept;

}  // namespace cmkfs::localvault::detail
