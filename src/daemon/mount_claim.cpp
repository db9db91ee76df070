#include "daemon/mount_claim.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "crypto/encoding.h"
#include "crypto/kdf.h"
#include "daemon/control_socket.h"
#include "util/file_io.h"

namespace cmkfs::daemon {

namespace {

constexpr size_t kMaxHolderText = 4096;

std::string holder_of(int fd) {
    std::string text(kMaxHolderText, '\0');
    const size_t n = pread_full(fd, std::span(reinterpret_cast<uint8_t *>(text.data()), text.size()), 0);
    text.resize(n);
    return text;
}

bool same_file(int fd, const std::string &path) {
    struct stat a {}, b {};
    return ::fstat(fd, &a) == 0 && ::stat(path.c_str(), &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

}  // namespace

MountClaim::MountClaim(const std::string &name, const std::string &mountpoint) {
    const std::string dir = run_directory();
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) throw_errno("create " + dir);
    path_ = dir + "/" + name + ".lock";
    // A previous holder removes the file before it lets go: retry until the
    // file we lock is the one at the path.
    for (int attempt = 0;; ++attempt) {
        UniqueFd fd(::open(path_.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!fd) throw_errno("open " + path_);
        if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
            if (errno == EWOULDBLOCK) throw MountClaimTaken(name, holder_of(fd.get()));
            throw_errno("lock " + path_);
        }
        if (!same_file(fd.get(), path_)) {
            if (attempt == 100) throw Error(EBUSY, path_ + " keeps changing");
            continue;
        }
        if (::ftruncate(fd.get(), 0) != 0) throw_errno("truncate " + path_);
        pwrite_full(fd.get(), std::span(reinterpret_cast<const uint8_t *>(mountpoint.data()), mountpoint.size()), 0);
        fd_ = std::move(fd);
        return;
    }
}

MountClaim::~MountClaim() {
    if (fd_) ::unlink(path_.c_str());
}

std::string backing_claim_name(int backing_root_fd) {
    struct stat st {};
    if (::fstat(backing_root_fd, &st) != 0) throw_errno("stat backing directory");
    return "backing-" + std::to_string(static_cast<unsigned long long>(st.st_dev)) + "-" +
           std::to_string(static_cast<unsigned long long>(st.st_ino));
}

std::string mountpoint_claim_name(const std::string &absolute_mountpoint) {
    auto digest = crypto::sha256(crypto::as_bytes(absolute_mountpoint));
    return "mountpoint-" + crypto::hex_encode(std::span(digest.data(), 12));
}

}  // namespace cmkfs::daemon
