#include "store/store_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <cerrno>

#include "util/errors.h"

namespace cmkfs::store {

namespace {
constexpr const char *kLockFile = ".cmkfs.lock";
}

StoreLock::StoreLock(int root_fd, const std::string &backing, Mode mode) {
    // The backing directory is untrusted: a FIFO planted here must not block
    // the open, and only a regular file is a lock we can trust.
    constexpr int flags = O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
    fd_.reset(::openat(root_fd, kLockFile, O_RDWR | O_CREAT | flags, 0600));
    if (!fd_ && (errno == EROFS || errno == EACCES)) {
        fd_.reset(::openat(root_fd, kLockFile, O_RDONLY | flags));
        if (!fd_ && errno == ENOENT) return;
    }
    if (!fd_) throw SystemError(errno, backing + "/" + kLockFile);
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0) throw SystemError(errno, "stat " + backing + "/" + kLockFile);
    if (!S_ISREG(st.st_mode)) throw SystemError(EIO, backing + "/" + kLockFile + " is not a regular file (refused)");
    const int op = (mode == Mode::exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB;
    while (::flock(fd_.get(), op) != 0) {
        if (errno == EINTR) continue;
        if (errno != EWOULDBLOCK) throw SystemError(errno, "lock " + backing + "/" + kLockFile);
        throw Error(EBUSY, mode == Mode::exclusive
                               ? backing + " is in use (mounted, or being checked); unmount it first"
                               : backing + " is being re-encrypted by a running `cmkfs reencrypt`");
    }
}

}  // namespace cmkfs::store
