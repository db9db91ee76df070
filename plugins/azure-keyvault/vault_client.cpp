#include "vault_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "azure_error.h"
#include "base64url.h"
#include "json_scan.h"
#include "text.h"

namespace cmkfs::azure {

namespace {

using Clock = std::chrono::steady_clock;
constexpr Millis kMaxBackoff{8000};

bool transient(long status) { return status == 408 || status == 410 || status == 429 || status >= 500; }

// Key Vault's error body: {"error":{"code":..,"message":..,"innererror":{"code":..}}}.
struct VaultErrorBody {
    std::vector<std::string> codes;  // outer first
    std::string message;
};

VaultErrorBody parse_error_body(const HttpResponse &r) {
    VaultErrorBody out;
    auto j = nlohmann::json::parse(r.body.view(), nullptr, false);
    if (!j.is_object() || !j.contains("error") || !j["error"].is_object()) return out;
    const nlohmann::json *e = &j["error"];
    if (e->contains("message") && (*e)["message"].is_string()) out.message = (*e)["message"].get<std::string>();
    for (int depth = 0; e != nullptr && e->is_object() && depth < 8; ++depth) {
        if (e->contains("code") && (*e)["code"].is_string()) out.codes.push_back((*e)["code"].get<std::string>());
        e = e->contains("innererror") ? &(*e)["innererror"] : nullptr;
    }
    return out;
}

bool has_code(const VaultErrorBody &b, const char *code) {
    return std::find(b.codes.begin(), b.codes.end(), code) != b.codes.end();
}

// The one place a Key Vault answer becomes a cmkfs status.
AzureError vault_error(const std::string &op, const KeyId &key, const HttpResponse &r) {
    VaultErrorBody body = parse_error_body(r);
    std::string codes;
    for (const auto &c : body.codes) codes += (codes.empty() ? "" : "/") + c;
    std::string msg = "azure-keyvault: " + op + " " + key.str() + ": HTTP " + std::to_string(r.status);
    if (!codes.empty()) msg += " " + codes;
    if (!body.message.empty()) msg += ": " + one_line(body.message);

    // Azure reports a disabled key as 403 Forbidden with inner code
    // KeyDisabled ("Operation X is not allowed on a disabled key").
    const std::string m = lower(body.message);
    if (has_code(body, "KeyDisabled") || m.find("disabled key") != std::string::npos ||
        has_code(body, "KeyNotYetValidOrExpired"))
        return AzureError(CMKFS_ERR_DISABLED, msg);
    if (r.status == 401 || r.status == 403) return AzureError(CMKFS_ERR_DENIED, msg);
    if (r.status == 404 || has_code(body, "KeyNotFound")) return AzureError(CMKFS_ERR_NOT_FOUND, msg);
    if (transient(r.status)) return AzureError(CMKFS_ERR_UNAVAILABLE, msg);
    if (r.status >= 400 && r.status < 500) return AzureError(CMKFS_ERR_INVALID, msg);
    return AzureError(CMKFS_ERR_INTERNAL, msg);
}

// Retry-After: seconds or an HTTP date; also the x-ms millisecond variants.
std::optional<Millis> retry_after(const HttpResponse &r) {
    for (const char *name : {"retry-after-ms", "x-ms-retry-after-ms"}) {
        std::string v = r.header(name);
        if (!v.empty() && v.find_first_not_of("0123456789") == std::string::npos) return Millis(std::stoll(v));
    }
    std::string v = r.header("retry-after");
    if (v.empty()) return std::nullopt;
    if (v.find_first_not_of("0123456789") == std::string::npos && v.size() < 9) return Millis(std::stoll(v) * 1000);
    time_t when = curl_getdate(v.c_str(), nullptr);
    if (when < 0) return std::nullopt;
    long long delta = static_cast<long long>(when) - static_cast<long long>(std::time(nullptr));
    return Millis(std::max(0LL, delta) * 1000);
}

// Parameters of a "Bearer k="v", k2="v2"" challenge.
std::map<std::string, std::string> challenge_params(const std::string &header) {
    std::map<std::string, std::string> out;
    std::string h = header;
    if (lower(h.substr(0, 7)) != "bearer ") return out;
    size_t pos = 7;
    while (pos < h.size()) {
        while (pos < h.size() && (h[pos] == ' ' || h[pos] == ',')) ++pos;
        size_t eq = h.find('=', pos);
        if (eq == std::string::npos) break;
        std::string name = lower(h.substr(pos, eq - pos));
        pos = eq + 1;
        std::string value;
        if (pos < h.size() && h[pos] == '"') {
            size_t end = h.find('"', pos + 1);
            if (end == std::string::npos) break;
            value = h.substr(pos + 1, end - pos - 1);
            pos = end + 1;
        } else {
            size_t end = h.find(',', pos);
            value = h.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
            pos = end == std::string::npos ? h.size() : end;
        }
        out[name] = value;
    }
    return out;
}

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
            plugin::SecretBuffer auth = tokens_.authorization(resource_for(key), client_id, force_new_token);
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

KeyId VaultClient::versioned_kid_of(const KeyId &requested, const std::string &kid, const std::string &op) const {
    if (kid.empty()) {
        if (requested.version.empty())
            throw AzureError(CMKFS_ERR_INTERNAL, "azure-keyvault: " + op + " " + requested.str() +
                                                     ": the answer names no key version");
        return requested;
    }
    KeyId got;
    try {
        got = parse_key_id(kid);
    } catch (const AzureError &) {
        throw AzureError(CMKFS_ERR_INTERNAL, "azure-keyvault: " + op + " " + requested.str() +
                                                 ": the answer names a malformed key id");
    }
    if (got.host != requested.host || lower(got.name) != lower(requested.name) || got.version.empty() ||
        (!requested.version.empty() && got.version != requested.version))
        throw AzureError(CMKFS_ERR_INTERNAL, "azure-keyvault: " + op + " " + requested.str() +
                                                 ": the answer names another key (" + got.str() + ")");
    // Keep the vault URL as the caller wrote it (port, case).
    got.vault_url = requested.vault_url;
    return got;
}

KeyInfo VaultClient::get_key(const KeyId &key, const std::string &client_id) {
    const std::string op = "get key";
    HttpResponse r = send(op, key, client_id, "GET", key.key_url() + "?api-version=" + kApiVersion, {});
    if (r.status != 200) throw vault_error(op, key, r);
    auto j = nlohmann::json::parse(r.body.view(), nullptr, false);
    if (!j.is_object() || !j.contains("key") || !j["key"].is_object())
        throw AzureError(CMKFS_ERR_INTERNAL, "azure-keyvault: " + op + " " + key.str() + ": malformed answer");
    KeyInfo info;
    const auto &k = j["key"];
    info.versioned = versioned_kid_of(key, k.contains("kid") && k["kid"].is_string() ? k["kid"].get<std::string>() : "", op);
    info.enabled = true;
    if (j.contains("attributes") && j["attributes"].is_object() && j["attributes"].contains("enabled") &&
        j["attributes"]["enabled"].is_boolean())
        info.enabled = j["attributes"]["enabled"].get<bool>();
    return info;
}

Wrapped VaultClient::wrap(const KeyId &versioned, const std::string &client_id, const uint8_t *plain, size_t n) {
    const std::string op = "wrapkey";
    plugin::SecretBuffer body(host_);
    body.append(std::string("{\"alg\":\"") + kWrapAlgorithm + "\",\"value\":\"");
    base64url_encode(plain, n, body);
    body.append("\"}");
    HttpResponse r = send(op, versioned, client_id, "POST",
                          versioned.key_url() + "/wrapkey?api-version=" + kApiVersion, body.view());
    if (r.status != 200) throw vault_error(op, versioned, r);
    auto j = nlohmann::json::parse(r.body.view(), nullptr, false);
    if (!j.is_object() || !j.contains("value") || !j["value"].is_string())
        throw AzureError(CMKFS_ERR_INTERNAL, "azure-keyvault: " + op + " " + versioned.str() + ": malformed answer");
    Wrapped out;
    out.versioned =
        versioned_kid_of(versioned, j.contains("kid") && j["kid"].is_string() ? j["kid"].get<std::string>() : "", op);
    if (!base64url_decode(j["value"].get<std::string>(), out.value) || out.value.empty())
        throw AzureError(CMKFS_ERR_INTERNAL, "azure-keyvault: " + op + " " + versioned.str() + ": malformed value");
    return out;
}

plugin::SecretBuffer VaultClient::unwrap(const KeyId &versioned, const std::string &client_id, const uint8_t *wrapped,
                                 size_t n) {
    const std::string op = "unwrapkey";
    std::string body = std::string("{\"alg\":\"") + kWrapAlgorithm + "\",\"value\":\"" +
                       base64url_encode(std::vector<uint8_t>(wrapped, wrapped + n)) + "\"}";
    HttpResponse r = send(op, versioned, client_id, "POST",
                          versioned.key_url() + "/unwrapkey?api-version=" + kApiVersion, body);
    if (r.status != 200) throw vault_error(op, versioned, r);
    // The answer holds the plaintext key: scanned in place, decoded into secure memory.
    auto value = find_plain_string_member(r.body.view(), "value");
    plugin::SecretBuffer plain(host_);
    if (!value || !base64url_decode(*value, plain) || plain.empty())
        throw AzureError(CMKFS_ERR_INTERNAL, "azure-keyvault: " + op + " " + versioned.str() + ": malformed answer");
    return plain;
}

}  // namespace cmkfs::azure
