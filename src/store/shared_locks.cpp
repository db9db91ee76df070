#include "store/shared_locks.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>

#include <spdlog/spdlog.h>

#include "util/errors.h"
#include "util/fault.h"

namespace cmkfs::store {

namespace {

std::atomic<bool> &shared_mode() {
    static std::atomic<bool> on{false};
    return on;
}

// The backing root's .cmkfs.lock, on an open file description of its own
// (the store lock's slots and byte 0 are not touched: names lock far above).
UniqueFd &name_lock_file() {
    static UniqueFd fd;
    return fd;
}
constexpr off_t kNameLockBase = off_t{1} << 40;
constexpr uint64_t kNameLockSpan = uint64_t{1} << 30;

// Holds an OFD write lock on the byte for (directory, name) while it lives.
class NameLock {
public:
    NameLock(int dirfd, const std::string &name) {
        const int fd = name_lock_file().get();
        if (fd < 0) return;
        struct stat st {};
        if (::fstat(dirfd, &st) != 0) throw_errno("stat directory");
        // FNV-1a over (device, inode, name): the same directory entry on
        // every host (st_ino is the backing filesystem's, the same for all).
        uint64_t h = 14695981039346656037ull;
        auto mix = [&h](const void *p, size_t n) {
            for (size_t i = 0; i < n; ++i) h = (h ^ static_cast<const uint8_t *>(p)[i]) * 1099511628211ull;
        };
        mix(&st.st_ino, sizeof st.st_ino);
        mix(name.data(), name.size());
        fl_.l_whence = SEEK_SET;
        fl_.l_start = kNameLockBase + static_cast<off_t>(h % kNameLockSpan);
        fl_.l_len = 1;
        fl_.l_type = F_WRLCK;
        while (::fcntl(fd, F_OFD_SETLKW, &fl_) != 0)
            if (errno != EINTR) throw_errno("lock name");
        fd_ = fd;
    }
    ~NameLock() {
        if (fd_ < 0) return;
        fl_.l_type = F_UNLCK;
        ::fcntl(fd_, F_OFD_SETLK, &fl_);
    }
    NameLock(const NameLock &) = delete;
    NameLock &operator=(const NameLock &) = delete;

private:
    int fd_ = -1;
    struct flock fl_ {};
};

}  // namespace

void enable_shared_storage_locks(bool on, int root_fd) {
    shared_mode().store(on, std::memory_order_relaxed);
    if (root_fd >= 0 && !name_lock_file())
        name_lock_file().reset(::openat(root_fd, ".cmkfs.lock", O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
}

void rename_no_replace(int dirfd, const std::string &from, const std::string &to) {
    try {
        fault_point("rename", "noreplace");  // tests: a backing filesystem without the flag
        if (::renameat2(dirfd, from.c_str(), dirfd, to.c_str(), RENAME_NOREPLACE) == 0) return;
        if (errno != EINVAL) throw_errno("rename");
    } catch (const SystemError &e) {
        if (e.error_number() != EINVAL) throw;
    }
    NameLock lock(dirfd, to);
    struct stat st {};
    if (::fstatat(dirfd, to.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) throw SystemError(EEXIST, "rename");
    if (errno != ENOENT) throw_errno("rename");
    if (::renameat(dirfd, from.c_str(), dirfd, to.c_str()) != 0) throw_errno("rename");
}
bool shared_storage_locks() { return shared_mode().load(std::memory_order_relaxed); }

int SharedFileLock::descriptor(int fd) {
    if (fd_) return fd_.get();
    // A new open file description of the same backing file (the magic link
    // names exactly the open file, whatever was renamed over its name since).
    char path[64];
    std::snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    fd_.reset(::open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC));
    if (!fd_) fd_.reset(::open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fd_) throw_errno("open lock descriptor of a shared file");
    return fd_.get();
}

void SharedFileLock::set(short type) {
    struct flock fl {};
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 0;  // to the end of the file, however far it grows
    while (::fcntl(fd_.get(), F_OFD_SETLKW, &fl) != 0) {
        if (errno == EINTR) continue;
        // A read-only descriptor (a file we may not write) cannot take a
        // write lock; nothing on this host can write it either.
        if (errno == EBADF && type == F_WRLCK) return;
        throw_errno(type == F_UNLCK ? "unlock shared file" : "lock shared file");
    }
}

namespace {

// Pages this host's kernel cached of the backing file may be another host's
// old data (a FUSE client such as ceph-fuse keeps them across its own caps):
// once the lock is ours no other host writes, so drop them and read afresh.
void drop_cached_pages(int fd) { ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED); }

}  // namespace

SharedFileLock::Read::Read(SharedFileLock &lock, int fd) {
    if (!shared_storage_locks()) return;
    std::lock_guard guard(lock.mutex_);
    if (lock.readers_ == 0) {
        lock.descriptor(fd);
        lock.set(F_RDLCK);
        drop_cached_pages(fd);
    }
    ++lock.readers_;
    lock_ = &lock;
}

SharedFileLock::Read::~Read() {
    if (lock_ == nullptr) return;
    std::lock_guard guard(lock_->mutex_);
    if (--lock_->readers_ > 0) return;
    try {
        lock_->set(F_UNLCK);
    } catch (const std::exception &e) {
        spdlog::error("shared storage: {}", e.what());
    }
}

SharedFileLock::Write::Write(SharedFileLock &lock, int fd) {
    if (!shared_storage_locks()) return;
    std::lock_guard guard(lock.mutex_);
    lock.descriptor(fd);
    lock.set(F_WRLCK);
    drop_cached_pages(fd);  // a read-modify-write reads the block first
    lock_ = &lock;
}

SharedFileLock::Write::~Write() {
    if (lock_ == nullptr) return;
    std::lock_guard guard(lock_->mutex_);
    try {
        lock_->set(F_UNLCK);
    } catch (const std::exception &e) {
        spdlog::error("shared storage: {}", e.what());
    }
}

}  // namespace cmkfs::store
