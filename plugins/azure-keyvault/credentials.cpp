#include "credentials.h"

#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "answers.h"
#include "azure_error.h"
#include "text.h"
#include "errno_text.h"

namespace cmkfs::azure {

namespace {

// Refresh this long before expiry, or at half the lifetime of short tokens.
constexpr std::chrono::seconds kRefreshMargin{300};

}  // namespace

sdk::SecretBuffer TokenCache::authorization(const std::string &resource, const std::string &client_id,
                                       bool force_new) {
    std::lock_guard lock(mutex_);
    const std::string key = resource + '\n' + client_id;
    auto it = cache_.find(key);
    if (it != cache_.end() && (force_new || Clock::now() >= it->second.refresh_at)) {
        cache_.erase(it);
        it = cache_.end();
    }
    if (it == cache_.end()) it = cache_.emplace(key, fetch(resource, client_id)).first;
    sdk::SecretBuffer copy(host_);
    copy.append(it->second.header.view());
    return copy;
}

TokenCache::Token TokenCache::fetch(const std::string &resource, const std::string &client_id) {
    const bool imds = settings_.credential == CredentialKind::managed_identity;
    const auto started = Clock::now();
    const std::time_t started_wall = std::time(nullptr);
    HttpResponse r = imds ? request_imds(resource, client_id) : request_entra(resource, client_id);
    const std::string what = imds ? "managed identity token from " + host_of(settings_.imds_endpoint)
                                  : "Microsoft Entra token from " + host_of(settings_.authority_host);
    if (r.status != 200) {
        std::string error, description;
        parse_oauth_error(r.body.view(), error, description);
        std::string msg = "azure-keyvault: " + what + " for client id '" + client_id + "': HTTP " +
                          std::to_string(r.status);
        if (!error.empty()) msg += " " + error;
        if (!description.empty()) msg += ": " + one_line(description);
        throw AzureError(classify_token_failure(r.status, error, description, imds), msg);
    }
    auto answer = token_from_answer(r.body.view(), started_wall);
    if (!answer)
        throw AzureError(CMKFS_ERR_UNAVAILABLE, "azure-keyvault: " + what + ": response has no access_token");
    const auto life = std::chrono::seconds(answer->lifetime_seconds);
    const auto margin = std::min<std::chrono::steady_clock::duration>(kRefreshMargin, life / 2);
    Token t(host_);
    t.header.append("Authorization: Bearer ");
    t.header.append(answer->access_token);
    t.refresh_at = started + life - margin;
    return t;
}

HttpResponse TokenCache::request_imds(const std::string &resource, const std::string &client_id) {
    HttpRequest req;
    req.url = settings_.imds_endpoint + "?api-version=2018-02-01&resource=" + url_encode(resource);
    // A user-assigned identity is named by its client id or its ARM resource
    // id; none means the system-assigned identity.
    if (client_id.rfind("/subscriptions/", 0) == 0) req.url += "&msi_res_id=" + url_encode(client_id);
    else if (!client_id.empty()) req.url += "&client_id=" + url_encode(client_id);
    req.headers = {"Metadata: true"};
    req.no_proxy = true;
    return http_.perform(req);
}

sdk::SecretBuffer TokenCache::read_client_secret() const {
    const std::string &path = settings_.client_secret_file;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        throw AzureError(CMKFS_ERR_INVALID, "azure-keyvault: cannot open client secret file " + path + ": " +
                                                cmkfs::plugin::errno_text(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 0077) != 0) {
        ::close(fd);
        throw AzureError(CMKFS_ERR_INVALID, "azure-keyvault: client secret file " + path +
                                                " must be a regular file readable by its owner only (chmod 600)");
    }
    sdk::SecretBuffer secret(host_);
    char buf[256];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        secret.append(std::string_view(buf, static_cast<size_t>(n)));
        if (secret.size() > 4096) break;
    }
    explicit_bzero(buf, sizeof buf);
    ::close(fd);
    size_t len = secret.size();
    while (len > 0 && (secret.data()[len - 1] == '\n' || secret.data()[len - 1] == '\r' ||
                       secret.data()[len - 1] == ' '))
        --len;
    secret.resize_down(len);
    if (secret.empty())
        throw AzureError(CMKFS_ERR_INVALID, "azure-keyvault: client secret file " + path + " is empty");
    return secret;
}

HttpResponse TokenCache::request_entra(const std::string &resource, const std::string &client_id) {
    if (client_id.empty())
        throw AzureError(CMKFS_ERR_INVALID, "azure-keyvault: credential client_secret needs a client id "
                                            "(the volume's --identity or option client_id=)");
    sdk::SecretBuffer secret = read_client_secret();
    sdk::SecretBuffer body(host_);
    body.append("grant_type=client_credentials&client_id=" + url_encode(client_id) + "&client_secret=");
    static const char hex[] = "0123456789ABCDEF";
    for (unsigned char c : secret.view()) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            body.push_back(static_cast<char>(c));
        } else {
            body.push_back('%');
            body.push_back(hex[c >> 4]);
            body.push_back(hex[c & 15]);
        }
    }
    body.append("&scope=" + url_encode(resource + "/.default"));
    HttpRequest req;
    req.method = "POST";
    req.url = settings_.authority_host + "/" + settings_.tenant_id + "/oauth2/v2.0/token";
    req.headers = {"Content-Type: application/x-www-form-urlencoded", "Accept: application/json"};
    req.body = body.view();
    return http_.perform(req);
}

}  // namespace cmkfs::azure
