#include "support/mount_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <thread>

namespace cmkfs::test {

std::set<std::string> listing(const std::string &dir) {
    std::set<std::string> out;
    for (const auto &e : std::filesystem::directory_iterator(dir)) out.insert(e.path().filename().string());
    return out;
}

int read_through_mount(const std::string &path, size_t off, size_t len, std::string *out) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
    std::string buf(len, '\0');
    size_t done = 0;
    int err = 0;
    while (done < len) {
        ssize_t n = ::pread(fd, buf.data() + done, len - done, static_cast<off_t>(off + done));
        if (n < 0) {
            err = errno;
            break;
        }
        if (n == 0) break;
        done += static_cast<size_t>(n);
    }
    ::close(fd);
    buf.resize(done);
    if (out != nullptr) *out = buf;
    return err;
}

int read_errno(const std::string &path, std::string *out) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    std::string data;
    char buf[65536];
    int err = 0;
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            err = errno;
            break;
        }
        if (n == 0) break;
        data.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    if (err == 0 && out != nullptr) *out = std::move(data);
    return err;
}

double wait_for(const std::function<bool()> &pred, double timeout_s) {
    using Clock = std::chrono::steady_clock;
    const auto t0 = Clock::now();
    for (;;) {
        const double waited = std::chrono::duration<double>(Clock::now() - t0).count();
        if (pred()) return waited;
        if (waited > timeout_s) return -1;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

}  // namespace cmkfs::test
