// The host side of the plugin ABI (include/cmkfs/provider.h): loads a provider
// shared object, checks it, and exposes it as a C++ object whose failures are
// ProviderError exceptions carrying the provider's status class.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "cmkfs/provider.h"
#include "crypto/secure_bytes.h"
#include "util/errors.h"

namespace cmkfs::keys {

enum class ProviderStatus { ok, denied, not_found, disabled, unavailable, invalid, internal };

const char *to_string(ProviderStatus s);
ProviderStatus from_c_status(cmkfs_status s);

// True for the statuses that mean "the customer revoked access".
inline bool is_revocation(ProviderStatus s) {
    return s == ProviderStatus::denied || s == ProviderStatus::not_found ||
           s == ProviderStatus::disabled;
}

// A provider call failed. errno: EACCES for revocations, EIO otherwise.
class ProviderError : public Error {
public:
    ProviderError(ProviderStatus status, const std::string &what);
    ProviderStatus status() const noexcept { return status_; }

private:
    ProviderStatus status_;
};

// The plugin could not be loaded (file missing, unsafe permissions, missing
// entry symbol, unknown ABI version, provider refused to open).
class PluginLoadError : public Error {
public:
    explicit PluginLoadError(const std::string &what) : Error(ENOEXEC, what) {}
};

struct KeyRef {
    std::string key_id;    // versioned or version-less
    std::string identity;
};

struct WrapResult {
    std::vector<uint8_t> wrapped;
    std::string versioned_key_id;
};

struct PluginInfo {
    std::string name;
    std::string path;
    uint32_t abi_version = 0;
    std::string description;
};

// Directories searched for "NAME" -> "<dir>/libcmkfs-provider-NAME.so":
// the build tree's plugin directory, then the install prefix's.
std::vector<std::string> default_plugin_dirs();

// Every loadable plugin found in dirs (refusals are skipped, logged at debug).
std::vector<PluginInfo> list_plugins(const std::vector<std::string> &dirs);

class KeyProvider {
public:
    virtual ~KeyProvider() = default;
    virtual const std::string &name() const = 0;
    virtual WrapResult wrap(const KeyRef &key, std::span<const uint8_t> plain) = 0;
    virtual crypto::SecureBytes unwrap(const KeyRef &key, std::span<const uint8_t> wrapped) = 0;
    // Returns the versioned key id the key resolves to now.
    virtual std::string check(const KeyRef &key) = 0;
};

// Loads `name_or_path` (a provider name searched in `dirs`, or an absolute
// path to a .so) and opens it with the given "key=value" options.
// Throws PluginLoadError with a one-line reason on any refusal.
std::unique_ptr<KeyProvider> load_provider(const std::string &name_or_path,
                                           const std::vector<std::string> &options,
                                           const std::vector<std::string> &dirs = default_plugin_dirs());

}  // namespace cmkfs::keys
