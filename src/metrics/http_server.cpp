#include "metrics/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include <spdlog/spdlog.h>

#include "metrics/exposition.h"
#include "util/errors.h"

namespace cmkfs::metrics {

namespace {

constexpr size_t kMaxRequest = 8192;
constexpr int kTimeoutMs = 2000;

struct Request {
    int status = 0;  // non-zero: answer with this error
    std::string method;
    std::string path;
};

// Reads the request head (up to the blank line) within the size and time bounds.
Request read_request(int fd) {
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + std::chrono::milliseconds(kTimeoutMs);
    std::string data;
    char buf[1024];
    while (data.find("\r\n\r\n") == std::string::npos && data.find("\n\n") == std::string::npos) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) return {408, {}, {}};
        pollfd p{fd, POLLIN, 0};
        const int rc = ::poll(&p, 1, static_cast<int>(left));
        if (rc < 0 && errno == EINTR) continue;
        if (rc <= 0) return {408, {}, {}};
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return {400, {}, {}};
        data.append(buf, static_cast<size_t>(n));
        if (data.size() > kMaxRequest) return {431, {}, {}};
    }
    // Request line: METHOD SP TARGET SP HTTP/1.x
    const std::string line = data.substr(0, data.find_first_of("\r\n"));
    const size_t sp1 = line.find(' ');
    const size_t sp2 = sp1 == std::string::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string::npos || line.compare(sp2 + 1, 7, "HTTP/1.") != 0) return {400, {}, {}};
    Request r;
    r.method = line.substr(0, sp1);
    r.path = line.substr(sp1 + 1, sp2 - sp1 - 1);
    r.path = r.path.substr(0, r.path.find('?'));  // Prometheus may add params; none are used
    return r;
}

const char *reason_phrase(int status) {
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 431: return "Request Header Fields Too Large";
    default: return "Internal Server Error";
    }
}

void send_all(int fd, const std::string &s) {
    size_t done = 0;
    while (done < s.size()) {
        const ssize_t n = ::send(fd, s.data() + done, s.size() - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;  // the scraper went away or timed out (SO_SNDTIMEO): nothing to do
        done += static_cast<size_t>(n);
    }
}

void reply(int fd, int status, const std::string &content_type, const std::string &body, bool head,
           const char *extra = "") {
    std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) + "\r\n";
    out += "Content-Type: " + content_type + "\r\n";
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    out += extra;
    out += "Connection: close\r\n\r\n";
    if (!head) out += body;
    send_all(fd, out);
}

UniqueFd bind_tcp(const ListenAddress &a, std::string &bound) {
    const int family = a.kind == ListenAddress::Kind::tcp6 ? AF_INET6 : AF_INET;
    UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) throw_errno("metrics socket");
    const int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (family == AF_INET) {
        auto *sin = reinterpret_cast<sockaddr_in *>(&ss);
        sin->sin_family = AF_INET;
        sin->sin_port = htons(a.port);
        inet_pton(AF_INET, a.host.c_str(), &sin->sin_addr);
        len = sizeof *sin;
    } else {
        auto *sin6 = reinterpret_cast<sockaddr_in6 *>(&ss);
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(a.port);
        inet_pton(AF_INET6, a.host.c_str(), &sin6->sin6_addr);
        len = sizeof *sin6;
    }
    if (::bind(fd.get(), reinterpret_cast<sockaddr *>(&ss), len) != 0)
        throw SystemError(errno, "metrics: bind " + a.text());
    socklen_t got = sizeof ss;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr *>(&ss), &got);
    ListenAddress actual = a;
    actual.port = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in *>(&ss)->sin_port
                                          : reinterpret_cast<sockaddr_in6 *>(&ss)->sin6_port);
    bound = actual.text();
    return fd;
}

UniqueFd bind_unix(const ListenAddress &a) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) throw_errno("metrics socket");
    struct stat st {};
    if (::lstat(a.path.c_str(), &st) == 0) {
        // A stale socket from a crashed daemon is replaced; any other file is not ours to delete.
        if (!S_ISSOCK(st.st_mode)) throw Error(EEXIST, "metrics: " + a.path + " exists and is not a socket");
        ::unlink(a.path.c_str());
    }
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, a.path.c_str(), a.path.size() + 1);
    const mode_t old = ::umask(0177);  // 0600 from the start
    const int rc = ::bind(fd.get(), reinterpret_cast<sockaddr *>(&addr), sizeof addr);
    ::umask(old);
    if (rc != 0) throw SystemError(errno, "metrics: bind " + a.text());
    return fd;
}

}  // namespace

HttpServer::HttpServer(const ListenAddress &address, Producer producer) : producer_(std::move(producer)) {
    if (address.kind == ListenAddress::Kind::unix_socket) {
        listener_ = bind_unix(address);
        unix_path_ = address.path;
        bound_ = address.text();
    } else {
        listener_ = bind_tcp(address, bound_);
    }
    if (::listen(listener_.get(), 16) != 0) throw SystemError(errno, "metrics: listen " + bound_);
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe");
    stop_read_.reset(fds[0]);
    stop_write_.reset(fds[1]);
    thread_ = std::thread([this] { serve(); });
}

HttpServer::~HttpServer() {
    (void)!::write(stop_write_.get(), "x", 1);
    if (thread_.joinable()) thread_.join();
    if (!unix_path_.empty()) ::unlink(unix_path_.c_str());
}

void HttpServer::serve() {
    for (;;) {
        pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {stop_read_.get(), POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            spdlog::error("metrics endpoint: {}", SystemError(errno, "poll").what());
            return;
        }
        if (fds[1].revents) return;
        UniqueFd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!client) continue;
        handle(client.get());
    }
}

void HttpServer::handle(int client) {
    const timeval send_timeout{kTimeoutMs / 1000, 0};
    ::setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
    const Request r = read_request(client);
    const std::string text = "text/plain; charset=utf-8";
    if (r.status != 0) return reply(client, r.status, text, std::string(reason_phrase(r.status)) + "\n", false);
    const bool head = r.method == "HEAD";
    if (r.method != "GET" && !head) return reply(client, 405, text, "GET or HEAD only\n", false, "Allow: GET, HEAD\r\n");
    if (r.path != "/metrics") return reply(client, 404, text, "metrics are at /metrics\n", head);
    std::string body;
    try {
        body = producer_();
    } catch (const std::exception &e) {
        spdlog::error("metrics endpoint: {}", e.what());
        return reply(client, 500, text, "could not collect metrics\n", head);
    }
    reply(client, 200, kExpositionContentType, body, head);
}

}  // namespace cmkfs::metrics
