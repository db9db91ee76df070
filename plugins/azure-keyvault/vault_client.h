// Key Vault's key operations over REST (api-version 7.5): get a key, wrapkey,
// unwrapkey with RSA-OAEP-256. Every request carries a bearer token; a 401
// challenge is answered once with a token for the challenged resource; 429,
// 408, 410, 5xx and transport failures are retried with backoff (honouring
// Retry-After) within a bounded number of attempts and a time budget; the
// final answer is mapped to a cmkfs status in one place (vault_error).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "answers.h"
#include "credentials.h"
#include "http_client.h"
#include "key_id.h"
#include <cmkfs/secret_buffer.h>
#include "settings.h"

namespace cmkfs::azure {

constexpr const char *kApiVersion = "7.5";
constexpr const char *kWrapAlgorithm = "RSA-OAEP-256";

class VaultClient {
public:
    VaultClient(const cmkfs_host *host, Settings settings);

    // `client_id` is who authenticates (the volume's identity unless the
    // client_id= option overrides it).
    KeyInfo get_key(const KeyId &key, const std::string &client_id);
    Wrapped wrap(const KeyId &versioned, const std::string &client_id, const uint8_t *plain, size_t n);
    sdk::SecretBuffer unwrap(const KeyId &versioned, const std::string &client_id, const uint8_t *wrapped, size_t n);

    const Settings &settings() const { return settings_; }
    const cmkfs_host *host() const { return host_; }

private:
    HttpResponse send(const std::string &op, const KeyId &key, const std::string &client_id, const char *method,
                      const std::string &url, std::string_view body);
    std::string resource_for(const KeyId &key);
    // False when the 401 carries no usable challenge.
    bool accept_challenge(const KeyId &key, const std::string &header);

    const cmkfs_host *host_;
    Settings settings_;
    HttpClient http_;
    TokenCache tokens_;
    std::mutex mutex_;
    std::map<std::string, std::string> challenged_resource_;  // vault URL -> resource
};

}  // namespace cmkfs::azure
