// The local vault: a directory that behaves like an Azure Key Vault for one
// host. Keys (RSA or AES "oct") with versions, soft delete with a retention
// period, purge protection, access policies per identity and an append-only
// JSON-lines audit log. The files are the source of truth: every call re-reads
// them, so a change made by another process is seen by the next call.
//
// Layout (directory 0700, files 0600):
//   DIR/vault.json                 retention_days, purge_protection, created
//   DIR/policies.json              identity -> key permissions
//   DIR/keys/<name>/key.json       kty, size, versions (oldest first) with
//                                  attributes, soft-delete state
//   DIR/keys/<name>/<version>.key  key material: RSA private key PEM, or
//                                  base64 of the 256-bit AES key
//   DIR/audit.log                  one JSON object per line, per operation
//   DIR/.lock                      flock: shared to read, exclusive to change
//
// Key id (kid): local://<absolute-vault-dir>/keys/<name>[/<version>]
// A version-less kid means "the newest version".
//
// The public header of the cmkfs_localvault library, used by the `local`
// provider plugin (plugins/local/provider_local.cpp) and by `cmkfs vault`
// (src/cli/cmd_vault.cpp); nothing else of plugins/local/ is theirs to
// include. Depends only on OpenSSL, nlohmann_json and the provider SDK's
// secret buffer. Methods are thread safe (no mutable state).
#pragma once

#include <cmkfs/secret_buffer.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace cmkfs::localvault {

// Why an operation failed. The first five match the provider ABI's classes.
enum class Code { denied, not_found, disabled, unavailable, invalid, conflict, internal };
const char *to_string(Code c);

class VaultError : public std::runtime_error {
public:
    VaultError(Code code, const std::string &what) : std::runtime_error(what), code_(code) {}
    Code code() const noexcept { return code_; }

private:
    Code code_;
};

// Plaintext key bytes: the provider SDK's locked, wiped buffer.
using SecretBuffer = sdk::SecretBuffer;

enum class KeyType { rsa, oct };
const char *to_string(KeyType t);             // "RSA" / "oct"
std::optional<KeyType> parse_key_type(std::string_view s);  // case-insensitive

inline constexpr int kDefaultRetentionDays = 90;
inline constexpr int kMinRetentionDays = 1;
inline constexpr int kMaxRetentionDays = 90;
inline constexpr int kDefaultRsaBits = 3072;

// The permissions an access policy can grant ("all" expands to every one).
const std::vector<std::string> &all_permissions();

// A parsed key id. version empty = version-less ("latest").
struct KeyId {
    std::string vault_dir;  // absolute
    std::string name;
    std::string version;
    std::string str() const;           // with version if set
    std::string versionless() const;   // without version
};
// Throws VaultError(invalid) naming what is wrong.
KeyId parse_kid(std::string_view kid);

struct VaultSettings {
    int retention_days = kDefaultRetentionDays;
    bool purge_protection = false;
    std::string created;  // RFC 3339, set by create()
};

struct KeyVersionInfo {
    std::string name;
    std::string version;
    std::string kid;      // versioned
    KeyType kty = KeyType::rsa;
    int size = 0;         // bits
    bool enabled = true;
    std::string created;  // RFC 3339 UTC
    std::string updated;
    std::string rsa_n;    // base64url of the public modulus (RSA only)
    std::string rsa_e;    // base64url of the public exponent (RSA only)
};

struct KeyInfo {
    std::string name;
    std::string kid;                       // version-less
    KeyType kty = KeyType::rsa;
    int size = 0;
    std::vector<KeyVersionInfo> versions;  // oldest first (rsa_n/rsa_e empty)
    std::optional<std::string> deleted;            // soft-delete time
    std::optional<std::string> scheduled_purge;    // deleted + retention days
    std::string recovery_level;  // "Recoverable" or "Recoverable+Purgeable"
};

struct WrapOutput {
    std::vector<uint8_t> wrapped;
    std::string versioned_kid;
};

class Vault {
public:
    // Creates a new vault in `dir` (created 0700, or an existing empty
    // directory). Throws VaultError(conflict) if a vault already exists.
    static Vault create(const std::string &dir, const VaultSettings &settings);
    // Opens an existing vault; throws VaultError(not_found) when there is none.
    static Vault open(const std::string &dir);

    const std::string &dir() const noexcept { return dir_; }
    // The audit log path (default DIR/audit.log).
    const std::string &audit_path() const noexcept { return audit_path_; }
    void set_audit_path(std::string path) { audit_path_ = std::move(path); }
    VaultSettings settings() const;
    std::string url() const;  // local://DIR
    KeyId key_id(const std::string &name, const std::string &version = {}) const;

    // --- management, as `actor` (audited, no policy check) ---
    // Adds a new version (creates the key when it does not exist). size: bits
    // for RSA (2048/3072/4096, 0 = default), ignored for oct (always 256).
    KeyVersionInfo create_key(const std::string &name, KeyType kty, int size,
                              const std::string &actor = "operator");
    std::vector<KeyInfo> list_keys(bool include_deleted, const std::string &actor = "operator");
    // version empty: the newest version. Includes the RSA public parts.
    KeyVersionInfo show_key(const std::string &name, const std::string &version = {},
                            const std::string &actor = "operator");
    KeyInfo key_info(const std::string &name, const std::string &actor = "operator");
    // version empty: the newest version.
    KeyVersionInfo set_enabled(const std::string &name, const std::string &version, bool enabled,
                               const std::string &actor = "operator");
    KeyInfo delete_key(const std::string &name, const std::string &actor = "operator");
    KeyInfo recover_key(const std::string &name, const std::string &actor = "operator");
    // Refused (conflict) when not deleted, or while purge protection holds
    // (purge protection on and the scheduled purge date not reached).
    void purge_key(const std::string &name, const std::string &actor = "operator");
    // Replaces the identity's key permissions.
    void set_policy(const std::string &identity, const std::vector<std::string> &permissions,
                    const std::string &actor = "operator");
    void delete_policy(const std::string &identity, const std::string &actor = "operator");
    std::map<std::string, std::vector<std::string>> list_policies(
        const std::string &actor = "operator");

    // --- data plane, as `identity` (policy checked, audited) ---
    // wrap needs get+wrapKey; a version-less kid uses the newest enabled version.
    WrapOutput wrap(const std::string &identity, const KeyId &kid, std::span<const uint8_t> plain);
    // unwrap needs get+unwrapKey; a version-less kid uses the newest version.
    SecretBuffer unwrap(const std::string &identity, const KeyId &kid,
                        std::span<const uint8_t> wrapped);
    // Needs get+wrapKey+unwrapKey and a usable key (exists, not deleted,
    // enabled). Returns the versioned kid (newest enabled when version-less).
    std::string check(const std::string &identity, const KeyId &kid);

    // Called when an audit line cannot be written (the operation itself
    // still completes). Unset: the failure is ignored.
    std::function<void(const std::string &)> on_audit_error;

private:
    explicit Vault(std::string dir);
    std::string dir_;
    std::string audit_path_;
};

}  // namespace cmkfs::localvault
