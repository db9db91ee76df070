// store::Tree's attributes and contents: stat with plaintext sizes, mode,
// owner and times, opening for I/O, truncate, fallocate and
// SEEK_DATA/SEEK_HOLE in plaintext offsets.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <shared_mutex>

#include "format/file_layout.h"
#include "store/content.h"
#include "store/link_count.h"
#include "store/symlink_target.h"
#include "store/tree.h"
#include "util/errors.h"

namespace cmkfs::store {

namespace {

// Reads need the ciphertext even for write-only opens (read-modify-write;
// with the writeback cache the kernel also reads pages through such opens).
UniqueFd open_backing_for_io(int path_fd, int user_flags) {
    std::string path = proc_path(path_fd);
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (!fd && (errno == EACCES || errno == EROFS || errno == ETXTBSY) && (user_flags & O_ACCMODE) == O_RDONLY)
        fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw_errno("open");
    return fd;
}

}  // namespace

struct stat stat_plaintext(int fd, uint32_t format_version, bool *long_target) {
    struct stat st {};
    if (::fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) throw_errno("stat");
    if (S_ISREG(st.st_mode)) {
        st.st_size = static_cast<off_t>(content_size_from_backing(static_cast<uint64_t>(st.st_size)));
    } else if (S_ISLNK(st.st_mode)) {
        // Format 3: a marker's size is not the target's; the marker says it.
        const auto length =
            format::keeps_long_targets(format_version) ? long_target_length(fd, st.st_size) : std::nullopt;
        st.st_size = length ? static_cast<off_t>(*length)
                            : static_cast<off_t>(format::symlink_target_length(static_cast<uint64_t>(st.st_size)));
        if (long_target != nullptr) *long_target = length.has_value();
    }
    return st;
}

struct stat Tree::stat(const Node &node) const { return stat_plaintext(node.fd.get(), version_); }

struct statvfs Tree::statfs(int root_fd) const {
    struct statvfs st {};
    if (::fstatvfs(root_fd, &st) != 0) throw_errno("statfs");
    st.f_namemax = 255;  // long names are stored under a hash
    return st;
}

void Tree::chmod(Node &node, mode_t mode) {
    // By path: the caller may hold a directory stream, which has no fd of ours.
    if (chmod_fd(node.fd.get(), mode) != 0) throw_errno("chmod");
}

void Tree::kill_suidgid(Node &node) {
    struct stat st {};
    if (::fstat(node.fd.get(), &st) != 0) throw_errno("stat for setuid clearing");
    mode_t mode = st.st_mode & 07777;
    mode &= ~S_ISUID;
    if (mode & S_IXGRP) mode &= ~S_ISGID;  // without group execute it marks mandatory locking
    if (mode != (st.st_mode & 07777)) chmod(node, mode);
}

void Tree::chown(Node &node, uid_t uid, gid_t gid) {
    if (::fchownat(node.fd.get(), "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) throw_errno("chown");
}

void Tree::utimens(Node &node, const struct timespec times[2]) {
    // Not between a WRITE's write and its putting the mtime back
    // (FileContent::Mtime::kept).
    std::unique_lock<std::shared_mutex> content_lock;
    if (node.type == S_IFREG) content_lock = std::unique_lock(node.content.mutex);
    if (utimens_fd(node.fd.get(), times) != 0) throw_errno("utimens");
}

UniqueFd Tree::open(const Keyring::Access &access, Node &node, int flags) {
    UniqueFd fd = open_backing_for_io(node.fd.get(), flags);
    check_link_count(access, version_, fd.get(), node.content, node.label());
    if ((flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY) {
        std::unique_lock lock(node.content.mutex);
        FileContent(fd.get(), node.content, access, version_).truncate(0);
    }
    return fd;
}

void Tree::truncate(const Keyring::Access &access, Node &node, int fd, uint64_t size) {
    if (node.type != S_IFREG) throw Error(EINVAL, "truncate of a non-regular file");
    UniqueFd own;
    if (fd < 0) fd = (own = open_backing_for_io(node.fd.get(), O_RDWR)).get();
    std::unique_lock lock(node.content.mutex);
    FileContent(fd, node.content, access, version_).truncate(size);
}

void Tree::fallocate(const Keyring &keyring, Node &node, int fd, int mode, off_t offset, off_t length) {
    if (mode != 0) throw Error(EOPNOTSUPP, "fallocate mode");
    if (offset < 0 || length <= 0) throw Error(EINVAL, "fallocate range");
    const auto access = keyring.access();
    std::unique_lock lock(node.content.mutex);
    FileContent content(fd, node.content, access, version_);
    const uint64_t end = static_cast<uint64_t>(offset) + static_cast<uint64_t>(length);
    if (end > content.size()) content.truncate(end);
    // Reserve the ciphertext range; unwritten reserved blocks read as holes.
    const uint64_t cbegin = format::block_cipher_offset(format::block_index(static_cast<uint64_t>(offset)));
    const uint64_t cend = format::cipher_size_for(end);
    if (cend > cbegin &&
        ::fallocate(fd, FALLOC_FL_KEEP_SIZE, static_cast<off_t>(cbegin), static_cast<off_t>(cend - cbegin)) != 0)
        throw_errno("fallocate");
}

off_t Tree::seek(const Keyring &keyring, Node &node, int fd, off_t off, int whence) {
    if (whence != SEEK_DATA && whence != SEEK_HOLE) throw Error(EINVAL, "lseek whence");
    const auto access = keyring.access();
    std::shared_lock lock(node.content.mutex);
    const uint64_t size = content_size(fd);
    if (off < 0 || static_cast<uint64_t>(off) >= size) throw Error(ENXIO, "lseek past end");
    const uint64_t first_block = format::block_index(static_cast<uint64_t>(off));
    off_t found = ::lseek(fd, static_cast<off_t>(format::block_cipher_offset(first_block)), whence);
    if (found < 0) {
        if (errno != ENXIO) throw_errno("lseek");
        if (whence == SEEK_DATA) throw Error(ENXIO, "no data after offset");
        return static_cast<off_t>(size);
    }
    const uint64_t c = static_cast<uint64_t>(found);
    const uint64_t body = c > format::kFileHeaderSize ? c - format::kFileHeaderSize : 0;
    // Data starts at the block containing it; a hole at the first block
    // boundary at or after it.
    uint64_t block = whence == SEEK_DATA ? body / format::kBlockCipherSize
                                         : (body + format::kBlockCipherSize - 1) / format::kBlockCipherSize;
    return static_cast<off_t>(
        std::min(size, std::max<uint64_t>(static_cast<uint64_t>(off), block * format::kBlockPlainSize)));
}

void Tree::fsync(int fd, bool datasync) {
    if ((datasync ? ::fdatasync(fd) : ::fsync(fd)) != 0) throw_errno("fsync");
}

}  // namespace cmkfs::store
