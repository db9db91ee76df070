#include "store/tree_node.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include <cstdio>
#include <string>

namespace cmkfs::store {

std::string proc_path(int fd) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "/proc/self/fd/%d", fd);
    return buf;
}

int chmod_fd(int fd, mode_t mode) {
    // fchmodat2 (Linux 6.6) is the one chmod that takes AT_EMPTY_PATH; fchmod
    // refuses O_PATH descriptors. glibc 2.36 has no wrapper, its headers no
    // number (452 on every architecture).
    constexpr long kFchmodat2 = 452;
    static std::atomic<bool> unsupported{false};
    if (!unsupported.load(std::memory_order_relaxed)) {
        if (::syscall(kFchmodat2, fd, "", mode, AT_EMPTY_PATH) == 0) return 0;
        if (errno != ENOSYS && errno != EINVAL) return -1;
        unsupported.store(true, std::memory_order_relaxed);
    }
    return ::chmod(proc_path(fd).c_str(), mode);
}

int utimens_fd(int fd, const struct timespec times[2]) {
    // Symlinks included: AT_EMPTY_PATH acts on the object itself.
    return ::utimensat(fd, "", times, AT_EMPTY_PATH);
}

std::string Node::label() const {
    char target[4096];
    ssize_t n = ::readlink(proc_path(fd.get()).c_str(), target, sizeof target - 1);
    if (n <= 0) return "inode " + std::to_string(ino);
    return std::string(target, static_cast<size_t>(n));
}

}  // namespace cmkfs::store
