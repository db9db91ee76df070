// Where the metrics endpoint listens: a loopback TCP address or a unix socket.
//
//   127.0.0.1:9464   any 127.0.0.0/8 address, a port (0 = any free port)
//   [::1]:9464       IPv6 loopback
//   unix:/run/cmkfs/registry-metrics.sock
//
// Non-loopback addresses are refused on purpose: the endpoint has no TLS and
// no authentication, and it tells whoever reads it whether the volume is
// locked and which key it uses. Expose it further with a proxy that adds both.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace cmkfs::metrics {

struct ListenAddress {
    enum class Kind { tcp4, tcp6, unix_socket };
    Kind kind = Kind::tcp4;
    std::string host;  // tcp: the numeric address, without brackets
    uint16_t port = 0;
    std::string path;  // unix: absolute path
    std::string text() const;  // as parse_listen_address reads it back
};

// what(): "expected <expected()>, got \"<text>\"".
class ListenAddressError : public std::invalid_argument {
public:
    ListenAddressError(const std::string &expected, std::string_view text)
        : std::invalid_argument("expected " + expected + ", got \"" + std::string(text) + "\""), expected_(expected) {}
    const std::string &expected() const { return expected_; }

private:
    std::string expected_;
};

// Throws ListenAddressError.
ListenAddress parse_listen_address(std::string_view text);

}  // namespace cmkfs::metrics
