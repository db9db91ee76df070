#include "store/tree_lock.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdint>

#include <spdlog/spdlog.h>

#include "util/errors.h"

namespace cmkfs::store {

namespace {
// Name bytes of .cmkfs.lock: far above the store lock's byte 0 and host slots.
constexpr off_t kNameLockBase = off_t{1} << 40;
constexpr uint64_t kNameLockSpan = uint64_t{1} << 30;
}  // namespace

HostNameLocks::HostNameLocks(int root_fd)
    : fd_(::openat(root_fd, ".cmkfs.lock", O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) {
    if (!fd_) throw_errno("open .cmkfs.lock for the name locks between hosts");
}

NamesLock::NamesLock(Node &dir, bool take) {
    if (take) first_ = std::unique_lock(dir.names_mutex);
}

NamesLock::NamesLock(Node &a, Node &b) {
    if (&a == &b) {
        first_ = std::unique_lock(a.names_mutex);
        return;
    }
    std::lock(a.names_mutex, b.names_mutex);
    first_ = std::unique_lock(a.names_mutex, std::adopt_lock);
    second_ = std::unique_lock(b.names_mutex, std::adopt_lock);
}

NamesLock::~NamesLock() { release_host_lock(); }

void NamesLock::hold_across_hosts(const HostNameLocks &hosts, int dirfd, const std::string &backing) {
    if (!hosts.enabled() || host_fd_ >= 0) return;
    struct stat st {};
    if (::fstat(dirfd, &st) != 0) throw_errno("stat directory");
    // FNV-1a over (inode, name): the same directory entry on every host
    // (st_ino is the backing filesystem's, the same for all its clients).
    uint64_t h = 14695981039346656037ULL;
    auto mix = [&h](const void *p, size_t n) {
        for (size_t i = 0; i < n; ++i) h = (h ^ static_cast<const uint8_t *>(p)[i]) * 1099511628211ULL;
    };
    mix(&st.st_ino, sizeof st.st_ino);
    mix(backing.data(), backing.size());
    host_range_ = {};
    host_range_.l_whence = SEEK_SET;
    host_range_.l_start = kNameLockBase + static_cast<off_t>(h % kNameLockSpan);
    host_range_.l_len = 1;
    host_range_.l_type = F_WRLCK;
    while (::fcntl(hosts.fd(), F_OFD_SETLKW, &host_range_) != 0)
        if (errno != EINTR) throw_errno("lock name across hosts");
    host_fd_ = hosts.fd();
}

void NamesLock::release_host_lock() {
    if (host_fd_ < 0) return;
    host_range_.l_type = F_UNLCK;
    if (::fcntl(host_fd_, F_OFD_SETLK, &host_range_) != 0)
        spdlog::error("shared storage: unlocking a name across hosts: errno {}", errno);
    host_fd_ = -1;
}

void NamesLock::unlock() {
    release_host_lock();
    if (second_.owns_lock()) second_.unlock();
    if (first_.owns_lock()) first_.unlock();
}

}  // namespace cmkfs::store
