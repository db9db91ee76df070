// The before-wipe step of a lock when the kernel's writeback cache is on:
// every dirty page the kernel holds is written back to us (and encrypted)
// while the key is still there, so that a lock loses no write the kernel
// accepted; the pages are dropped on the way, so none stays cached.
#include <spdlog/spdlog.h>

#include "fs/filesystem.h"

namespace cmkfs::fs {

void Filesystem::flush_dirty_pages() {
    if (session_ == nullptr || !writeback_) return;
    // fuse_lowlevel_notify_inval_inode(offset 0, length 0) makes the kernel
    // invalidate the inode's whole page cache: it first "launders" each dirty
    // page, i.e. writes it with a WRITE request and waits for our reply, and
    // waits for pages already under writeback. Our request threads serve
    // those WRITEs under Keyring::access_for_writeback while every other
    // operation is refused, and the kernel's attributes are invalidated too,
    // so a write(2) arriving now asks for them and is refused. So when this
    // returns, every page that was dirty before it is in the backing file.
    auto inodes = inodes_.snapshot();
    size_t flushed = 0;
    for (Inode *inode : inodes) {
        if (inode->type != S_IFREG) continue;
        const int rc = fuse_lowlevel_notify_inval_inode(session_, reinterpret_cast<fuse_ino_t>(inode), 0, 0);
        // -ENOENT: the kernel no longer knows the inode, so it caches nothing.
        if (rc != 0 && rc != -ENOENT) spdlog::warn("lock: write-back of {} returned {}", inode->label(), rc);
        ++flushed;
    }
    inodes_.release(inodes);
    spdlog::info("lock: kernel write-back done for {} files", flushed);
}

}  // namespace cmkfs::fs

namespace cmkfs::fs {

void Filesystem::write_back_before_lseek(fuse_ino_t ino) {
    if (session_ == nullptr || !writeback_) return;
    // The kernel sends SEEK_DATA/SEEK_HOLE to us without writing its dirty
    // pages first, and we answer from the backing file: have it write them
    // back now. From a request thread, which is safe here: the kernel's lseek
    // holds only the inode lock, which neither the invalidation nor the WRITE
    // requests it sends (served by our other threads) take.
    const int rc = fuse_lowlevel_notify_inval_inode(session_, ino, 0, 0);
    if (rc != 0 && rc != -ENOENT) spdlog::warn("lseek: write-back returned {}", rc);
}

}  // namespace cmkfs::fs
