// The /metrics endpoint's HTTP server: what it answers, and that it stays
// bounded (oversized and silent clients get an error, not a thread or a hang).
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "metrics/exposition.h"
#include "metrics/http_server.h"
#include "support/http_get.h"
#include "support/temp_dir.h"

using namespace cmkfs::metrics;
using cmkfs::test::http_get;
using cmkfs::test::http_raw;
using cmkfs::test::TempDir;


TEST_CASE("http server: GET /metrics over TCP and unix sockets", "[metrics][http]") {
    std::atomic<int> scrapes{0};
    auto producer = [&] { return "# TYPE t_up gauge\nt_up " + std::to_string(++scrapes) + "\n"; };
    TempDir dir;
    const std::string address = GENERATE(as<std::string>{}, "127.0.0.1:0", "[::1]:0", "unix:");
    ListenAddress where = address == "unix:" ? parse_listen_address("unix:" + dir / "m.sock")
                                             : parse_listen_address(address);
    HttpServer server(where, producer);
    INFO(server.address());
    if (where.kind != ListenAddress::Kind::unix_socket) CHECK(server.address().find(":0") == std::string::npos);

    auto r = http_get(server.address(), "/metrics");
    CHECK(r.status == 200);
    CHECK(r.header("Content-Type") == kExpositionContentType);
    CHECK(r.header("Content-Length") == std::to_string(r.body.size()));
    CHECK(r.body == "# TYPE t_up gauge\nt_up 1\n");
    CHECK(http_get(server.address(), "/metrics?name[]=x").body == "# TYPE t_up gauge\nt_up 2\n");

    auto head = http_get(server.address(), "/metrics", "HEAD");
    CHECK(head.status == 200);
    CHECK(head.body.empty());
    CHECK(http_get(server.address(), "/").status == 404);
    CHECK(http_get(server.address(), "/metrics/../etc").status == 404);
    auto post = http_get(server.address(), "/metrics", "POST");
    CHECK(post.status == 405);
    CHECK(post.header("Allow") == "GET, HEAD");
    CHECK(http_raw(server.address(), "garbage\r\n\r\n").status == 400);

    if (where.kind == ListenAddress::Kind::unix_socket) {
        struct stat st {};
        REQUIRE(::stat(where.path.c_str(), &st) == 0);
        CHECK((st.st_mode & 0777) == 0600);
    }
}

TEST_CASE("http server: oversized and silent requests are cut off", "[metrics][http]") {
    HttpServer server(parse_listen_address("127.0.0.1:0"), [] { return std::string("x 1\n"); });
    auto big = http_raw(server.address(), "GET /metrics HTTP/1.1\r\nX: " + std::string(20000, 'a') + "\r\n\r\n");
    CHECK(big.status == 431);

    // A client that connects and says nothing holds the one thread for at
    // most the request timeout; the next scrape is then served.
    auto silent = cmkfs::test::http_connect(server.address());
    REQUIRE(silent);
    const auto t0 = std::chrono::steady_clock::now();
    auto r = http_get(server.address(), "/metrics");
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CHECK(r.status == 200);
    CHECK(waited < 8.0);  // 2 s timeout, generously bounded
}

TEST_CASE("http server: an existing non-socket file is not replaced; the socket is removed at the end",
          "[metrics][http]") {
    TempDir dir;
    const std::string path = dir / "m.sock";
    { std::ofstream(path) << "precious"; }
    CHECK_THROWS_WITH(HttpServer(parse_listen_address("unix:" + path), [] { return std::string(); }),
                      Catch::Contains("exists and is not a socket"));
    std::ifstream in(path);
    std::string content;
    in >> content;
    CHECK(content == "precious");
    ::unlink(path.c_str());
    {
        HttpServer server(parse_listen_address("unix:" + path), [] { return std::string(); });
        CHECK(std::filesystem::exists(path));
    }
    CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("http server: an address in use is an error naming it", "[metrics][http]") {
    HttpServer first(parse_listen_address("127.0.0.1:0"), [] { return std::string(); });
    CHECK_THROWS_WITH(HttpServer(parse_listen_address(first.address()), [] { return std::string(); }),
                      Catch::Contains("bind " + first.address()));
}
