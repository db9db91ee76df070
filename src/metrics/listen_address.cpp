#include "metrics/listen_address.h"

#include <arpa/inet.h>
#include <sys/un.h>

#include <charconv>
#include <stdexcept>

namespace cmkfs::metrics {

namespace {
[[noreturn]] void bad(const std::string &expected, std::string_view text) {
    throw ListenAddressError(expected, text);
}

uint16_t parse_port(std::string_view s, std::string_view text) {
    unsigned port = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), port);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size() || port > 65535)
        bad("a port number 0-65535 after the address", text);
    return static_cast<uint16_t>(port);
}
}  // namespace

std::string ListenAddress::text() const {
    switch (kind) {
    case Kind::tcp4: return host + ":" + std::to_string(port);
    case Kind::tcp6: return "[" + host + "]:" + std::to_string(port);
    case Kind::unix_socket: return "unix:" + path;
    }
    return {};
}

ListenAddress parse_listen_address(std::string_view text) {
    ListenAddress a;
    if (text.substr(0, 5) == "unix:") {
        a.kind = ListenAddress::Kind::unix_socket;
        a.path = std::string(text.substr(5));
        if (a.path.empty() || a.path[0] != '/') bad("unix:/ABSOLUTE/PATH", text);
        if (a.path.size() >= sizeof(sockaddr_un{}.sun_path)) bad("a unix socket path under 108 bytes", text);
        return a;
    }
    std::string_view host, port;
    if (!text.empty() && text[0] == '[') {
        const size_t close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            bad("[IPV6]:PORT", text);
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
        a.kind = ListenAddress::Kind::tcp6;
    } else {
        const size_t colon = text.rfind(':');
        if (colon == std::string_view::npos)
            bad("127.0.0.1:PORT, [::1]:PORT or unix:/PATH", text);
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        a.kind = ListenAddress::Kind::tcp4;
    }
    a.host = std::string(host);
    a.port = parse_port(port, text);
    if (a.kind == ListenAddress::Kind::tcp4) {
        in_addr addr{};
        if (inet_pton(AF_INET, a.host.c_str(), &addr) != 1)
            bad("a numeric loopback address (127.0.0.1:PORT, [::1]:PORT) or unix:/PATH", text);
        if ((ntohl(addr.s_addr) >> 24) != 127)
            bad("a loopback address (the metrics endpoint has no authentication; "
                "put a proxy in front of it to expose it)",
                text);
    } else {
        in6_addr addr{};
        if (inet_pton(AF_INET6, a.host.c_str(), &addr) != 1) bad("a numeric IPv6 address in [ ]", text);
        if (!IN6_IS_ADDR_LOOPBACK(&addr))
            bad("a loopback address (the metrics endpoint has no authentication; "
                "put a proxy in front of it to expose it)",
                text);
    }
    return a;
}

}  // namespace cmkfs::metrics
