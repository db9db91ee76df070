// The docker-credential-helpers protocol (docker, containerd, skopeo, podman
// all speak it): `docker-credential-cmkfs ACTION` with
//   store  stdin {"ServerURL","Username","Secret"}      stdout nothing
//   get    stdin SERVER_URL                             stdout {"ServerURL","Username","Secret"}
//   erase  stdin SERVER_URL                             stdout nothing
//   list   stdin nothing                                stdout {"SERVER_URL":"USERNAME",...}
//   version                                             stdout one line
// A failure is one line on stdout and exit status 1; clients recognise the
// exact text kNotFound.
#pragma once

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "format/credentials_codec.h"

namespace cmkfs::credhelper {

inline constexpr std::string_view kNotFound = "credentials not found in native keychain";
inline constexpr std::string_view kMissingServerUrl = "no credentials server URL";
inline constexpr std::string_view kMissingUsername = "no credentials username";

// A failure the client is to see as it is.
class HelperError : public std::runtime_error {
public:
    explicit HelperError(std::string_view what) : std::runtime_error(std::string(what)) {}
};

// Where the credentials live (the store's credentials file, or a map in tests).
class CredentialBackend {
public:
    virtual ~CredentialBackend() = default;
    virtual format::RegistryCredentials read() = 0;
    virtual void update(const std::function<void(format::RegistryCredentials &)> &change) = 0;
};

// Opened only by the actions that need the credentials, so `version` and
// malformed input never touch the key.
using BackendFactory = std::function<std::unique_ptr<CredentialBackend>()>;

// Runs one action on `input` (the whole of stdin) and returns what goes to
// stdout. Throws HelperError; the backend's own errors pass through.
std::string run_action(std::string_view action, std::string_view input, const BackendFactory &open_backend);

}  // namespace cmkfs::credhelper
