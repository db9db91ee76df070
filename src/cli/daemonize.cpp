#include "cli/daemonize.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "util/errors.h"

namespace cmkfs::cli {

Daemonizer Daemonizer::fork_and_wait() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe");
    pid_t pid = ::fork();
    if (pid < 0) throw_errno("fork");
    if (pid > 0) {
        ::close(fds[1]);
        std::string report;
        char buf[512];
        ssize_t n;
        while ((n = ::read(fds[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
            if (n > 0) report.append(buf, static_cast<size_t>(n));
        if (report.empty()) {
            int status = 0;
            ::waitpid(pid, &status, 0);
            std::fprintf(stderr, "cmkfs: the mount daemon exited before reporting (status %d)\n", status);
            std::_Exit(1);
        }
        auto nl = report.find('\n');
        int code = std::atoi(report.substr(0, nl).c_str());
        if (code != 0) {
            std::fprintf(stderr, "cmkfs: %s\n", report.substr(nl + 1).c_str());
            ::waitpid(pid, nullptr, 0);
        }
        std::_Exit(code);
    }
    ::close(fds[0]);
    ::setsid();
    return Daemonizer(fds[1]);
}

Daemonizer::Daemonizer(Daemonizer &&o) noexcept : fd_(std::exchange(o.fd_, -1)) {}

Daemonizer::~Daemonizer() {
    if (fd_ >= 0) ::close(fd_);
}

void Daemonizer::succeeded() {
    if (fd_ < 0) return;
    int null = ::open("/dev/null", O_RDWR);
    if (null >= 0) {
        ::dup2(null, 0);
        ::dup2(null, 1);
        ::dup2(null, 2);
        if (null > 2) ::close(null);
    }
    if (::chdir("/") != 0) { /* staying in the old cwd is harmless */ }
    (void)!::write(fd_, "0\n", 2);
    ::close(std::exchange(fd_, -1));
}

void Daemonizer::failed(int code, const std::string &message) {
    if (fd_ < 0) return;
    std::string report = std::to_string(code == 0 ? 1 : code) + "\n" + message;
    (void)!::write(fd_, report.data(), report.size());
    ::close(std::exchange(fd_, -1));
}

}  // namespace cmkfs::cli
