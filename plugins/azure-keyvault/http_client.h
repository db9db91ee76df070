// HTTPS over libcurl for the provider: one easy handle per call, taken from a
// small pool (connection reuse without sharing a handle between threads),
// timeouts on every exchange, no redirects (a bearer token must never follow
// one), system CAs unless ca_file= names a private CA. Bodies, both ways, live
// in secure memory.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <cmkfs/provider.h>

#include <cmkfs/secret_buffer.h>
#include "settings.h"

namespace cmkfs::azure {

struct HttpRequest {
    const char *method = "GET";
    std::string url;
    std::vector<std::string> headers;            // "Name: value", not secret
    const sdk::SecretBuffer *secret_header = nullptr;  // e.g. the Authorization header
    std::string_view body;                       // not copied; may point into a sdk::SecretBuffer
    bool no_proxy = false;                       // IMDS is link-local: never via a proxy
};

struct HttpResponse {
    explicit HttpResponse(const cmkfs_host *host) : body(host) {}
    long status = 0;
    std::map<std::string, std::string> headers;  // lower-case names, last value wins
    sdk::SecretBuffer body;
    std::string header(const std::string &name) const {
        auto it = headers.find(name);
        return it == headers.end() ? "" : it->second;
    }
};

class HttpClient {
public:
    HttpClient(const cmkfs_host *host, const Settings &settings);
    ~HttpClient();
    HttpClient(const HttpClient &) = delete;
    HttpClient &operator=(const HttpClient &) = delete;

    // Any HTTP status is a response; transport failures (DNS, connect, TLS,
    // timeout) throw AzureError(UNAVAILABLE) naming the host and curl's reason.
    HttpResponse perform(const HttpRequest &request);

private:
    void *take_handle();
    void give_back(void *handle);

    const cmkfs_host *host_;
    const Settings &settings_;
    std::mutex pool_mutex_;
    std::vector<void *> pool_;
};

// The host part of an URL, for messages.
std::string host_of(const std::string &url);
std::string url_encode(std::string_view s);

}  // namespace cmkfs::azure
