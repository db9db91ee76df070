#include "store/shared_locks.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>

#include <spdlog/spdlog.h>

#include "util/errors.h"

namespace cmkfs::store {

namespace {

std::atomic<bool> &shared_mode() {
    static std::atomic<bool> on{false};
    return on;
}

}  // namespace

void enable_shared_storage_locks(bool on) { shared_mode().store(on, std::memory_order_relaxed); }

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
