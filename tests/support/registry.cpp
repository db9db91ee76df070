#include "support/registry.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "util/unique_fd.h"

namespace cmkfs::test {

namespace {

sockaddr_in loopback(uint16_t port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return addr;
}

std::string config_yaml(const std::string &root, const std::string &address, const std::string &htpasswd,
                        const std::string &http_secret) {
    std::string yaml =
        "version: 0.1\n"
        "log:\n"
        "  level: info\n"
        "storage:\n"
        "  filesystem:\n"
        "    rootdirectory: " + root + "\n"
        "  delete:\n"
        "    enabled: true\n"
        "http:\n"
        "  addr: " + address + "\n";
    if (!http_secret.empty()) yaml += "  secret: " + http_secret + "\n";
    if (!htpasswd.empty())
        yaml += "auth:\n"
                "  htpasswd:\n"
                "    realm: cmkfs-test\n"
                "    path: " + htpasswd + "\n";
    return yaml;
}

}  // namespace

uint16_t free_loopback_port() {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) throw std::runtime_error("socket failed");
    sockaddr_in addr = loopback(0);
    if (::bind(fd.get(), reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0)
        throw std::runtime_error(std::string("bind 127.0.0.1:0 failed: ") + std::strerror(errno));
    socklen_t len = sizeof addr;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr *>(&addr), &len);
    return ntohs(addr.sin_port);
}

int loopback_http_status(uint16_t port, const std::string &path) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return -1;
    sockaddr_in addr = loopback(port);
    if (::connect(fd.get(), reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0) return -1;
    const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size()))
        return -1;
    char buf[64] = {};
    size_t got = 0;
    while (got < sizeof buf - 1) {
        ssize_t n = ::recv(fd.get(), buf + got, sizeof buf - 1 - got, 0);
        if (n <= 0) break;
        got += static_cast<size_t>(n);
    }
    int major = 0, minor = 0, status = -1;
    if (std::sscanf(buf, "HTTP/%d.%d %d", &major, &minor, &status) != 3) return -1;
    return status;
}

Registry::Registry(RegistryOptions options) : options_(std::move(options)) {
    if (!options_.user.empty()) {
        // htpasswd reads the password from stdin (-i), so it never shows in argv.
        auto r = run({"htpasswd", "-iBn", options_.user}, options_.password);
        if (r.exit_code != 0) throw std::runtime_error("htpasswd failed: " + r.err);
        write_file(dir_ / "htpasswd", r.out);
    }
    for (int attempt = 0; attempt < 5; ++attempt)
        if (try_start()) return;
    throw std::runtime_error("docker-registry found no free port: " + log());
}

Registry::~Registry() { stop(); }

bool Registry::try_start() {
    port_ = free_loopback_port();
    address_ = "127.0.0.1:" + std::to_string(port_);
    const std::string config = dir_ / "config.yml";
    write_file(config, config_yaml(options_.root, address_, options_.user.empty() ? "" : dir_ / "htpasswd",
                                     options_.http_secret));
    process_ = ChildProcess({"docker-registry", "serve", config}, dir_ / "registry.log");
    for (int i = 0; i < 1500; ++i) {
        if (http_status("/v2/") > 0) return true;
        if (!process_.running()) {
            if (log().find("address already in use") != std::string::npos) return false;
            throw std::runtime_error("docker-registry exited: " + log());
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    process_.stop();
    throw std::runtime_error("docker-registry did not answer /v2/ within 15 s: " + log());
}

std::string Registry::reference(const std::string &repo, const std::string &tag) const {
    return address_ + "/" + repo + ":" + tag;
}

int Registry::http_status(const std::string &path) const { return loopback_http_status(port_, path); }

void Registry::stop() { process_.stop(); }

}  // namespace cmkfs::test
