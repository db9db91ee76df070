// Which metrics addresses are accepted: loopback TCP and unix sockets only.
#include <catch2/catch.hpp>

#include "metrics/listen_address.h"

using namespace cmkfs::metrics;

TEST_CASE("listen address: loopback and unix are accepted", "[metrics][address]") {
    auto a = parse_listen_address("127.0.0.1:9464");
    CHECK(a.kind == ListenAddress::Kind::tcp4);
    CHECK(a.host == "127.0.0.1");
    CHECK(a.port == 9464);
    CHECK(a.text() == "127.0.0.1:9464");
    CHECK(parse_listen_address("127.1.2.3:0").port == 0);
    auto six = parse_listen_address("[::1]:9100");
    CHECK(six.kind == ListenAddress::Kind::tcp6);
    CHECK(six.host == "::1");
    CHECK(six.text() == "[::1]:9100");
    auto u = parse_listen_address("unix:/run/cmkfs/m.sock");
    CHECK(u.kind == ListenAddress::Kind::unix_socket);
    CHECK(u.path == "/run/cmkfs/m.sock");
}

TEST_CASE("listen address: anything else is refused, saying what was expected", "[metrics][address]") {
    auto expected_of = [](const std::string &text) -> std::string {
        try {
            parse_listen_address(text);
        } catch (const ListenAddressError &e) {
            CHECK(std::string(e.what()).find("got \"" + text + "\"") != std::string::npos);
            return e.expected();
        }
        return "accepted";
    };
    CHECK(expected_of("0.0.0.0:9464").rfind("a loopback address", 0) == 0);
    CHECK(expected_of("10.1.2.3:9464").rfind("a loopback address", 0) == 0);
    CHECK(expected_of("[::]:9464").rfind("a loopback address", 0) == 0);
    CHECK(expected_of("[::ffff:127.0.0.1]:9464").rfind("a loopback address", 0) == 0);
    CHECK(expected_of("localhost:9464").rfind("a numeric loopback address", 0) == 0);
    CHECK(expected_of("127.0.0.1").rfind("127.0.0.1:PORT", 0) == 0);
    CHECK(expected_of("127.0.0.1:65536").rfind("a port number", 0) == 0);
    CHECK(expected_of("127.0.0.1:http").rfind("a port number", 0) == 0);
    CHECK(expected_of("[::1]9464") == "[IPV6]:PORT");
    CHECK(expected_of("unix:relative.sock") == "unix:/ABSOLUTE/PATH");
    CHECK(expected_of("unix:/" + std::string(120, 'x')).rfind("a unix socket path", 0) == 0);
}
