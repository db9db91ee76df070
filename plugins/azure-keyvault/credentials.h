// Access tokens for Key Vault: from the managed-identity endpoint (IMDS) or
// from Microsoft Entra ID with a client secret read from a file. Tokens are
// cached per (resource, client id) in secure memory and replaced before they
// expire; one token request at a time, so threads starting together share it.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "http_client.h"
#include <cmkfs/secret_buffer.h>
#include "settings.h"

namespace cmkfs::azure {

class TokenCache {
public:
    TokenCache(const cmkfs_host *host, const Settings &settings, HttpClient &http)
        : host_(host), settings_(settings), http_(http) {}

    // "Authorization: Bearer <token>" for `resource` (an audience such as
    // https://vault.azure.net), authenticating as `client_id`. force_new
    // discards a cached token first (after the vault rejected it).
    // Throws AzureError: DENIED (identity unknown, bad secret), INVALID
    // (configuration), UNAVAILABLE (endpoint unreachable, throttled, 5xx).
    sdk::SecretBuffer authorization(const std::string &resource, const std::string &client_id, bool force_new);

private:
    using Clock = std::chrono::steady_clock;
    struct Token {
        explicit Token(const cmkfs_host *host) : header(host) {}
        sdk::SecretBuffer header;
        Clock::time_point refresh_at;
    };

    Token fetch(const std::string &resource, const std::string &client_id);
    HttpResponse request_imds(const std::string &resource, const std::string &client_id);
    HttpResponse request_entra(const std::string &resource, const std::string &client_id);
    sdk::SecretBuffer read_client_secret() const;

    const cmkfs_host *host_;
    const Settings &settings_;
    HttpClient &http_;
    std::mutex mutex_;  // guards cache_ and serialises token requests
    std::map<std::string, Token> cache_;
};

}  // namespace cmkfs::azure
