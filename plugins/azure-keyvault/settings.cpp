#include "settings.h"

#include <cctype>

#include <cerrno>
#include <cstdlib>

#include "azure_error.h"

namespace cmkfs::azure {

namespace {

[[noreturn]] void bad(const std::string &key, const std::string &why) {
    throw AzureError(CMKFS_ERR_INVALID, "azure-keyvault option " + key + "=: " + why);
}

// "1500ms", "2s", "2.5s" or a plain number of seconds.
Millis parse_duration(const std::string &key, const std::string &v) {
    std::string number = v;
    double scale = 1000;
    if (v.size() > 2 && v.compare(v.size() - 2, 2, "ms") == 0) {
        number = v.substr(0, v.size() - 2);
        scale = 1;
    } else if (!v.empty() && v.back() == 's') {
        number = v.substr(0, v.size() - 1);
    }
    char *end = nullptr;
    errno = 0;
    double d = std::strtod(number.c_str(), &end);
    // Written so that NaN fails too: "nan" parses, compares false both ways,
    // and converting it to an integer is undefined (found by fuzz/azure_settings.cpp).
    if (number.empty() || *end != '\0' || errno != 0 || !(d >= 0 && d * scale <= 3.6e6))
        bad(key, "expects a duration such as 500ms or 10s, got '" + v + "'");
    return Millis(static_cast<long long>(d * scale));
}

int parse_count(const std::string &key, const std::string &v, int max) {
    char *end = nullptr;
    long n = std::strtol(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || n < 0 || n > max)
        bad(key, "expects a whole number from 0 to " + std::to_string(max) + ", got '" + v + "'");
    return static_cast<int>(n);
}

std::string parse_url(const std::string &key, const std::string &v, bool http_ok) {
    bool https = v.rfind("https://", 0) == 0;
    bool http = v.rfind("http://", 0) == 0;
    if (!https && !(http_ok && http))
        bad(key, std::string("expects an ") + (http_ok ? "http(s)" : "https") + " URL, got '" + v + "'");
    std::string out = v;
    while (out.size() > 8 && out.back() == '/') out.pop_back();
    return out;
}

}  // namespace

Settings parse_settings(const char *const *options) {
    Settings s;
    bool credential_given = false;
    for (const char *const *opt = options; opt != nullptr && *opt != nullptr; ++opt) {
        std::string o = *opt;
        auto eq = o.find('=');
        std::string key = o.substr(0, eq);
        std::string v = eq == std::string::npos ? "" : o.substr(eq + 1);
        if (eq == std::string::npos) bad(key, "expects KEY=VALUE");
        if (key == "credential") {
            credential_given = true;
            if (v == "managed_identity") s.credential = CredentialKind::managed_identity;
            else if (v == "client_secret") s.credential = CredentialKind::client_secret;
            else bad(key, "expects managed_identity or client_secret, got '" + v + "'");
        } else if (key == "imds_endpoint") {
            s.imds_endpoint = parse_url(key, v, true);
        } else if (key == "authority_host") {
            s.authority_host = parse_url(key, v, false);
        } else if (key == "tenant_id") {
            if (v.empty() || v.find_first_of("/?#&= ") != std::string::npos) bad(key, "bad tenant id '" + v + "'");
            s.tenant_id = v;
        } else if (key == "client_secret_file") {
            if (v.empty() || v[0] != '/') bad(key, "expects an absolute path");
            s.client_secret_file = v;
        } else if (key == "client_id") {
            if (v.empty()) bad(key, "must not be empty");
            s.client_id = v;
        } else if (key == "resource") {
            s.resource = parse_url(key, v, false);
        } else if (key == "ca_file") {
            if (v.empty() || v[0] != '/') bad(key, "expects an absolute path");
            s.ca_file = v;
        } else if (key == "connect_timeout") {
            s.connect_timeout = parse_duration(key, v);
        } else if (key == "timeout") {
            s.timeout = parse_duration(key, v);
        } else if (key == "max_retries") {
            s.max_retries = parse_count(key, v, 20);
        } else if (key == "retry_budget") {
            s.retry_budget = parse_duration(key, v);
        } else if (key == "retry_base") {
            s.retry_base = parse_duration(key, v);
        } else if (key == "allowed_hosts") {
            size_t start = 0;
            while (start <= v.size()) {
                size_t comma = v.find(',', start);
                std::string host = v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
                for (auto &c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                if (host.empty() || host.find_first_of(":/@ ") != std::string::npos)
                    bad(key, "expects host names separated by commas (no scheme, port or path), got '" + v + "'");
                s.allowed_hosts.push_back(host);
                if (comma == std::string::npos) break;
                start = comma + 1;
            }
        } else if (key == "check") {
            if (v == "roundtrip") s.check = CheckMode::roundtrip;
            else if (v == "get") s.check = CheckMode::get;
            else bad(key, "expects roundtrip or get, got '" + v + "'");
        } else {
            throw AzureError(CMKFS_ERR_INVALID,
                             "azure-keyvault: unknown option '" + key +
                                 "' (see docs/providers/azure-keyvault.md for the options)");
        }
    }
    if (!credential_given && !s.client_secret_file.empty()) s.credential = CredentialKind::client_secret;
    if (s.credential == CredentialKind::client_secret) {
        if (s.tenant_id.empty()) bad("tenant_id", "credential client_secret needs tenant_id=");
        if (s.client_secret_file.empty())
            bad("client_secret_file", "credential client_secret needs client_secret_file=");
    }
    if (s.timeout.count() == 0) bad("timeout", "must be more than 0");
    if (s.connect_timeout.count() == 0) bad("connect_timeout", "must be more than 0");
    return s;
}

}  // namespace cmkfs::azure
