// The HTTP side of Docker's plugin protocol: HTTP/1.1 POST requests with JSON
// bodies on a unix socket, one request per connection. Deliberately small and
// bounded (header and body size limits, per-connection timeouts): dockerd is
// the only intended client, but anyone who can reach the socket is untrusted.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "util/unique_fd.h"

namespace cmkfs::cli {

inline constexpr std::string_view kPluginContentType = "application/vnd.docker.plugins.v1.2+json";
inline constexpr size_t kMaxHeaderBytes = 16 * 1024;
inline constexpr size_t kMaxBodyBytes = 1024 * 1024;

struct HttpRequest {
    std::string method;
    std::string path;
    std::string body;
};

struct HttpResponse {
    int status = 200;
    std::string body;
};

// What went wrong with a request before it reached the handler.
struct HttpParseError {
    int status;  // 400, 411, 413, 431
    std::string reason;
};

// Parses one complete request (header block and body). `bytes` must hold the
// header block; std::nullopt means "need more bytes". Throws nothing; a
// malformed request is reported through `error`.
std::optional<HttpRequest> parse_http_request(std::string_view bytes, HttpParseError &error, bool &failed);

std::string format_http_response(const HttpResponse &response);

using HttpHandler = std::function<HttpResponse(const HttpRequest &)>;

class PluginHttpServer {
public:
    // Binds and listens at `socket_path` (mode 0660; a stale socket file left
    // by a dead plugin is replaced, a live one is an error).
    PluginHttpServer(std::string socket_path, HttpHandler handler);
    ~PluginHttpServer();  // removes the socket file
    PluginHttpServer(const PluginHttpServer &) = delete;
    PluginHttpServer &operator=(const PluginHttpServer &) = delete;

    // Answers requests one after another until `stop` becomes true (checked
    // at least every 200 ms).
    void serve(const std::atomic<bool> &stop);

private:
    void handle_connection(int fd);

    std::string path_;
    HttpHandler handler_;
    UniqueFd listener_;
};

}  // namespace cmkfs::cli
