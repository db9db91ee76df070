// What Key Vault and the token endpoints answer, read as pure functions over
// the bytes received: error bodies, key/wrap/unwrap answers, Bearer
// challenges, Retry-After, token answers and OAuth errors. These bytes come
// from the network (or from whoever answers in Key Vault's place), so they
// are fuzzed on their own (fuzz/azure_answer.cpp); the clients that send the
// requests (vault_client.cpp, credentials.cpp) only call these.
#pragma once

#include <cmkfs/provider.h>

#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "azure_error.h"
#include "http_client.h"
#include "key_id.h"
#include <cmkfs/secret_buffer.h>
#include "settings.h"

namespace cmkfs::azure {

struct KeyInfo {
    KeyId versioned;  // the version the id resolved to
    bool enabled = false;
};

struct Wrapped {
    KeyId versioned;
    std::vector<uint8_t> value;
};

// Key Vault's error body: {"error":{"code":..,"message":..,"innererror":{"code":..}}}.
struct VaultErrorBody {
    std::vector<std::string> codes;  // outer first
    std::string message;
};
VaultErrorBody parse_error_body(std::string_view body);

// The one place a Key Vault answer becomes a cmkfs status.
AzureError vault_error(const std::string &op, const KeyId &key, const HttpResponse &r);

// Retry-After: seconds or an HTTP date; also the x-ms millisecond variants.
std::optional<Millis> retry_after(const HttpResponse &r);

// Parameters of a "Bearer k="v", k2="v2"" challenge, names in lower case.
std::map<std::string, std::string> challenge_params(const std::string &header);

// The versioned key an answer names (its "kid"), which must be `requested`
// or, for a version-less request, a version of it. Throws AzureError(INTERNAL).
KeyId versioned_kid_of(const KeyId &requested, const std::string &kid, const std::string &op);

// The bodies of 200 answers. Each throws AzureError(INTERNAL) when malformed.
KeyInfo key_info_from_answer(const std::string &op, const KeyId &key, std::string_view body);
Wrapped wrapped_from_answer(const std::string &op, const KeyId &versioned, std::string_view body);
// The answer holds the plaintext key: scanned in place, decoded into `plain`.
void unwrapped_from_answer(const std::string &op, const KeyId &versioned, std::string_view body,
                           sdk::SecretBuffer &plain);

// A token endpoint's 200 answer: the token (a view into `body`) and how many
// seconds it lives, from expires_in and expires_on (relative to
// `started_wall`); 60 when neither is given, at most a day. nullopt without
// an access_token.
struct TokenAnswer {
    std::string_view access_token;
    long long lifetime_seconds = 60;
};
std::optional<TokenAnswer> token_from_answer(std::string_view body, std::time_t started_wall);

// OAuth error bodies ({"error":"...","error_description":"..."}) never hold tokens.
void parse_oauth_error(std::string_view body, std::string &error, std::string &description);
cmkfs_status classify_token_failure(long status, const std::string &error, const std::string &description,
                                    bool imds);

}  // namespace cmkfs::azure
