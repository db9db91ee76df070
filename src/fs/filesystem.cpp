// Core of the adapter: inode resolution, attributes, and the operations that
// create, remove and rename names (their semantics: store/tree_names.cpp).
#include "fs/filesystem.h"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>

#include "crypto/wipe.h"
#include "fs/backing_fd.h"
#include "fs/op_guard.h"
#include "util/errors.h"

namespace cmkfs::fs {

namespace {

fuse_ino_t ino_of(Inode &inode, Inode &root) {
    return &inode == &root ? FUSE_ROOT_ID : reinterpret_cast<fuse_ino_t>(&inode);
}

store::Caller caller_of(fuse_req_t req) {
    const fuse_ctx *ctx = fuse_req_ctx(req);
    return {ctx->uid, ctx->gid};
}

}  // namespace

FileHandle::~FileHandle() {
    if (fd >= 0) ::close(fd);
    metrics::open_files().add(-1);
}

Filesystem::Filesystem(store::Volume &volume, store::Keyring &keyring, FsOptions options)
    : volume_(volume), keyring_(keyring), options_(options),
      tree_(volume.header().format_version, volume.header().plaintext_names, inodes_) {
    auto root = std::make_unique<Inode>();
    struct stat st {};
    root->fd = store::Tree::open_root(volume.root_fd(), st);
    root->dev = st.st_dev;
    root->ino = st.st_ino;
    root->type = S_IFDIR;
    root->dir_id = volume.header().root_dir_id;
    inodes_.set_root(std::move(root));
    if (volume.header().shared_storage) tree_.lock_names_across_hosts(volume.root_fd());
}

Inode &Filesystem::inode_of(fuse_ino_t ino) {
    if (ino == FUSE_ROOT_ID) return inodes_.root();
    // Inode numbers are the Inode's address (libfuse's passthrough_hp scheme).
    return *reinterpret_cast<Inode *>(ino);  // NOLINT(performance-no-int-to-ptr)
}

fuse_entry_param Filesystem::entry_param(const store::Entry &entry) {
    fuse_entry_param e;
    std::memset(&e, 0, sizeof e);
    e.attr = entry.attr;
    e.ino = ino_of(static_cast<Inode &>(entry.node), inodes_.root());
    e.attr_timeout = options_.attr_timeout;
    e.entry_timeout = options_.entry_timeout;
    return e;
}

void Filesystem::init(fuse_conn_info *conn) {
    // The writeback cache holds written plaintext in the kernel until it
    // writes it back to us: allowed because a lock drains it under the key
    // before the wipe (flush_dirty_pages) and drops it again after.
    writeback_ = options_.writeback_cache && (conn->capable & FUSE_CAP_WRITEBACK_CACHE) != 0;
    if (writeback_) conn->want |= FUSE_CAP_WRITEBACK_CACHE;
    else conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
    conn->want &= ~(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE);
    // Setuid/setgid clearing on write and truncate: HANDLE_KILLPRIV (v1)
    // would leave it to the daemon with no word of who writes, and the daemon
    // (root) cannot tell a privileged writer from another: never. Version 2
    // carries the kernel's decision (the writer lacks CAP_FSETID) in each
    // WRITE and SETATTR; libfuse 3.14 knows nothing of it, so fs/killpriv.h
    // negotiates it and reads the flags. Chown needs nothing of ours: the
    // backing chown (as root) clears the bits as the kernel would.
    conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV;
    killpriv_.want(options_.killpriv_v2);
    // O_TRUNC is not atomic: with ATOMIC_O_TRUNC the kernel hands the
    // truncate to our open and, without killpriv v2, drops the clearing it
    // would have done (fuse_setattr returns early for ATTR_OPEN); without
    // it, it sends a SETATTR of size 0 that carries the clearing, one round
    // trip more per truncating open.
    conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
    if (conn->capable & FUSE_CAP_PARALLEL_DIROPS) conn->want |= FUSE_CAP_PARALLEL_DIROPS;
    if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
    // Larger requests amortize the kernel round trip; 1 MiB is libfuse's ceiling.
    conn->max_write = 1u << 20;
    conn->max_readahead = 1u << 20;
}

void Filesystem::lookup(fuse_req_t req, fuse_ino_t parent_ino, const char *name) {
    guard(req, "lookup", [&] {
        auto access = keyring_.access();
        const auto entry = tree_.find(access, inode_of(parent_ino), name);
        if (!entry) return ENOENT;
        const fuse_entry_param e = entry_param(*entry);
        remember_entry(parent_ino, name);
        fuse_reply_entry(req, &e);
        return 0;
    });
}

void Filesystem::forget(fuse_ino_t ino, uint64_t nlookup) {
    guard_noreply("forget", [&] { inodes_.forget(inode_of(ino), nlookup); });
}

void Filesystem::getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info *) {
    guard(req, "getattr", [&] {
        // The root keeps answering while locked so monitors see a live mount.
        std::optional<store::Keyring::Access> access;
        if (ino != FUSE_ROOT_ID) access.emplace(keyring_.access());
        const struct stat st = tree_.stat(inode_of(ino));
        fuse_reply_attr(req, &st, options_.attr_timeout);
    });
}

void Filesystem::statfs(fuse_req_t req, fuse_ino_t) {
    guard(req, "statfs", [&] {
        struct statvfs st = tree_.statfs(volume_.root_fd());
        fuse_reply_statfs(req, &st);
    });
}

void Filesystem::readlink(fuse_req_t req, fuse_ino_t ino) {
    guard(req, "readlink", [&] {
        auto access = keyring_.access();
        const std::string target = tree_.readlink(access, inode_of(ino));
        const crypto::WipeOnExit wipe_target(target.data(), target.size());
        fuse_reply_readlink(req, target.c_str());
    });
}

void Filesystem::mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev) {
    guard(req, "mknod", [&] {
        auto access = keyring_.access();
        const fuse_entry_param e = entry_param(tree_.mknod(access, inode_of(parent), name, mode, rdev, caller_of(req)));
        remember_entry(parent, name);
        fuse_reply_entry(req, &e);
    });
}

void Filesystem::mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode) {
    guard(req, "mkdir", [&] {
        auto access = keyring_.access();
        const fuse_entry_param e = entry_param(tree_.mkdir(access, inode_of(parent), name, mode, caller_of(req)));
        remember_entry(parent, name);
        fuse_reply_entry(req, &e);
    });
}

void Filesystem::symlink(fuse_req_t req, const char *link, fuse_ino_t parent_ino, const char *name) {
    guard(req, "symlink", [&] {
        const crypto::WipeOnExit wipe_link(link, std::strlen(link));  // plaintext in libfuse's request buffer
        auto access = keyring_.access();
        const fuse_entry_param e =
            entry_param(tree_.symlink(access, inode_of(parent_ino), name, link, caller_of(req)));
        remember_entry(parent_ino, name);
        fuse_reply_entry(req, &e);
    });
}

void Filesystem::unlink(fuse_req_t req, fuse_ino_t parent_ino, const char *name) {
    guard(req, "unlink", [&] {
        auto access = keyring_.access();
        tree_.unlink(access, inode_of(parent_ino), name);
        fuse_reply_err(req, 0);
    });
}

void Filesystem::rmdir(fuse_req_t req, fuse_ino_t parent_ino, const char *name) {
    guard(req, "rmdir", [&] {
        auto access = keyring_.access();
        tree_.rmdir(access, inode_of(parent_ino), name);
        fuse_reply_err(req, 0);
    });
}

void Filesystem::rename(fuse_req_t req, fuse_ino_t parent_ino, const char *name, fuse_ino_t newparent_ino,
                        const char *newname, unsigned int flags) {
    guard(req, "rename", [&] {
        auto access = keyring_.access();
        tree_.rename(access, inode_of(parent_ino), name, inode_of(newparent_ino), newname, flags);
        fuse_reply_err(req, 0);
    });
}

void Filesystem::link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent_ino, const char *newname) {
    guard(req, "link", [&] {
        auto access = keyring_.access();
        const fuse_entry_param e = entry_param(tree_.link(access, inode_of(ino), inode_of(newparent_ino), newname));
        remember_entry(newparent_ino, newname);
        fuse_reply_entry(req, &e);
    });
}

void Filesystem::remember_entry(fuse_ino_t parent, std::string_view name) {
    // The kernel's timeout starts when it receives the reply, after now; keep a
    // margin so that no entry is dropped while the kernel may still trust it.
    const auto now = std::chrono::steady_clock::now();
    const auto keep = std::chrono::duration<double>(options_.entry_timeout) + std::chrono::seconds(1);
    std::lock_guard guard(recent_mutex_);
    while (!recent_entries_.empty() && now - recent_entries_.front().when > keep) recent_entries_.pop_front();
    recent_entries_.push_back({now, parent, std::string(name)});
}

void Filesystem::invalidate_kernel_caches() {
    if (session_ == nullptr) return;
    std::deque<RecentEntry> entries;
    {
        std::lock_guard guard(recent_mutex_);
        entries.swap(recent_entries_);
    }
    auto invalidate = [&] {
        // A dentry whose parent the kernel has forgotten is simply not found.
        for (const auto &entry : entries)
            fuse_lowlevel_notify_inval_entry(session_, entry.parent, entry.name.c_str(), entry.name.size());
        auto inodes = inodes_.snapshot();
        for (Inode *inode : inodes)
            fuse_lowlevel_notify_inval_inode(session_, reinterpret_cast<fuse_ino_t>(inode), 0, 0);
        fuse_lowlevel_notify_inval_inode(session_, FUSE_ROOT_ID, 0, 0);
        inodes_.release(inodes);
    };
    invalidate();
    // A lookup answered just before the lock is turned into a dentry by the
    // kernel only when its caller wakes up, which can be after the pass above
    // (seen under load: a name kept resolving for the whole entry timeout).
    // Those lookups were remembered before the lock took effect, so a second
    // pass over the same names, a moment later, removes such dentries.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    invalidate();
}

}  // namespace cmkfs::fs
