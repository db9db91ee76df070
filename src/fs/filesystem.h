// The FUSE adapter: libfuse low-level operations on top of the store layer.
// Each operation resolves inodes, takes the key (Keyring::Access), calls
// store::Tree (which makes every backing syscall) and replies; errors become
// errno in op_guard.cpp.
#pragma once

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "fs/inode_table.h"
#include "store/keyring.h"
#include "store/tree.h"
#include "store/volume.h"
#include "fs/killpriv.h"

namespace cmkfs::fs {

struct FsOptions {
    // How long the kernel may trust a name and attributes without asking.
    // Every change made through the mount reaches the kernel's caches with
    // its reply; a lock invalidates every inode and every name handed out
    // within the entry timeout (invalidate_kernel_caches); changes behind
    // the mount's back (the backing directory edited) show after this long.
    double attr_timeout = 10.0;
    double entry_timeout = 10.0;
    // The kernel's writeback cache: writes land in the page cache and reach
    // us in large batches. Safe only because a lock first has the kernel
    // write back every dirty page (flush_dirty_pages) and only then wipes.
    bool writeback_cache = false;
    // Every read and write goes to the daemon, past the page cache (shared
    // storage: the byte-range locks then make each block one whole version,
    // within a host as across hosts). MAP_SHARED mappings are then refused by
    // the kernel (ENODEV): they could not be kept coherent across hosts.
    bool direct_io = false;
    // The daemon clears setuid/setgid for the kernel (fs/killpriv.h), which
    // then marks inodes S_NOSEC. Not in shared storage: another host may set
    // the bits behind that mark.
    bool killpriv_v2 = true;
};

class Filesystem {
public:
    Filesystem(store::Volume &volume, store::Keyring &keyring, FsOptions options);

    static const fuse_lowlevel_ops &operations();

    // Called after the keyring locks: drop kernel caches for every inode and
    // every name the kernel may still hold as a dentry. Must not run on a FUSE
    // request thread (the kernel may wait for that request to finish). Takes
    // a fraction of a second: it makes a second pass (see the .cpp).
    void invalidate_kernel_caches();
    void set_session(fuse_session *session) { session_ = session; }
    // Setuid/setgid clearing by the daemon, negotiated past libfuse (killpriv.h).
    Killpriv &killpriv() { return killpriv_; }
    // The before-wipe step of a lock (writeback cache; fs/writeback_drain.h):
    // makes the kernel write back every dirty page of every inode now, through
    // ordinary WRITE requests served under the still-present key, and drop the
    // pages. Call after Keyring::refuse_all_but_writeback, never on a FUSE
    // request thread (the kernel waits for WRITE requests to finish).
    void flush_dirty_pages();

    store::Keyring &keyring() { return keyring_; }

    // Operation bodies (public for the C trampolines in lowlevel.cpp).
    void init(fuse_conn_info *conn);
    void lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
    void forget(fuse_ino_t ino, uint64_t nlookup);
    void getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info *fi);
    void setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, fuse_file_info *fi);
    void readlink(fuse_req_t req, fuse_ino_t ino);
    void mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev);
    void mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode);
    void unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
    void rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
    void symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name);
    void rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                const char *newname, unsigned int flags);
    void link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname);
    void open(fuse_req_t req, fuse_ino_t ino, fuse_file_info *fi);
    void create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, fuse_file_info *fi);
    void read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info *fi);
    void write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off, fuse_file_info *fi);
    void flush(fuse_req_t req, fuse_ino_t ino, fuse_file_info *fi);
    void release(fuse_req_t req, fuse_ino_t ino, fuse_file_info *fi);
    void fsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info *fi);
    void opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info *fi);
    void readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info *fi, bool plus);
    void releasedir(fuse_req_t req, fuse_ino_t ino, fuse_file_info *fi);
    void fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info *fi);
    void statfs(fuse_req_t req, fuse_ino_t ino);
    void setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size, int flags);
    void getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size);
    void listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
    void removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);
    void fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length, fuse_file_info *fi);
    void lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, fuse_file_info *fi);

private:
    Inode &inode_of(fuse_ino_t ino);
    // The reply for a node store::Tree interned (its lookup count raised).
    fuse_entry_param entry_param(const store::Entry &entry);
    // Notes a name just handed to the kernel with an entry timeout, so that a
    // lock can invalidate the dentry: otherwise a cached dentry would keep
    // answering lookups (e.g. open(O_PATH) below the root, whose getattr stays
    // allowed) until the timeout runs out.
    void remember_entry(fuse_ino_t parent, std::string_view name);
    // Writeback cache: has the kernel write back ino's dirty pages, so that
    // SEEK_DATA/SEEK_HOLE, answered from the backing file, see them.
    void write_back_before_lseek(fuse_ino_t ino);

    store::Volume &volume_;
    store::Keyring &keyring_;
    FsOptions options_;
    InodeTable inodes_;
    store::Tree tree_;  // every backing syscall and ordering protocol
    fuse_session *session_ = nullptr;
    bool writeback_ = false;  // the kernel agreed to the writeback cache (set in init)
    Killpriv killpriv_;

    struct RecentEntry {
        std::chrono::steady_clock::time_point when;
        fuse_ino_t parent;
        std::string name;
    };
    std::mutex recent_mutex_;
    std::deque<RecentEntry> recent_entries_;  // oldest first; pruned past the entry timeout
};

}  // namespace cmkfs::fs
