#include "http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>

#include "azure_error.h"

namespace cmkfs::azure {

namespace {

constexpr size_t kMaxBody = 1 << 20;  // Key Vault answers are a few KiB
constexpr size_t kPoolSize = 8;

std::once_flag g_curl_init;

struct SlistDeleter {
    void operator()(curl_slist *l) const { curl_slist_free_all(l); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

struct Sink {
    HttpResponse *response;
    bool too_large = false;
};

size_t on_body(char *data, size_t size, size_t n, void *user) {
    auto *sink = static_cast<Sink *>(user);
    size_t bytes = size * n;
    if (sink->response->body.size() + bytes > kMaxBody) {
        sink->too_large = true;
        return 0;  // aborts the transfer
    }
    sink->response->body.append(std::string_view(data, bytes));
    return bytes;
}

size_t on_header(char *data, size_t size, size_t n, void *user) {
    auto *response = static_cast<HttpResponse *>(user);
    std::string_view line(data, size * n);
    auto colon = line.find(':');
    if (colon != std::string_view::npos) {
        std::string name(line.substr(0, colon));
        for (auto &c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
        while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
            value.remove_suffix(1);
        response->headers[name] = std::string(value);
    } else if (line.rfind("HTTP/", 0) == 0) {
        response->headers.clear();  // a new response (after 100-continue)
    }
    return size * n;
}

}  // namespace

std::string host_of(const std::string &url) {
    auto start = url.find("://");
    start = start == std::string::npos ? 0 : start + 3;
    auto end = url.find_first_of("/?#", start);
    return url.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

std::string url_encode(std::string_view s) {
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
    return out;
}

HttpClient::HttpClient(const cmkfs_host *host, const Settings &settings) : host_(host), settings_(settings) {
    // Once per process and never undone: curl_global_cleanup is not thread
    // safe and other users of libcurl in the process may still need it.
    std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

HttpClient::~HttpClient() {
    for (void *h : pool_) curl_easy_cleanup(static_cast<CURL *>(h));
}

void *HttpClient::take_handle() {
    {
        std::lock_guard lock(pool_mutex_);
        if (!pool_.empty()) {
            void *h = pool_.back();
            pool_.pop_back();
            return h;
        }
    }
    CURL *h = curl_easy_init();
    if (h == nullptr) throw AzureError(CMKFS_ERR_INTERNAL, "azure-keyvault: curl_easy_init failed");
    return h;
}

void HttpClient::give_back(void *handle) {
    std::lock_guard lock(pool_mutex_);
    if (pool_.size() < kPoolSize) pool_.push_back(handle);
    else curl_easy_cleanup(static_cast<CURL *>(handle));
}

HttpResponse HttpClient::perform(const HttpRequest &request) {
    HttpResponse response(host_);
    Sink sink{&response};
    char error[CURL_ERROR_SIZE] = {0};

    Slist headers;
    auto add_header = [&](const char *h) {
        curl_slist *next = curl_slist_append(headers.get(), h);
        if (next == nullptr) throw AzureError(CMKFS_ERR_INTERNAL, "azure-keyvault: out of memory");
        (void)headers.release();
        headers.reset(next);
    };
    for (const auto &h : request.headers) add_header(h.c_str());
    if (request.secret_header != nullptr) add_header(request.secret_header->c_str());
    add_header("Expect:");  // no 100-continue round trip for small bodies

    CURL *curl = static_cast<CURL *>(take_handle());
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(settings_.connect_timeout.count()));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(settings_.timeout.count()));
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!settings_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, settings_.ca_file.c_str());
    if (request.no_proxy) curl_easy_setopt(curl, CURLOPT_PROXY, "");
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "cmkfs-azure-keyvault/1");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response);
    if (std::string_view(request.method) == "POST") {
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    } else {
        curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    }

    CURLcode rc = curl_easy_perform(curl);
    // Drop what curl keeps pointing at before the handle goes back to the pool.
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, nullptr);
    if (rc != CURLE_OK) {
        give_back(curl);
        if (sink.too_large)
            throw AzureError(CMKFS_ERR_UNAVAILABLE, "azure-keyvault: response from " + host_of(request.url) +
                                                        " is larger than " + std::to_string(kMaxBody) + " bytes");
        std::string why = error[0] != '\0' ? error : curl_easy_strerror(rc);
        // Every transport failure is transient (an untrusted certificate
        // included: it may be an interception that ends); the message names it.
        throw AzureError(CMKFS_ERR_UNAVAILABLE, "azure-keyvault: " + std::string(request.method) + " " + host_of(request.url) +
                                     " failed: " + why);
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
    give_back(curl);
    return response;
}

}  // namespace cmkfs::azure
