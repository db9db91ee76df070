// Core of the adapter: inode resolution, attributes, and the operations that
// create, remove and rename names.
#include "fs/filesystem.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>

#include "crypto/wipe.h"
#include "fs/backing_fd.h"
#include "fs/link_count.h"
#include "fs/op_guard.h"
#include "store/directory.h"
#include "store/rename.h"
#include "util/errors.h"

namespace cmkfs::fs {

namespace {

fuse_ino_t ino_of(Inode &inode, Inode &root) {
    return &inode == &root ? FUSE_ROOT_ID : reinterpret_cast<fuse_ino_t>(&inode);
}

// Plain length of an encrypted symlink target: base64url(nonce || ct || tag).
off_t symlink_plain_length(off_t encoded) {
    off_t raw = encoded * 3 / 4;
    constexpr off_t overhead = 28;
    return raw > overhead ? raw - overhead : 0;
}

}  // namespace

FileHandle::~FileHandle() {
    if (fd >= 0) ::close(fd);
    metrics::open_files().add(-1);
}

Filesystem::Filesystem(store::Volume &volume, store::Keyring &keyring, FsOptions options)
    : volume_(volume), keyring_(keyring), options_(options),
      plaintext_names_(volume.header().plaintext_names) {
    UniqueFd fd(::openat(volume.root_fd(), ".", O_PATH | O_CLOEXEC));
    if (!fd) throw_errno("open backing root");
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw_errno("stat backing root");
    auto root = std::make_unique<Inode>();
    root->fd = std::move(fd);
    root->dev = st.st_dev;
    root->ino = st.st_ino;
    root->type = S_IFDIR;
    root->dir_id = volume.header().root_dir_id;
    inodes_.set_root(std::move(root));
}

Inode &Filesystem::inode_of(fuse_ino_t ino) {
    if (ino == FUSE_ROOT_ID) return inodes_.root();
    // Inode numbers are the Inode's address (libfuse's passthrough_hp scheme).
    return *reinterpret_cast<Inode *>(ino);  // NOLINT(performance-no-int-to-ptr)
}

const format::DirId &Filesystem::dir_id_of(Inode &dir, const store::Binding &binding) {
    std::lock_guard guard(dir.dir_id_mutex);
    if (dir.dir_id) return *dir.dir_id;
    if (!binding.binds_place()) {
        dir.dir_id = store::read_dir_id(dir.fd.get(), binding, format::Place::root(), dir.label()).id;
    } else if (dir.place) {
        dir.dir_id = store::read_dir_id(dir.fd.get(), binding, *dir.place, dir.label()).id;
    } else {
        // Every directory inode comes from make_entry, which verifies it.
        throw IntegrityError(dir.label() + ": directory reached at no known place");
    }
    return *dir.dir_id;
}

void Filesystem::verify_directory(Inode &inode, Inode &parent, const store::Directory &dir, std::string_view plain,
                                  bool parent_locked) {
    const store::Binding &bound = dir.binding();
    const format::Place place = dir.place_of(plain);
    auto remember = [&](const format::DirId &id) {
        // The id never changes; another one under the same backing inode is tampering.
        if (inode.dir_id && *inode.dir_id != id) {
            spdlog::error("integrity: {}: directory id changed under a mounted directory", inode.label());
            throw IntegrityError(inode.label() + ": directory id changed");
        }
        if (!inode.dir_id) inode.dir_id = id;
        inode.place = place;
    };
    {
        std::lock_guard guard(inode.dir_id_mutex);
        if (inode.dir_id && inode.place == place) return;
        const store::DirIdRead read = store::read_dir_id(inode.fd.get(), bound, place, inode.label());
        if (!read.pending) return remember(read.id);
    }
    // A rename of it was interrupted after its backing rename: finish it,
    // excluding renames of it (they hold the parent's names lock).
    std::unique_lock<std::mutex> names(parent.names_mutex, std::defer_lock);
    if (!parent_locked) names.lock();
    std::lock_guard guard(inode.dir_id_mutex);
    remember(store::settle_dir_id(inode.fd.get(), bound, place, inode.label()));
}

Filesystem::NameChange::NameChange(Filesystem &fs, const store::Keyring::Access &access, Inode &dir)
    : parent(dir), codec(fs.name_codec(access)), binding(fs.binding(access)), lock(dir.names_mutex),
      names(dir.fd.get(), fs.dir_id_of(dir, binding), codec, binding) {}

format::NameCodec Filesystem::name_codec(const store::Keyring::Access &access) const {
    return format::NameCodec(plaintext_names_ ? nullptr : &access.keys().names());
}

void Filesystem::fill_attr(int fd, struct stat &st) const {
    if (::fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) throw_errno("stat");
    if (S_ISREG(st.st_mode)) {
        st.st_size = static_cast<off_t>(store::content_size_from_backing(static_cast<uint64_t>(st.st_size)));
    } else if (S_ISLNK(st.st_mode)) {
        st.st_size = symlink_plain_length(st.st_size);
    }
}

void Filesystem::make_entry(Inode &parent, const store::Directory &dir, std::string_view plain,
                            const std::string &backing, fuse_entry_param &e, bool parent_locked) {
    std::memset(&e, 0, sizeof e);
    UniqueFd fd(::openat(parent.fd.get(), backing.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) throw SystemError(errno, "lookup");
    fill_attr(fd.get(), e.attr);
    Inode &inode = inodes_.find_or_insert(std::move(fd), e.attr);
    if (dir.binding().binds_place()) {
        try {
            if (S_ISDIR(e.attr.st_mode)) {
                verify_directory(inode, parent, dir, plain, parent_locked);
            } else if (S_ISLNK(e.attr.st_mode)) {
                std::lock_guard guard(inode.dir_id_mutex);
                inode.place = dir.place_of(plain);
            }
        } catch (...) {
            inodes_.forget(inode, 1);
            throw;
        }
    }
    e.ino = ino_of(inode, inodes_.root());
    e.attr_timeout = options_.attr_timeout;
    e.entry_timeout = options_.entry_timeout;
}

void Filesystem::give_to_caller(fuse_req_t req, int dirfd, const std::string &backing) const {
    const fuse_ctx *ctx = fuse_req_ctx(req);
    if (::geteuid() != 0 || (ctx->uid == 0 && ctx->gid == 0)) return;
    if (::fchownat(dirfd, backing.c_str(), ctx->uid, ctx->gid, AT_SYMLINK_NOFOLLOW) != 0)
        throw_errno("chown new entry");
}

void Filesystem::init(fuse_conn_info *conn) {
    // The writeback cache holds written plaintext in the kernel until it
    // writes it back to us: allowed because a lock drains it under the key
    // before the wipe (flush_dirty_pages) and drops it again after.
    writeback_ = options_.writeback_cache && (conn->capable & FUSE_CAP_WRITEBACK_CACHE) != 0;
    if (writeback_) conn->want |= FUSE_CAP_WRITEBACK_CACHE;
    else conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
    conn->want &= ~(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE);
    if (conn->capable & FUSE_CAP_PARALLEL_DIROPS) conn->want |= FUSE_CAP_PARALLEL_DIROPS;
    if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
    // Larger requests amortize the kernel round trip; 1 MiB is libfuse's ceiling.
    conn->max_write = 1u << 20;
    conn->max_readahead = 1u << 20;
}

void Filesystem::lookup(fuse_req_t req, fuse_ino_t parent_ino, const char *name) {
    guard(req, "lookup", [&] {
        auto access = keyring_.access();
        Inode &parent = inode_of(parent_ino);
        auto codec = name_codec(access);
        const auto bound = binding(access);
        store::Directory dir(parent.fd.get(), dir_id_of(parent, bound), codec, bound);
        fuse_entry_param e;
        make_entry(parent, dir, name, dir.encode(name).name, e, /*parent_locked=*/false);
        remember_entry(parent_ino, name);
        fuse_reply_entry(req, &e);
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
        struct stat st {};
        fill_attr(inode_of(ino).fd.get(), st);
        fuse_reply_attr(req, &st, options_.attr_timeout);
    });
}

void Filesystem::statfs(fuse_req_t req, fuse_ino_t) {
    guard(req, "statfs", [&] {
        struct statvfs st {};
        if (::fstatvfs(volume_.root_fd(), &st) != 0) throw_errno("statfs");
        st.f_namemax = 255;  // long names are stored under a hash
        fuse_reply_statfs(req, &st);
    });
}

void Filesystem::readlink(fuse_req_t req, fuse_ino_t ino) {
    guard(req, "readlink", [&] {
        auto access = keyring_.access();
        Inode &inode = inode_of(ino);
        const auto bound = binding(access);
        std::optional<std::string> target;
        {
            // A rename re-points a symlink inode and its place together.
            std::lock_guard place_guard(inode.dir_id_mutex);
            if (bound.binds_place()) {
                struct stat st {};
                if (::fstatat(inode.fd.get(), "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) throw_errno("stat");
                if (st.st_nlink > 1) {
                    // v2 never hard-links a symlink: its target is bound to one name.
                    spdlog::error("integrity: {}: symlink has {} backing links", inode.label(), st.st_nlink);
                    throw IntegrityError(inode.label() + ": symlink has several backing links");
                }
                if (!inode.place) throw IntegrityError(inode.label() + ": symlink reached at no known place");
            }
            char buf[PATH_MAX + 1];
            ssize_t n = ::readlinkat(inode.fd.get(), "", buf, sizeof buf - 1);
            if (n < 0) throw_errno("readlink");
            const format::Place place = inode.place.value_or(format::Place{});
            target = format::open_symlink_target(bound.format_version, access.keys().meta(), place,
                                                 std::string_view(buf, static_cast<size_t>(n)));
        }
        if (!target) {
            spdlog::error("integrity: {}: symlink target fails to authenticate for its place "
                          "(edited, swapped or copied from another name or directory)", inode.label());
            throw IntegrityError(inode.label() + ": symlink target fails to authenticate");
        }
        const std::string &text = *target;  // (clang-analyzer mistakes optional::operator-> for a reallocation)
        const crypto::WipeOnExit wipe_target(text.data(), text.size());
        fuse_reply_readlink(req, text.c_str());
    });
}

void Filesystem::mknod_at(fuse_req_t req, Inode &parent, const char *name, mode_t mode, dev_t rdev) {
    auto access = keyring_.access();
    NameChange change(*this, access, parent);
    store::Directory &dir = change.names;
    auto backing = dir.encode(name);
    dir.write_sidecar(backing);
    if (S_ISDIR(mode)) {
        dir.make_subdirectory(backing, name, mode);
    } else if (::mknodat(parent.fd.get(), backing.name.c_str(), mode, rdev) != 0) {
        throw_errno("mknod");
    }
    give_to_caller(req, parent.fd.get(), backing.name);
    fuse_entry_param e;
    make_entry(parent, dir, name, backing.name, e, /*parent_locked=*/true);
    remember_entry(ino_of(parent, inodes_.root()), name);
    fuse_reply_entry(req, &e);
}

void Filesystem::mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev) {
    guard(req, "mknod", [&] { mknod_at(req, inode_of(parent), name, mode, rdev); });
}

void Filesystem::mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode) {
    guard(req, "mkdir", [&] { mknod_at(req, inode_of(parent), name, S_IFDIR | mode, 0); });
}

void Filesystem::symlink(fuse_req_t req, const char *link, fuse_ino_t parent_ino, const char *name) {
    guard(req, "symlink", [&] {
        const crypto::WipeOnExit wipe_link(link, std::strlen(link));  // plaintext in libfuse's request buffer
        auto access = keyring_.access();
        NameChange change(*this, access, inode_of(parent_ino));
        Inode &parent = change.parent;
        store::Directory &dir = change.names;
        auto backing = dir.encode(name);
        std::string target = dir.seal_symlink(name, link);
        if (target.size() >= PATH_MAX) throw Error(ENAMETOOLONG, "symlink target too long");
        dir.write_sidecar(backing);
        if (::symlinkat(target.c_str(), parent.fd.get(), backing.name.c_str()) != 0) throw_errno("symlink");
        give_to_caller(req, parent.fd.get(), backing.name);
        fuse_entry_param e;
        make_entry(parent, dir, name, backing.name, e, /*parent_locked=*/true);
        remember_entry(parent_ino, name);
        fuse_reply_entry(req, &e);
    });
}

void Filesystem::unlink(fuse_req_t req, fuse_ino_t parent_ino, const char *name) {
    guard(req, "unlink", [&] {
        auto access = keyring_.access();
        NameChange change(*this, access, inode_of(parent_ino));
        Inode &parent = change.parent;
        store::Directory &dir = change.names;
        auto backing = dir.encode(name);
        auto links = LinkRecordChange::for_removal(access, volume_.header().format_version, parent.fd.get(),
                                                   backing.name);
        if (::unlinkat(parent.fd.get(), backing.name.c_str(), 0) != 0) throw_errno("unlink");
        links.commit();
        dir.remove_sidecar(backing);
        fuse_reply_err(req, 0);
    });
}

void Filesystem::rmdir(fuse_req_t req, fuse_ino_t parent_ino, const char *name) {
    guard(req, "rmdir", [&] {
        auto access = keyring_.access();
        NameChange change(*this, access, inode_of(parent_ino));
        store::Directory &dir = change.names;
        dir.remove_subdirectory(dir.encode(name));
        fuse_reply_err(req, 0);
    });
}

void Filesystem::rename(fuse_req_t req, fuse_ino_t parent_ino, const char *name, fuse_ino_t newparent_ino,
                        const char *newname, unsigned int flags) {
    guard(req, "rename", [&] {
        auto access = keyring_.access();
        Inode &parent = inode_of(parent_ino);
        Inode &newparent = inode_of(newparent_ino);
        auto codec = name_codec(access);
        const auto bound = binding(access);
        std::unique_lock<std::mutex> first, second;
        if (&parent == &newparent) {
            first = std::unique_lock(parent.names_mutex);
        } else {
            std::lock(parent.names_mutex, newparent.names_mutex);
            first = std::unique_lock(parent.names_mutex, std::adopt_lock);
            second = std::unique_lock(newparent.names_mutex, std::adopt_lock);
        }
        store::Directory from(parent.fd.get(), dir_id_of(parent, bound), codec, bound);
        store::Directory to(newparent.fd.get(), dir_id_of(newparent, bound), codec, bound);
        // A regular file renamed over loses the link that name was (unless both
        // names are links of one inode: then rename changes nothing).
        const auto old_backing = from.encode(name);
        const auto new_backing = to.encode(newname);
        const bool same_entry = &parent == &newparent && old_backing.name == new_backing.name;
        auto links = (flags & (RENAME_EXCHANGE | RENAME_NOREPLACE)) || same_entry ||
                             same_inode(parent.fd.get(), old_backing.name, newparent.fd.get(), new_backing.name)
            ? LinkRecordChange::for_removal(access, 0, -1, {})
            : LinkRecordChange::for_removal(access, volume_.header().format_version, newparent.fd.get(),
                                            new_backing.name);
        const auto outcome = store::rename_entry(from, name, to, newname, flags);
        links.commit();
        if (outcome.resealed_symlink) {
            // The kernel keeps its inode for the renamed link: point ours at
            // the re-sealed backing symlink, and its new place.
            const std::string backing = to.encode(newname).name;
            UniqueFd fd(::openat(newparent.fd.get(), backing.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
            struct stat st {};
            if (fd && ::fstat(fd.get(), &st) == 0) {
                const format::Place place = to.place_of(newname);
                inodes_.repoint(*outcome.resealed_symlink, fd, st, [&](Inode &inode) { inode.place = place; });
            }
        }
        fuse_reply_err(req, 0);
    });
}

void Filesystem::link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent_ino, const char *newname) {
    guard(req, "link", [&] {
        auto access = keyring_.access();
        Inode &inode = inode_of(ino);
        Inode &newparent = inode_of(newparent_ino);
        NameChange change(*this, access, newparent);
        store::Directory &dir = change.names;
        if (change.binding.binds_place() && S_ISLNK(inode.type))
            throw Error(EPERM, "hard links to symlinks are not supported: format v2 binds a target to one name");
        auto backing = dir.encode(newname);
        dir.write_sidecar(backing);
        auto links = LinkRecordChange::for_new_link(access, volume_.header().format_version, inode);
        if (::linkat(AT_FDCWD, proc_path(inode.fd.get()).c_str(), newparent.fd.get(), backing.name.c_str(),
                     AT_SYMLINK_FOLLOW) != 0) {
            const int err = errno;
            links.undo();
            throw SystemError(err, "link");
        }
        fuse_entry_param e;
        make_entry(newparent, dir, newname, backing.name, e, /*parent_locked=*/true);
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
