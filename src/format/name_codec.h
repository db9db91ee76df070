// File names: AES-256-SIV with the parent directory's id as associated data,
// base64url-encoded. Deterministic, so lookup encrypts the name and opens it.
// The same name in two directories encrypts differently.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/secure_bytes.h"
#include "format/layout.h"

namespace cmkfs::format {

using DirId = std::array<uint8_t, kDirIdSize>;

struct BackingName {
    std::string name;     // what is stored in the backing directory
    std::string sidecar;  // non-empty for long names: the sidecar's file name
    std::string full;     // for long names: the full encoded name kept in the sidecar
    bool is_long() const { return !sidecar.empty(); }
};

class NameCodec {
public:
    // names == nullptr means plaintext names.
    explicit NameCodec(const crypto::NameKey *names) : names_(names) {}

    bool plaintext() const { return names_ == nullptr; }

    // Throws Error(EINVAL/ENAMETOOLONG/EPERM) for names that cannot be stored.
    BackingName encode(const DirId &parent, std::string_view plain) const;

    // Decodes a direct (not long) backing name; nullopt if it fails to authenticate.
    std::optional<std::string> decode(const DirId &parent, std::string_view encoded) const;
    // Decodes a long name from its sidecar's content `full`; nullopt unless
    // `backing` is the hash of `full` (so sidecars cannot be swapped) and
    // `full` authenticates.
    std::optional<std::string> decode_long(const DirId &parent, std::string_view backing,
                                           std::string_view full) const;

    // Long-name helpers: ".cmkfs.long.<hash>" ⇄ sidecar ".cmkfs.long.<hash>.name",
    // <hash> = base64url(SHA-256(full encoded name)), exactly 43 characters.
    static bool is_long_name(std::string_view backing);   // not the sidecar
    static bool is_sidecar(std::string_view backing);
    static std::string sidecar_for(std::string_view long_name);
    static std::string long_name_for(std::string_view full);

    // Symlink targets and xattr values: AES-256-GCM under the metadata key,
    // random nonce, `context` as AAD. Returns base64url (targets) or raw bytes.
    static std::string seal_text(const crypto::MetaKey &key, std::string_view context,
                                 std::string_view plain);
    static std::optional<std::string> open_text(const crypto::MetaKey &key, std::string_view context,
                                                std::string_view sealed);

private:
    const crypto::NameKey *names_;
};

// Raw-byte variants used for xattr values (no base64, binary safe).
std::string seal_bytes(const crypto::MetaKey &key, std::string_view context, std::string_view plain);
std::optional<std::string> open_bytes(const crypto::MetaKey &key, std::string_view context,
                                      std::string_view sealed);

}  // namespace cmkfs::format
