// File contents: open/create, read/write through the store's block codec,
// setattr (including truncate), fsync, fallocate and SEEK_DATA/SEEK_HOLE.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <mutex>
#include <shared_mutex>
#include <vector>

#include "crypto/wipe.h"
#include "format/file_layout.h"
#include "fs/backing_fd.h"
#include "fs/filesystem.h"
#include "fs/link_count.h"
#include "fs/op_guard.h"
#include "store/directory.h"
#include "util/errors.h"

namespace cmkfs::fs {

namespace {

FileHandle *handle_of(fuse_file_info *fi) { return reinterpret_cast<FileHandle *>(fi->fh); }

// Reads need the ciphertext even for write-only opens (read-modify-write;
// with the writeback cache the kernel also reads pages through such opens).
UniqueFd open_backing_for_io(int path_fd, int user_flags) {
    std::string path = proc_path(path_fd);
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (!fd && (errno == EACCES || errno == EROFS || errno == ETXTBSY) &&
        (user_flags & O_ACCMODE) == O_RDONLY)
        fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw_errno("open");
    return fd;
}

std::vector<uint8_t> &read_buffer(size_t size) {
    thread_local std::vector<uint8_t> buf;
    if (buf.size() < size) buf.resize(size);
    return buf;
}

}  // namespace

void Filesystem::setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, fuse_file_info *fi) {
    guard(req, "setattr", [&] {
        auto access = keyring_.access();
        Inode &inode = inode_of(ino);
        const std::string path = proc_path(inode.fd.get());
        if (to_set & FUSE_SET_ATTR_MODE) {
            // By path: fi may be a directory handle, which has no fd of ours.
            if (::chmod(path.c_str(), attr->st_mode) != 0) throw_errno("chmod");
        }
        if (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
            uid_t uid = (to_set & FUSE_SET_ATTR_UID) ? attr->st_uid : static_cast<uid_t>(-1);
            gid_t gid = (to_set & FUSE_SET_ATTR_GID) ? attr->st_gid : static_cast<gid_t>(-1);
            if (::fchownat(inode.fd.get(), "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0)
                throw_errno("chown");
        }
        if (to_set & FUSE_SET_ATTR_SIZE) {
            if (inode.type != S_IFREG) throw Error(EINVAL, "truncate of a non-regular file");
            UniqueFd own;
            int fd = fi ? handle_of(fi)->fd : (own = open_backing_for_io(inode.fd.get(), O_RDWR)).get();
            std::unique_lock lock(inode.content.mutex);
            store::FileContent(fd, inode.content, access, volume_.header().format_version)
                .truncate(static_cast<uint64_t>(attr->st_size));
        }
        if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) {
            struct timespec tv[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
            if (to_set & FUSE_SET_ATTR_ATIME_NOW) tv[0].tv_nsec = UTIME_NOW;
            else if (to_set & FUSE_SET_ATTR_ATIME) tv[0] = attr->st_atim;
            if (to_set & FUSE_SET_ATTR_MTIME_NOW) tv[1].tv_nsec = UTIME_NOW;
            else if (to_set & FUSE_SET_ATTR_MTIME) tv[1] = attr->st_mtim;
            int rc = inode.type == S_IFLNK ? ::utimensat(inode.fd.get(), "", tv, AT_EMPTY_PATH)
                                           : ::utimensat(AT_FDCWD, path.c_str(), tv, 0);
            if (rc != 0) throw_errno("utimens");
        }
        struct stat st {};
        fill_attr(inode.fd.get(), st);
        fuse_reply_attr(req, &st, options_.attr_timeout);
    });
}

void Filesystem::open(fuse_req_t req, fuse_ino_t ino, fuse_file_info *fi) {
    guard(req, "open", [&] {
        auto access = keyring_.access();
        Inode &inode = inode_of(ino);
        UniqueFd fd = open_backing_for_io(inode.fd.get(), fi->flags);
        check_link_count(access, volume_.header().format_version, fd.get(), inode.content, inode.label());
        if ((fi->flags & O_TRUNC) && (fi->flags & O_ACCMODE) != O_RDONLY) {
            std::unique_lock lock(inode.content.mutex);
            store::FileContent(fd.get(), inode.content, access, volume_.header().format_version).truncate(0);
        }
        // With the writeback cache the kernel owns the size and places
        // O_APPEND writes itself; ours could be stale behind its dirty pages.
        auto handle = std::make_unique<FileHandle>(fd.release(), (fi->flags & O_APPEND) != 0 && !writeback_);
        fi->keep_cache = 0;  // never serve plaintext cached before an open
        fi->fh = reinterpret_cast<uint64_t>(handle.get());
        if (fuse_reply_open(req, fi) == 0) handle.release();
    });
}

void Filesystem::create(fuse_req_t req, fuse_ino_t parent_ino, const char *name, mode_t mode,
                        fuse_file_info *fi) {
    guard(req, "create", [&] {
        auto access = keyring_.access();
        NameChange change(*this, access, inode_of(parent_ino));
        Inode &parent = change.parent;
        store::Directory &dir = change.names;
        auto backing = dir.encode(name);
        dir.write_sidecar(backing);
        const int base = O_RDWR | O_CLOEXEC | O_NOFOLLOW;
        UniqueFd fd(::openat(parent.fd.get(), backing.name.c_str(), base | O_CREAT | O_EXCL, mode));
        const bool created = static_cast<bool>(fd);
        if (!fd && errno == EEXIST && !(fi->flags & O_EXCL))
            fd.reset(::openat(parent.fd.get(), backing.name.c_str(), base));
        if (!fd) throw_errno("create");
        if (created) give_to_caller(req, parent.fd.get(), backing.name);
        change.lock.unlock();
        fuse_entry_param e;
        make_entry(parent, dir, name, backing.name, e, /*parent_locked=*/false);
        Inode &inode = inode_of(e.ino);
        if (!created && (fi->flags & O_TRUNC)) {
            std::unique_lock lock(inode.content.mutex);
            store::FileContent(fd.get(), inode.content, access, volume_.header().format_version).truncate(0);
            fill_attr(inode.fd.get(), e.attr);
        }
        auto handle = std::make_unique<FileHandle>(fd.release(), (fi->flags & O_APPEND) != 0 && !writeback_);
        fi->keep_cache = 0;
        fi->fh = reinterpret_cast<uint64_t>(handle.get());
        remember_entry(parent_ino, name);
        if (fuse_reply_create(req, &e, fi) == 0) handle.release();
    });
}

void Filesystem::read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info *fi) {
    guard(req, "read", [&] {
        auto access = keyring_.access();
        Inode &inode = inode_of(ino);
        auto &buf = read_buffer(size);
        // The buffer outlives the request (one per thread): no plaintext
        // stays in it after the reply, or after a failure part way.
        const crypto::WipeOnExit wipe_reply(buf.data(), size);
        size_t n;
        {
            std::shared_lock lock(inode.content.mutex);
            n = store::FileContent(handle_of(fi)->fd, inode.content, access, volume_.header().format_version)
                    .read(static_cast<uint64_t>(off), std::span(buf.data(), size));
        }
        metrics::bytes_read().inc(n);
        fuse_reply_buf(req, reinterpret_cast<const char *>(buf.data()), n);
    });
}

void Filesystem::write(fuse_req_t req, fuse_ino_t ino, const char *data, size_t size, off_t off,
                       fuse_file_info *fi) {
    guard(req, "write", [&] {
        // The plaintext arrived in libfuse's request buffer, which is reused
        // for later requests but never cleared: clear it when done, however.
        const crypto::WipeOnExit wipe_request(data, size);
        // Granted while a lock drains the kernel's dirty pages (writeback cache).
        auto access = keyring_.access_for_writeback();
        Inode &inode = inode_of(ino);
        FileHandle *handle = handle_of(fi);
        {
            std::unique_lock lock(inode.content.mutex);
            store::FileContent content(handle->fd, inode.content, access, volume_.header().format_version);
            // O_APPEND: the kernel's idea of the size may be stale; ours is not.
            // Page-cache writeback (mmap) may go through an O_APPEND handle
            // too, and must land where the page is, not at the end.
            uint64_t offset = handle->append && !fi->writepage ? content.size() : static_cast<uint64_t>(off);
            content.write(offset, std::span(reinterpret_cast<const uint8_t *>(data), size));
        }
        metrics::bytes_written().inc(size);
        fuse_reply_write(req, size);
    });
}

void Filesystem::flush(fuse_req_t req, fuse_ino_t, fuse_file_info *) {
    // Nothing is buffered in the daemon: every write already reached the backing file.
    fuse_reply_err(req, 0);
}

void Filesystem::release(fuse_req_t req, fuse_ino_t, fuse_file_info *fi) {
    delete handle_of(fi);
    fuse_reply_err(req, 0);
}

void Filesystem::fsync(fuse_req_t req, fuse_ino_t, int datasync, fuse_file_info *fi) {
    guard(req, "fsync", [&] {
        int fd = handle_of(fi)->fd;
        if ((datasync ? ::fdatasync(fd) : ::fsync(fd)) != 0) throw_errno("fsync");
        fuse_reply_err(req, 0);
    });
}

void Filesystem::fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
                           fuse_file_info *fi) {
    guard(req, "fallocate", [&] {
        if (mode != 0) throw Error(EOPNOTSUPP, "fallocate mode");
        if (offset < 0 || length <= 0) throw Error(EINVAL, "fallocate range");
        auto access = keyring_.access();
        Inode &inode = inode_of(ino);
        int fd = handle_of(fi)->fd;
        std::unique_lock lock(inode.content.mutex);
        store::FileContent content(fd, inode.content, access, volume_.header().format_version);
        const uint64_t end = static_cast<uint64_t>(offset) + static_cast<uint64_t>(length);
        if (end > content.size()) content.truncate(end);
        // Reserve the ciphertext range; unwritten reserved blocks read as holes.
        const uint64_t cbegin = format::block_cipher_offset(format::block_index(static_cast<uint64_t>(offset)));
        const uint64_t cend = format::cipher_size_for(end);
        if (cend > cbegin &&
            ::fallocate(fd, FALLOC_FL_KEEP_SIZE, static_cast<off_t>(cbegin), static_cast<off_t>(cend - cbegin)) != 0)
            throw_errno("fallocate");
        fuse_reply_err(req, 0);
    });
}

void Filesystem::lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, fuse_file_info *fi) {
    guard(req, "lseek", [&] {
        if (whence != SEEK_DATA && whence != SEEK_HOLE) throw Error(EINVAL, "lseek whence");
        write_back_before_lseek(ino);
        auto access = keyring_.access();
        Inode &inode = inode_of(ino);
        std::shared_lock lock(inode.content.mutex);
        const int fd = handle_of(fi)->fd;
        const uint64_t size = store::content_size(fd);
        if (off < 0 || static_cast<uint64_t>(off) >= size) throw Error(ENXIO, "lseek past end");
        const uint64_t first_block = format::block_index(static_cast<uint64_t>(off));
        off_t found = ::lseek(fd, static_cast<off_t>(format::block_cipher_offset(first_block)), whence);
        uint64_t result;
        if (found < 0) {
            if (errno != ENXIO) throw_errno("lseek");
            if (whence == SEEK_DATA) throw Error(ENXIO, "no data after offset");
            result = size;
        } else {
            const uint64_t c = static_cast<uint64_t>(found);
            const uint64_t body = c > format::kFileHeaderSize ? c - format::kFileHeaderSize : 0;
            // Data starts at the block containing it; a hole at the first block
            // boundary at or after it.
            uint64_t block = whence == SEEK_DATA ? body / format::kBlockCipherSize
                                                 : (body + format::kBlockCipherSize - 1) / format::kBlockCipherSize;
            result = std::min(size, std::max<uint64_t>(static_cast<uint64_t>(off), block * format::kBlockPlainSize));
        }
        fuse_reply_lseek(req, static_cast<off_t>(result));
    });
}

}  // namespace cmkfs::fs
