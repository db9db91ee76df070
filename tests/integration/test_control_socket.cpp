// The control socket of a real mount answers whatever a client writes: found
// by fuzz/control_request.cpp (fuzz/regressions/control_request/). A request
// that is not JSON gets a parse error whose message quotes the bytes read;
// when those were not UTF-8 the reply could not be serialised and the client
// saw the connection closed without an answer.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

#include "daemon/control_socket.h"
#include "support/process.h"

using namespace cmkfs::test;

namespace {

// One request line to the mount's control socket, the reply line back.
std::string ask(const std::string &mountpoint, const std::string &request) {
    const std::string path = cmkfs::daemon::control_socket_path(mountpoint);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    const bool connected = ::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0;
    std::string reply;
    if (connected && ::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
        char buf[4096];
        ssize_t n;
        while ((n = ::read(fd, buf, sizeof buf)) > 0) reply.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    REQUIRE(connected);
    return reply;
}

}  // namespace

TEST_CASE("a control request that is not UTF-8 JSON gets an error reply, and the daemon keeps answering",
          "[control-socket]") {
    MountedStore store;
    const std::string reply = ask(store.mountpoint(), "\xa3 \xff\n");
    INFO("reply: " << reply << "\ndaemon log: " << store.daemon_log());
    REQUIRE(!reply.empty());
    CHECK(reply.back() == '\n');
    const auto j = nlohmann::json::parse(reply);
    CHECK(j.at("ok") == false);
    CHECK(j.at("error").get<std::string>().find("parse error") != std::string::npos);

    const auto status = nlohmann::json::parse(ask(store.mountpoint(), "{\"op\":\"status\"}\n"));
    CHECK(status.at("ok") == true);
}
