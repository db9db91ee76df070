// The credentials of docker-credential-cmkfs kept in a cmkfs store: the store
// is named by a cmkfs config file (volume.backing, optional provider
// overrides), found in $CMKFS_CREDENTIALS_CONFIG or /etc/cmkfs/credentials.yaml.
#pragma once

#include <memory>
#include <string>

#include "credhelper/protocol.h"

namespace cmkfs::credhelper {

inline constexpr const char *kConfigEnv = "CMKFS_CREDENTIALS_CONFIG";
inline constexpr const char *kDefaultConfig = "/etc/cmkfs/credentials.yaml";

// Opens the store and unwraps its volume key through its provider. Throws
// HelperError with a one-line reason: revoked key, unavailable provider,
// missing store or config.
std::unique_ptr<CredentialBackend> open_store_backend(const std::string &config_path);

}  // namespace cmkfs::credhelper
