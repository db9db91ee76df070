// File contents: open/create, read/write through the store's block codec,
// setattr (including truncate), fsync, fallocate and SEEK_DATA/SEEK_HOLE; the
// backing side of each is store::Tree's (store/tree_content.cpp).
#include <fcntl.h>
#include <sys/stat.h>

#include <memory>
#include <mutex>
#include <shared_mutex>
#include <vector>

#include "crypto/wipe.h"
#include "fs/backing_fd.h"
#include "fs/filesystem.h"
#include "fs/op_guard.h"
#include "util/errors.h"

namespace cmkfs::fs {

namespace {

FileHandle *handle_of(fuse_file_info *fi) { return reinterpret_cast<FileHandle *>(fi->fh); }

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
        // Owner before mode: the daemon's chown (as root) of a regular file
        // clears S_ISUID/S_ISGID, and a mode sent with it (the kernel sends the
        // one it computed, e.g. with setuid cleared) must be the final one.
        if (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
            uid_t uid = (to_set & FUSE_SET_ATTR_UID) ? attr->st_uid : static_cast<uid_t>(-1);
            gid_t gid = (to_set & FUSE_SET_ATTR_GID) ? attr->st_gid : static_cast<gid_t>(-1);
            tree_.chown(inode, uid, gid);
        }
        if (to_set & FUSE_SET_ATTR_MODE) tree_.chmod(inode, attr->st_mode);
        // A truncate by a caller without CAP_FSETID (killpriv.h).
        if ((to_set & FUSE_SET_ATTR_SIZE) && Killpriv::request_kills_suidgid()) tree_.kill_suidgid(inode);
        if (to_set & FUSE_SET_ATTR_SIZE)
            tree_.truncate(access, inode, fi ? handle_of(fi)->fd : -1, static_cast<uint64_t>(attr->st_size));
        if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) {
            struct timespec tv[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
            if (to_set & FUSE_SET_ATTR_ATIME_NOW) tv[0].tv_nsec = UTIME_NOW;
            else if (to_set & FUSE_SET_ATTR_ATIME) tv[0] = attr->st_atim;
            if (to_set & FUSE_SET_ATTR_MTIME_NOW) tv[1].tv_nsec = UTIME_NOW;
            else if (to_set & FUSE_SET_ATTR_MTIME) tv[1] = attr->st_mtim;
            tree_.utimens(inode, tv);
        }
        const struct stat st = tree_.stat(inode);
        fuse_reply_attr(req, &st, options_.attr_timeout);
    });
}

void Filesystem::open(fuse_req_t req, fuse_ino_t ino, fuse_file_info *fi) {
    guard(req, "open", [&] {
        auto access = keyring_.access();
        UniqueFd fd = tree_.open(access, inode_of(ino), fi->flags);
        // With the writeback cache the kernel owns the size and places
        // O_APPEND writes itself; ours could be stale behind its dirty pages.
        auto handle = std::make_unique<FileHandle>(fd.release(), (fi->flags & O_APPEND) != 0 && !writeback_);
        fi->keep_cache = 0;  // never serve plaintext cached before an open
        fi->direct_io = options_.direct_io ? 1 : 0;
        fi->fh = reinterpret_cast<uint64_t>(handle.get());
        if (fuse_reply_open(req, fi) == 0) handle.release();
    });
}

void Filesystem::create(fuse_req_t req, fuse_ino_t parent_ino, const char *name, mode_t mode,
                        fuse_file_info *fi) {
    guard(req, "create", [&] {
        auto access = keyring_.access();
        const fuse_ctx *ctx = fuse_req_ctx(req);
        auto created = tree_.create(access, inode_of(parent_ino), name, mode, fi->flags, {ctx->uid, ctx->gid});
        const fuse_entry_param e = entry_param(created.entry);
        auto handle = std::make_unique<FileHandle>(created.fd.release(), (fi->flags & O_APPEND) != 0 && !writeback_);
        fi->keep_cache = 0;
        fi->direct_io = options_.direct_io ? 1 : 0;
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
        // A writer without CAP_FSETID: setuid/setgid go first (killpriv.h).
        if (Killpriv::request_kills_suidgid()) tree_.kill_suidgid(inode);
        {
            std::unique_lock lock(inode.content.mutex);
            store::FileContent content(handle->fd, inode.content, access, volume_.header().format_version);
            // O_APPEND: the kernel's idea of the size may be stale; ours is not.
            // Page-cache writeback (mmap) may go through an O_APPEND handle
            // too, and must land where the page is, not at the end.
            uint64_t offset = handle->append && !fi->writepage ? content.size() : static_cast<uint64_t>(off);
            const std::span bytes(reinterpret_cast<const uint8_t *>(data), size);
            // With the writeback cache the kernel owns the mtime and sends it
            // itself (store/content.h) -- except while a lock drains the
            // cache: its SETATTR would be refused after the wipe, so the time
            // the pages land is the best mtime the file can keep.
            const bool kernel_owns_mtime = writeback_ && !keyring_.draining_writeback();
            content.write(offset, bytes, kernel_owns_mtime ? store::FileContent::Mtime::kept
                                                           : store::FileContent::Mtime::moves);
        }
        metrics::bytes_written().inc(size);
        fuse_reply_write(req, size);
    });
}

void Filesystem::flush(fuse_req_t req, fuse_ino_t, fuse_file_info *) {
    // Nothing is buffered in the daemon: every write already reached the
    // backing file. Answered all the same (lowlevel.cpp says why).
    fuse_reply_err(req, 0);
}

void Filesystem::release(fuse_req_t req, fuse_ino_t, fuse_file_info *fi) {
    delete handle_of(fi);
    fuse_reply_err(req, 0);
}

void Filesystem::fsync(fuse_req_t req, fuse_ino_t, int datasync, fuse_file_info *fi) {
    guard(req, "fsync", [&] {
        tree_.fsync(handle_of(fi)->fd, datasync != 0);
        fuse_reply_err(req, 0);
    });
}

void Filesystem::fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
                           fuse_file_info *fi) {
    guard(req, "fallocate", [&] {
        tree_.fallocate(keyring_, inode_of(ino), handle_of(fi)->fd, mode, offset, length);
        fuse_reply_err(req, 0);
    });
}

void Filesystem::lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, fuse_file_info *fi) {
    guard(req, "lseek", [&] {
        write_back_before_lseek(ino);  // Tree answers from the backing file
        fuse_reply_lseek(req, tree_.seek(keyring_, inode_of(ino), handle_of(fi)->fd, off, whence));
    });
}

}  // namespace cmkfs::fs
