#include "vault_client.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <optional>
#include <thread>

#include "azure_error.h"
#include "base64url.h"
#include "text.h"

namespace cmkfs::azure {

namespace {

using Clock = std::chrono::steady_clock;
constexpr Millis kMaxBackoff{8000};

bool transient(long status) { return status == 408 || status == 410 || status == 429 || status >= 500; }

std::string host_only(const std::string &url) {
    std::string h = lower(host_of(url));
    if (auto colon = h.rfind(':'); colon != std::string::npos) h = h.substr(0, colon);
    return h;
}

std::string default_resource(const KeyId &key) {
    // VAULT.vault.azure.net -> https://vault.azure.net, and likewise for the
    // sovereign clouds (vault.azure.cn, vault.usgovcloudapi.net) and managed HSMs.
    auto dot = key.host.find('.');
    if (dot != std::string::npos) {
        std::string rest = key.host.substr(dot + 1);
        if (rest.rfind("vault.", 0) == 0 || rest.rfind("managedhsm.", 0) == 0) return "https://" + rest;
    }
    return "https://vault.azure.net";
}

}  // namespace

VaultClient::VaultClient(const cmkfs_host *host, Settings settings)
    : host_(host), settings_(std::move(settings)), http_(host_, settings_), tokens_(host_, settings_, http_) {}

std::string VaultClient::resource_for(const KeyId &key) {
    std::lock_guard lock(mutex_);
    auto it = challenged_resource_.find(key.vault_url);
    if (it != challenged_resource_.end()) return it->second;
    return settings_.resource.empty() ? default_resource(key) : settings_.resource;
}

// A vault may name the resource its tokens are for; we only follow a
// challenge to a resource that belongs to the vault's own domain (or the one
// configured), so a look-alike vault cannot obtain a token for another service.
bool VaultClient::accept_challenge(const KeyId &key, const std::string &header) {
    auto params = challenge_params(header);
    std::string resource = params.count("resource") ? params["resource"] : "";
    if (resource.empty() && params.count("scope")) {
        resource = params["scope"];
        const std::string suffix = "/.default";
        if (resource.size() > suffix.size() && resource.compare(resource.size() - suffix.size(), suffix.size(), suffix) == 0)
            resource.resize(resource.size() - suffix.size());
    }
    while (resource.size() > 8 && resource.back() == '/') resource.pop_back();
    if (resource.empty()) return false;
    const std::string r_host = host_only(resource);
    const std::string configured = settings_.resource.empty() ? default_resource(key) : settings_.resource;
    const bool same_domain = key.host == r_host || (key.host.size() > r_host.size() + 1 &&
                                                    key.host.compare(key.host.size() - r_host.size() - 1,
                                                                     std::string::npos, "." + r_host) == 0);
    if (resource.rfind("https://", 0) != 0 || (!same_domain && resource != configured))
        throw AzureError(CMKFS_ERR_DENIED, "azure-keyvault: " + key.vault_url +
                                               " asked for a token for resource '" + one_line(resource) +
                                               "', which is not this vault's; refusing");
    std::lock_guard lock(mutex_);
    challenged_resource_[key.vault_url] = resource;
    return true;
}

HttpResponse VaultClient::send(const std::string &op, const KeyId &key, const std::string &client_id,
                               const char *method, const std::string &url, std::string_view body) {
    // Before any token is fetched: a bearer token goes to Key Vault only.
    require_trusted_vault_host(key, settings_.allowed_hosts);
    const auto deadline = Clock::now() + settings_.retry_budget;
    bool challenged = false;
    bool force_new_token = false;
    for (int attempt = 0;; ++attempt) {
        std::optional<AzureError> failure;
        std::optional<Millis> wait;
        std::optional<HttpResponse> r;
        try {
            sdk::SecretBuffer auth = tokens_.authorization(resource_for(key), client_id, force_new_token);
            force_new_token = false;
            HttpRequest req;
            req.method = method;
            req.url = url;
            req.secret_header = &auth;
            req.headers = {"Accept: application/json"};
            if (std::string_view(method) == "POST") req.headers.push_back("Content-Type: application/json");
            req.body = body;
            r.emplace(http_.perform(req));
        } catch (const AzureError &e) {
            // Token and transport failures: say which operation they stopped.
            AzureError with_key(e.status(), std::string(e.what()) + " [" + op + " " + key.str() + "]");
            if (e.status() != CMKFS_ERR_UNAVAILABLE) throw with_key;
            failure = with_key;
        }
        if (r) {
            if (r->status == 401 && !challenged) {
                challenged = true;
                if (!accept_challenge(key, r->header("www-authenticate"))) throw vault_error(op, key, *r);
                force_new_token = true;
                --attempt;  // answering a challenge is not a retry
                continue;
            }
            if (!transient(r->status)) return std::move(*r);
            failure = vault_error(op, key, *r);
            wait = retry_after(*r);
        }
        if (attempt >= settings_.max_retries)
            throw AzureError(CMKFS_ERR_UNAVAILABLE,
                             std::string(failure->what()) + " (gave up after " + std::to_string(attempt + 1) +
                                 (attempt == 0 ? " attempt)" : " attempts)"));
        Millis delay = wait.value_or(std::min<Millis>(kMaxBackoff, settings_.retry_base * (1L << std::min(attempt, 16))));
        if (Clock::now() + delay > deadline)
            throw AzureError(CMKFS_ERR_UNAVAILABLE,
                             std::string(failure->what()) + " (gave up after " + std::to_string(attempt + 1) +
                                 " attempts: the next try in " + std::to_string(delay.count()) +
                                 " ms would exceed the retry budget of " +
                                 std::to_string(settings_.retry_budget.count()) + " ms)");
        std::this_thread::sleep_for(delay);
    }
}

KeyInfo VaultClient::get_key(const KeyId &key, const std::string &client_id) {
    const std::string op = "get key";
    HttpResponse r = send(op, key, client_id, "GET", key.key_url() + "?api-version=" + kApiVersion, {});
    if (r.status != 200) throw vault_error(op, key, r);
    return key_info_from_answer(op, key, r.body.view());
}

Wrapped VaultClient::wrap(const KeyId &versioned, const std::string &client_id, const uint8_t *plain, size_t n) {
    const std::string op = "wrapkey";
    sdk::SecretBuffer body(host_);
    body.append(std::string("{\"alg\":\"") + kWrapAlgorithm + "\",\"value\":\"");
    base64url_encode(plain, n, body);
    body.append("\"}");
    HttpResponse r = send(op, versioned, client_id, "POST",
                          versioned.key_url() + "/wrapkey?api-version=" + kApiVersion, body.view());
    if (r.status != 200) throw vault_error(op, versioned, r);
    return wrapped_from_answer(op, versioned, r.body.view());
}

sdk::SecretBuffer VaultClient::unwrap(const KeyId &versioned, const std::string &client_id, const uint8_t *wrapped,
                                 size_t n) {
    const std::string op = "unwrapkey";
    std::string body = std::string("{\"alg\":\"") + kWrapAlgorithm + "\",\"value\":\"" +
                       base64url_encode(std::vector<uint8_t>(wrapped, wrapped + n)) + "\"}";
    HttpResponse r = send(op, versioned, client_id, "POST",
                          versioned.key_url() + "/unwrapkey?api-version=" + kApiVersion, body);
    if (r.status != 200) throw vault_error(op, versioned, r);
    // The answer holds the plaintext key: scanned in place, decoded into secure memory.
    sdk::SecretBuffer plain(host_);
    unwrapped_from_answer(op, versioned, r.body.view(), plain);
    return plain;
}

}  // namespace cmkfs::azure
