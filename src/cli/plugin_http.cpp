#include "cli/plugin_http.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "util/errors.h"

namespace cmkfs::cli {

namespace {

constexpr int kConnectionTimeoutSeconds = 10;

sockaddr_un address_of(const std::string &path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path)
        throw UsageError("plugin socket path too long (" + std::to_string(path.size()) + " bytes): " + path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    return addr;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

const char *reason_phrase(int status) {
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    default: return "Internal Server Error";
    }
}

// A live plugin answers connect(); a socket file nobody listens on is stale.
bool someone_listens(const std::string &path) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr = address_of(path);
    return fd && ::connect(fd.get(), reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0;
}

}  // namespace

std::optional<HttpRequest> parse_http_request(std::string_view bytes, HttpParseError &error, bool &failed) {
    failed = false;
    auto fail = [&](int status, std::string reason) {
        error = {status, std::move(reason)};
        failed = true;
        return std::nullopt;
    };
    const size_t end = bytes.find("\r\n\r\n");
    if (end == std::string_view::npos) {
        if (bytes.size() > kMaxHeaderBytes) return fail(431, "request header larger than 16 KiB");
        return std::nullopt;
    }
    if (end > kMaxHeaderBytes) return fail(431, "request header larger than 16 KiB");
    std::string_view head = bytes.substr(0, end);
    size_t eol = head.find("\r\n");
    std::string_view line = head.substr(0, eol);
    HttpRequest request;
    const size_t sp1 = line.find(' ');
    const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos) return fail(400, "malformed request line");
    request.method = line.substr(0, sp1);
    request.path = line.substr(sp1 + 1, sp2 - sp1 - 1);
    if (line.substr(sp2 + 1).rfind("HTTP/1.", 0) != 0) return fail(400, "not an HTTP/1.x request");

    size_t content_length = 0;
    while (eol != std::string_view::npos) {
        head.remove_prefix(eol + 2);
        eol = head.find("\r\n");
        std::string_view field = head.substr(0, eol);
        const size_t colon = field.find(':');
        if (colon == std::string_view::npos) return fail(400, "malformed header field");
        std::string_view name = field.substr(0, colon);
        std::string_view value = trim(field.substr(colon + 1));
        if (iequals(name, "Transfer-Encoding")) return fail(411, "chunked bodies are not supported");
        if (iequals(name, "Content-Length")) {
            if (value.empty() || value.size() > 9 || value.find_first_not_of("0123456789") != std::string_view::npos)
                return fail(400, "bad Content-Length");
            content_length = std::stoul(std::string(value));
            if (content_length > kMaxBodyBytes) return fail(413, "request body larger than 1 MiB");
        }
    }
    const std::string_view rest = bytes.substr(end + 4);
    if (rest.size() < content_length) return std::nullopt;
    request.body = rest.substr(0, content_length);
    return request;
}

std::string format_http_response(const HttpResponse &response) {
    std::string out = "HTTP/1.1 " + std::to_string(response.status) + " " + reason_phrase(response.status) + "\r\n";
    out += "Content-Type: " + std::string(kPluginContentType) + "\r\n";
    out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
    out += "Connection: close\r\n\r\n";
    out += response.body;
    return out;
}

PluginHttpServer::PluginHttpServer(std::string socket_path, HttpHandler handler)
    : path_(std::move(socket_path)), handler_(std::move(handler)) {
    sockaddr_un addr = address_of(path_);
    struct stat st {};
    if (::lstat(path_.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) throw UsageError("plugin socket " + path_ + " exists and is not a socket");
        if (someone_listens(path_)) throw UsageError("another plugin already listens on " + path_);
        ::unlink(path_.c_str());
    }
    listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!listener_) throw_errno("plugin socket");
    const mode_t old_mask = ::umask(0117);  // 0660: root and its group (dockerd runs as root)
    const int rc = ::bind(listener_.get(), reinterpret_cast<sockaddr *>(&addr), sizeof addr);
    ::umask(old_mask);
    if (rc != 0) throw_errno("bind " + path_);
    if (::listen(listener_.get(), 64) != 0) throw_errno("listen " + path_);
}

PluginHttpServer::~PluginHttpServer() { ::unlink(path_.c_str()); }

void PluginHttpServer::serve(const std::atomic<bool> &stop) {
    while (!stop.load()) {
        pollfd p{listener_.get(), POLLIN, 0};
        const int n = ::poll(&p, 1, 200);
        if (n < 0 && errno != EINTR) throw_errno("poll plugin socket");
        if (n <= 0) continue;
        UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!conn) {
            if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
                spdlog::warn("{}", SystemError(errno, "accept on " + path_).what());
            continue;
        }
        handle_connection(conn.get());
    }
}

void PluginHttpServer::handle_connection(int fd) {
    // A client that stalls must not hold the plugin: dockerd sends a request
    // in one go, so a generous per-call timeout only ever cuts off others.
    const timeval timeout{kConnectionTimeoutSeconds, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    std::string buffer;
    HttpParseError error{};
    bool failed = false;
    std::optional<HttpRequest> request;
    char chunk[4096];
    while (!(request = parse_http_request(buffer, error, failed)) && !failed) {
        const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;  // closed early or timed out: nothing to answer
        buffer.append(chunk, static_cast<size_t>(n));
    }
    HttpResponse response;
    if (failed) {
        spdlog::warn("plugin request refused: {}", error.reason);
        response = {error.status, R"({"Err":")" + error.reason + "\"}"};
    } else {
        response = handler_(*request);
    }
    const std::string out = format_http_response(response);
    size_t done = 0;
    while (done < out.size()) {
        const ssize_t n = ::send(fd, out.data() + done, out.size() - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        done += static_cast<size_t>(n);
    }
}

}  // namespace cmkfs::cli
