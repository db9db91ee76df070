// What the fuzz targets found (fuzz/regressions/, docs/fuzzing.md), done to
// a real mount or its backing directory.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
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

// fuzz/control_request.cpp: a request that is not JSON gets a parse error
// whose message quotes the bytes read; when those were not UTF-8 the reply
// could not be serialised and the client saw the connection closed.
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

// fuzz/volume_header.cpp: a block_size (or format_version) that is a float
// too large for 32 bits was converted with undefined behaviour; a fraction
// was truncated and accepted. Planted in the backing directory, each is a
// refusal naming the field.
TEST_CASE("a volume header whose sizes are not unsigned 32-bit integers is refused with exit 5",
          "[fuzz][bad-input]") {
    MountedStore store(MountedStore::Options::unmounted());
    const std::string header = store.backing() + "/.cmkfs.volume";
    const std::string original = read_file(header);
    for (const auto &[field, literal] : std::vector<std::pair<std::string, std::string>>{
             {"block_size", "40e96"}, {"block_size", "4096.5"}, {"format_version", "-1"}}) {
        auto doc = nlohmann::json::parse(original);
        doc[field] = nullptr;
        std::string text = doc.dump(2);
        const std::string placeholder = "\"" + field + "\": null";
        REQUIRE(text.find(placeholder) != std::string::npos);
        text.replace(text.find(placeholder), placeholder.size(), "\"" + field + "\": " + literal);
        write_file(header, text);
        INFO(field << ": " << literal);
        const auto r = cli({"mount", store.backing(), store.mountpoint()});
        INFO("exit " << r.exit_code << " stderr: " << r.err);
        CHECK(r.exit_code == 5);
        CHECK(r.err.find(field + " must be an unsigned 32-bit integer") != std::string::npos);
        CHECK_FALSE(is_mounted(store.mountpoint()));
        if (is_mounted(store.mountpoint())) cli({"umount", "--lazy", store.mountpoint()});
    }
}
