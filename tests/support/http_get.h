// A minimal HTTP/1.1 client for tests that scrape a metrics endpoint or query
// Prometheus: one request per connection, the whole reply read until close.
// Header-only, written with plain sockets so that it shares no code with the
// server under test.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>
#include <string>

#include "util/unique_fd.h"

namespace cmkfs::test {

struct HttpReply {
    int status = 0;
    std::string headers;  // the status line and headers, CRLFs kept
    std::string body;
    std::string header(const std::string &name) const {
        // Case-sensitive on purpose: the server under test spells them this way.
        const size_t at = headers.find("\r\n" + name + ": ");
        if (at == std::string::npos) return {};
        const size_t start = at + name.size() + 4;
        return headers.substr(start, headers.find("\r\n", start) - start);
    }
};

// Connects to "HOST:PORT", "[V6]:PORT" or "unix:/PATH"; -1 on failure.
inline cmkfs::UniqueFd http_connect(const std::string &address) {
    cmkfs::UniqueFd fd;
    if (address.rfind("unix:", 0) == 0) {
        fd.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        std::strncpy(sa.sun_path, address.c_str() + 5, sizeof sa.sun_path - 1);
        if (::connect(fd.get(), reinterpret_cast<sockaddr *>(&sa), sizeof sa) != 0) fd.reset();
        return fd;
    }
    const size_t colon = address.rfind(':');
    std::string host = address.substr(0, colon);
    const int port = std::stoi(address.substr(colon + 1));
    if (host.front() == '[') {
        host = host.substr(1, host.size() - 2);
        fd.reset(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_in6 sa{};
        sa.sin6_family = AF_INET6;
        sa.sin6_port = htons(static_cast<uint16_t>(port));
        inet_pton(AF_INET6, host.c_str(), &sa.sin6_addr);
        if (::connect(fd.get(), reinterpret_cast<sockaddr *>(&sa), sizeof sa) != 0) fd.reset();
    } else {
        fd.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(static_cast<uint16_t>(port));
        inet_pton(AF_INET, host.c_str(), &sa.sin_addr);
        if (::connect(fd.get(), reinterpret_cast<sockaddr *>(&sa), sizeof sa) != 0) fd.reset();
    }
    return fd;
}

// Sends `raw` as it is and reads the reply until the server closes (at most
// timeout_ms in all). Throws std::runtime_error when nothing answers.
inline HttpReply http_raw(const std::string &address, const std::string &raw, int timeout_ms = 10000) {
    cmkfs::UniqueFd fd = http_connect(address);
    if (!fd) throw std::runtime_error("connect " + address + ": " + std::strerror(errno));
    size_t sent = 0;
    while (sent < raw.size()) {
        const ssize_t n = ::send(fd.get(), raw.data() + sent, raw.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;  // the server may answer (and close) before reading it all
        sent += static_cast<size_t>(n);
    }
    std::string data;
    char buf[8192];
    for (;;) {
        pollfd p{fd.get(), POLLIN, 0};
        if (::poll(&p, 1, timeout_ms) <= 0) throw std::runtime_error("no reply from " + address);
        const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
        if (n <= 0) break;
        data.append(buf, static_cast<size_t>(n));
    }
    HttpReply reply;
    const size_t end = data.find("\r\n\r\n");
    if (data.rfind("HTTP/1.", 0) != 0 || end == std::string::npos)
        throw std::runtime_error("not an HTTP reply from " + address + ": " + data.substr(0, 200));
    reply.status = std::stoi(data.substr(9, 3));
    reply.headers = data.substr(0, end + 2);
    reply.body = data.substr(end + 4);
    if (reply.header("Transfer-Encoding") == "chunked") {  // Prometheus' larger replies
        std::string body;
        size_t at = 0;
        for (;;) {
            const size_t eol = reply.body.find("\r\n", at);
            if (eol == std::string::npos) throw std::runtime_error("truncated chunked reply from " + address);
            const size_t size = std::stoul(reply.body.substr(at, eol - at), nullptr, 16);
            if (size == 0) break;
            body += reply.body.substr(eol + 2, size);
            at = eol + 2 + size + 2;
        }
        reply.body = std::move(body);
    }
    return reply;
}

inline HttpReply http_get(const std::string &address, const std::string &target, const std::string &method = "GET") {
    return http_raw(address, method + " " + target + " HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
}

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then closed).
inline int free_loopback_port() {
    cmkfs::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd.get(), reinterpret_cast<sockaddr *>(&sa), sizeof sa) != 0) throw std::runtime_error("bind");
    socklen_t len = sizeof sa;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr *>(&sa), &len);
    return ntohs(sa.sin_port);
}

}  // namespace cmkfs::test
