#include "answers.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "base64url.h"
#include "json_scan.h"
#include "text.h"

namespace cmkfs::azure {

namespace {

bool transient(long status) { return status == 408 || status == 410 || status == 429 || status >= 500; }

bool has_code(const VaultErrorBody &b, const char *code) {
    return std::find(b.codes.begin(), b.codes.end(), code) != b.codes.end();
}

long long to_number(std::optional<std::string_view> v) {
    if (!v) return -1;
    std::string s(*v);
    char *end = nullptr;
    long long n = std::strtoll(s.c_str(), &end, 10);
    return (s.empty() || (*end != '\0' && *end != '.')) ? -1 : n;
}

}  // namespace

VaultErrorBody parse_error_body(std::string_view body) {
    VaultErrorBody out;
    auto j = nlohmann::json::parse(body, nullptr, false);
    if (!j.is_object() || !j.contains("error") || !j["error"].is_object()) return out;
    const nlohmann::json *e = &j["error"];
    if (e->contains("message") && (*e)["message"].is_string()) out.message = (*e)["message"].get<std::string>();
    for (int depth = 0; e != nullptr && e->is_object() && depth < 8; ++depth) {
        if (e->contains("code") && (*e)["code"].is_string()) out.codes.push_back((*e)["code"].get<std::string>());
        e = e->contains("innererror") ? &(*e)["innererror"] : nullptr;
    }
    return out;
}

AzureError vault_error(const std::string &op, const KeyId &key, const HttpResponse &r) {
    VaultErrorBody body = parse_error_body(r.body.view());
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

std::optional<Millis> retry_after(const HttpResponse &r) {
    // Longer than a day is "longer than any retry budget": clamped, so that
    // the caller's deadline arithmetic (in nanoseconds) cannot overflow. Only
    // up to 9 digits are read: a longer millisecond value made std::stoll
    // throw, an INTERNAL failure instead of a retry (found by fuzz/azure_answer.cpp).
    constexpr Millis kMaxWait{24LL * 3600 * 1000};
    for (const char *name : {"retry-after-ms", "x-ms-retry-after-ms"}) {
        std::string v = r.header(name);
        if (!v.empty() && v.find_first_not_of("0123456789") == std::string::npos)
            return v.size() < 10 ? std::min(kMaxWait, Millis(std::stoll(v))) : kMaxWait;
    }
    std::string v = r.header("retry-after");
    if (v.empty()) return std::nullopt;
    if (v.find_first_not_of("0123456789") == std::string::npos)
        return v.size() < 9 ? std::min(kMaxWait, Millis(std::stoll(v) * 1000)) : kMaxWait;
    time_t when = curl_getdate(v.c_str(), nullptr);
    if (when < 0) return std::nullopt;
    long long delta = static_cast<long long>(when) - static_cast<long long>(std::time(nullptr));
    return delta >= kMaxWait.count() / 1000 ? kMaxWait : Millis(std::max(0LL, delta) * 1000);
}

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

KeyId versioned_kid_of(const KeyId &requested, const std::string &kid, const std::string &op) {
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

KeyInfo key_info_from_answer(const std::string &op, const KeyId &key, std::string_view body) {
    auto j = nlohmann::json::parse(body, nullptr, false);
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

Wrapped wrapped_from_answer(const std::string &op, const KeyId &versioned, std::string_view body) {
    auto j = nlohmann::json::parse(body, nullptr, false);
    if (!j.is_object() || !j.contains("value") || !j["value"].is_string())
        throw AzureError(CMKFS_ERR_INTERNAL, "azure-keyvault: " + op + " " + versioned.str() + ": malformed answer");
    Wrapped out;
    out.versioned =
        versioned_kid_of(versioned, j.contains("kid") && j["kid"].is_string() ? j["kid"].get<std::string>() : "", op);
    if (!base64url_decode(j["value"].get<std::string>(), out.value) || out.value.empty())
        throw AzureError(CMKFS_ERR_INTERNAL, "azure-keyvault: " + op + " " + versioned.str() + ": malformed value");
    return out;
}

void unwrapped_from_answer(const std::string &op, const KeyId &versioned, std::string_view body,
                           sdk::SecretBuffer &plain) {
    auto value = find_plain_string_member(body, "value");
    if (!value || !base64url_decode(*value, plain) || plain.empty())
        throw AzureError(CMKFS_ERR_INTERNAL, "azure-keyvault: " + op + " " + versioned.str() + ": malformed answer");
}

std::optional<TokenAnswer> token_from_answer(std::string_view body, std::time_t started_wall) {
    auto token = find_plain_string_member(body, "access_token");
    if (!token || token->empty()) return std::nullopt;
    // Lifetime: the earlier of expires_in (relative, immune to clock skew)
    // and expires_on (absolute), whichever the endpoint gave.
    long long lifetime = to_number(find_scalar_member(body, "expires_in"));
    long long expires_on = to_number(find_scalar_member(body, "expires_on"));
    if (expires_on > 0) {
        long long left = expires_on - static_cast<long long>(started_wall);
        lifetime = lifetime < 0 ? left : std::min(lifetime, left);
    }
    if (lifetime < 0) lifetime = 60;  // no expiry given: use it briefly
    // Used a day at most: a claimed lifetime of 2^63 seconds overflowed the
    // refresh time computed in steady_clock nanoseconds (found by fuzz/azure_answer.cpp).
    constexpr long long kMaxLifetime = 24LL * 3600;
    return TokenAnswer{*token, std::min(lifetime, kMaxLifetime)};
}

void parse_oauth_error(std::string_view body, std::string &error, std::string &description) {
    auto j = nlohmann::json::parse(body, nullptr, false);
    if (!j.is_object()) return;
    if (j.contains("error") && j["error"].is_string()) error = j["error"].get<std::string>();
    if (j.contains("error_description") && j["error_description"].is_string())
        description = j["error_description"].get<std::string>();
}

cmkfs_status classify_token_failure(long status, const std::string &error, const std::string &description,
                                    bool imds) {
    if (status == 429 || status == 408 || status == 410 || status >= 500) return CMKFS_ERR_UNAVAILABLE;
    if (imds && status == 404) return CMKFS_ERR_UNAVAILABLE;  // IMDS answers 404 while it updates
    if (imds && status == 400 && description.find("Identity not found") != std::string::npos)
        return CMKFS_ERR_DENIED;
    if (error == "invalid_client" || error == "unauthorized_client" || error == "invalid_grant" ||
        error == "access_denied" || status == 401 || status == 403)
        return CMKFS_ERR_DENIED;
    if (status >= 400 && status < 500) return CMKFS_ERR_INVALID;
    return CMKFS_ERR_INTERNAL;
}

}  // namespace cmkfs::azure
