#include "daemon/control_socket.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <spdlog/spdlog.h>

#include "crypto/encoding.h"
#include "daemon/control_protocol.h"
#include "crypto/kdf.h"
#include "util/errors.h"

namespace cmkfs::daemon {

namespace {

constexpr size_t kMaxMessage = 1 << 20;

sockaddr_un address_of(const std::string &path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) throw Error(ENAMETOOLONG, "control socket path too long: " + path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    return addr;
}

// Reads until newline or EOF, bounded in size and time.
std::string read_line(int fd, int timeout_ms) {
    std::string data;
    char buf[4096];
    while (data.find('\n') == std::string::npos) {
        pollfd p{fd, POLLIN, 0};
        int rc = ::poll(&p, 1, timeout_ms);
        if (rc == 0) throw Error(ETIMEDOUT, "control socket: no answer");
        if (rc < 0) {
            if (errno == EINTR) continue;
            throw_errno("control socket poll");
        }
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("control socket read");
        }
        if (n == 0) break;
        data.append(buf, static_cast<size_t>(n));
        if (data.size() > kMaxMessage) throw Error(EMSGSIZE, "control message too large");
    }
    return std::string(first_line(data));
}

void write_all(int fd, const std::string &s) {
    size_t done = 0;
    while (done < s.size()) {
        ssize_t n = ::send(fd, s.data() + done, s.size() - done, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("control socket write");
        }
        done += static_cast<size_t>(n);
    }
}

}  // namespace

std::string run_directory() {
    // Read before any daemon thread starts and never set by us: getenv is safe here.
    const char *env = std::getenv("CMKFS_RUN_DIR");  // NOLINT(concurrency-mt-unsafe)
    return env != nullptr && *env != '\0' ? env : "/run/cmkfs";
}

std::string control_socket_path(const std::string &absolute_mountpoint) {
    auto digest = crypto::sha256(crypto::as_bytes(absolute_mountpoint));
    return run_directory() + "/" + crypto::hex_encode(std::span(digest.data(), 12)) + ".sock";
}

ControlServer::ControlServer(std::string path, ControlHandler handler)
    : path_(std::move(path)), handler_(std::move(handler)) {
    const std::string dir = path_.substr(0, path_.rfind('/'));
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) throw_errno("create " + dir);
    listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!listener_) throw_errno("control socket");
    ::unlink(path_.c_str());  // a stale socket from a crashed daemon
    sockaddr_un addr = address_of(path_);
    // Created 0600 from the start: no window where others could connect.
    mode_t old = ::umask(0177);
    int rc = ::bind(listener_.get(), reinterpret_cast<sockaddr *>(&addr), sizeof addr);
    ::umask(old);
    if (rc != 0) throw_errno("bind " + path_);
    if (::listen(listener_.get(), 8) != 0) throw_errno("listen " + path_);
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe");
    stop_read_.reset(fds[0]);
    stop_write_.reset(fds[1]);
    thread_ = std::thread([this] { serve(); });
}

ControlServer::~ControlServer() {
    (void)!::write(stop_write_.get(), "x", 1);
    if (thread_.joinable()) thread_.join();
    ::unlink(path_.c_str());
}

void ControlServer::serve() {
    for (;;) {
        pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {stop_read_.get(), POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            spdlog::error("control socket: {}", SystemError(errno, "poll").what());
            return;
        }
        if (fds[1].revents) return;
        UniqueFd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!client) continue;
        handle(client.get());
    }
}

void ControlServer::handle(int client) {
    nlohmann::json reply;
    try {
        ucred cred{};
        socklen_t len = sizeof cred;
        if (::getsockopt(client, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid != 0)
            throw Error(EPERM, "control socket is for root only");
        auto request = parse_control_request(read_line(client, 5000));
        reply = handler_(request);
    } catch (const std::exception &e) {
        reply = {{"ok", false}, {"error", e.what()}};
    }
    try {
        write_all(client, reply_line(reply));
    } catch (const std::exception &e) {
        spdlog::warn("control socket: reply lost: {}", e.what());
    }
}

nlohmann::json control_request(const std::string &absolute_mountpoint, const nlohmann::json &request,
                               int timeout_ms) {
    const std::string path = control_socket_path(absolute_mountpoint);
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) throw_errno("socket");
    sockaddr_un addr = address_of(path);
    if (::connect(fd.get(), reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0)
        throw SystemError(errno, "control socket " + path);
    write_all(fd.get(), request.dump() + "\n");
    const std::string reply = read_line(fd.get(), timeout_ms);
    if (reply.empty())
        throw Error(ECONNRESET, "the cmkfs daemon of " + absolute_mountpoint +
                                    " closed the control connection without answering (did it exit?)");
    return nlohmann::json::parse(reply);
}

}  // namespace cmkfs::daemon
