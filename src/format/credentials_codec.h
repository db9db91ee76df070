// Registry credentials kept in a store by docker-credential-cmkfs: one file,
// ".cmkfs.credentials" at the backing root (a reserved name, so never an entry
// of the mounted view), AES-256-GCM under the credentials key derived from the
// volume key and bound to the volume id. Layout in docs/FORMAT.md §7.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/secure_bytes.h"

namespace cmkfs::format {

inline constexpr std::string_view kCredentialsFileName = ".cmkfs.credentials";

struct RegistryCredential {
    std::string username;
    std::string secret;
    bool operator==(const RegistryCredential &) const = default;
};
// By server URL, exactly as the client gave it.
using RegistryCredentials = std::map<std::string, RegistryCredential>;

std::vector<uint8_t> seal_credentials(const crypto::CredentialsKey &key, std::string_view volume_id,
                                      const RegistryCredentials &credentials);
// Throws IntegrityError when the file is malformed, belongs to another volume
// or fails authentication.
RegistryCredentials open_credentials(const crypto::CredentialsKey &key, std::string_view volume_id,
                                     std::span<const uint8_t> sealed);

}  // namespace cmkfs::format
