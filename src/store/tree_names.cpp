// store::Tree's name changes: creating, removing, renaming and linking
// entries, each under its directory's names lock and in the order that keeps
// the store readable after a crash between any two steps (tree.h).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include <spdlog/spdlog.h>

#include "crypto/wipe.h"
#include "store/link_count.h"
#include "store/new_entry.h"
#include "store/rename.h"
#include "store/symlink_target.h"
#include "store/tree.h"
#include "store/tree_lock.h"
#include "util/errors.h"

namespace cmkfs::store {

// One directory's names under the key, with changes to them serialized
// (the pattern every name-changing operation starts with).
struct Tree::NameChange {
    NameChange(Tree &tree, const Keyring::Access &access, Node &dir)
        : parent(dir), lock(dir), names(tree, access, dir) {}
    Node &parent;
    NamesLock lock;
    Names names;
};

namespace {

// Gives a new entry (held by `entry_fd`) its owner (the caller, when the
// daemon is root and the caller is not) and its exact requested `mode`,
// whatever the daemon's umask (store/new_entry.h).
void give_to_caller(const Caller &caller, int dirfd, int entry_fd, mode_t mode) {
    std::optional<Creator> creator;
    if (::geteuid() == 0 && (caller.uid != 0 || caller.gid != 0)) creator = Creator{caller.uid, caller.gid};
    settle_new_entry(entry_fd, dirfd, mode, creator);
}

void give_to_caller(const Caller &caller, int dirfd, const std::string &backing, mode_t mode) {
    UniqueFd fd(::openat(dirfd, backing.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) throw_errno("open new entry");
    give_to_caller(caller, dirfd, fd.get(), mode);
}

}  // namespace

Entry Tree::make_node(const Keyring::Access &access, Node &parent_node, std::string_view name, mode_t mode,
                      dev_t rdev, const Caller &caller) {
    const char *op = S_ISDIR(mode) ? "mkdir" : "mknod";
    NameChange change(*this, access, parent_node);
    Node &parent = change.parent;
    Directory &dir = change.names.dir;
    auto backing = dir.encode(name);
    // mkdir's last step is a rename that must not replace: where the backing
    // lacks RENAME_NOREPLACE it is a check and a rename, which two hosts
    // making one name must not interleave (directory.h).
    if (S_ISDIR(mode)) change.lock.hold_across_hosts(host_names_, parent.fd.get(), backing.name);
    step(op, "sidecar");
    dir.write_sidecar(backing);
    step(op, "entry");
    if (S_ISDIR(mode)) {
        dir.make_subdirectory(backing, name, mode);
    } else if (::mknodat(parent.fd.get(), backing.name.c_str(), mode, rdev) != 0) {
        throw_errno("mknod");
    }
    give_to_caller(caller, parent.fd.get(), backing.name, mode);
    return make_entry(parent, dir, name, backing.name, /*parent_locked=*/true);
}

Entry Tree::mknod(const Keyring::Access &access, Node &parent, std::string_view name, mode_t mode, dev_t rdev,
                  const Caller &caller) {
    return make_node(access, parent, name, mode, rdev, caller);
}

Entry Tree::mkdir(const Keyring::Access &access, Node &parent, std::string_view name, mode_t mode,
                  const Caller &caller) {
    return make_node(access, parent, name, S_IFDIR | mode, 0, caller);
}

Entry Tree::symlink(const Keyring::Access &access, Node &parent_node, std::string_view name,
                    std::string_view link, const Caller &caller) {
    NameChange change(*this, access, parent_node);
    Node &parent = change.parent;
    Directory &dir = change.names.dir;
    auto backing = dir.encode(name);
    step("symlink", "sidecar");
    dir.write_sidecar(backing);
    step("symlink", "entry");
    // Format 3: a target too long for a backing symlink goes to its own
    // sidecar first, then the symlink names it (store/symlink_target.h).
    dir.make_symlink(backing.name, name, link);
    give_to_caller(caller, parent.fd.get(), backing.name, S_IFLNK);
    return make_entry(parent, dir, name, backing.name, /*parent_locked=*/true);
}

Tree::Created Tree::create(const Keyring::Access &access, Node &parent_node, std::string_view name, mode_t mode,
                           int flags, const Caller &caller) {
    NameChange change(*this, access, parent_node);
    Node &parent = change.parent;
    Directory &dir = change.names.dir;
    auto backing = dir.encode(name);
    step("create", "sidecar");
    dir.write_sidecar(backing);
    step("create", "entry");
    const int base = O_RDWR | O_CLOEXEC | O_NOFOLLOW;
    UniqueFd fd(::openat(parent.fd.get(), backing.name.c_str(), base | O_CREAT | O_EXCL, mode));
    const bool created = static_cast<bool>(fd);
    if (!fd && errno == EEXIST && !(flags & O_EXCL)) fd.reset(::openat(parent.fd.get(), backing.name.c_str(), base));
    if (!fd) throw_errno("create");
    if (created) give_to_caller(caller, parent.fd.get(), fd.get(), S_IFREG | (mode & 07777));
    change.lock.unlock();
    Entry entry = make_entry(parent, dir, name, backing.name, /*parent_locked=*/false);
    if (!created && (flags & O_TRUNC)) {
        try {
            std::unique_lock lock(entry.node.content.mutex);
            FileContent(fd.get(), entry.node.content, access, version_).truncate(0);
            entry.attr = stat_plaintext(entry.node.fd.get(), version_);
        } catch (...) {
            nodes_.release(entry.node, 1);
            throw;
        }
    }
    return {entry, std::move(fd)};
}

void Tree::unlink(const Keyring::Access &access, Node &parent_node, std::string_view name) {
    NameChange change(*this, access, parent_node);
    Node &parent = change.parent;
    Directory &dir = change.names.dir;
    auto backing = dir.encode(name);
    auto links = LinkRecordChange::for_removal(access, version_, parent.fd.get(), backing.name);
    // Read before the entry goes: the symlink is what names its sidecar.
    const auto target_sidecar = dir.long_target_sidecar(backing.name);
    step("unlink", "entry");
    if (::unlinkat(parent.fd.get(), backing.name.c_str(), 0) != 0) throw_errno("unlink");
    links.commit();
    step("unlink", "sidecar");
    dir.remove_sidecar(backing);
    dir.remove_long_target_sidecar(target_sidecar);
}

void Tree::rmdir(const Keyring::Access &access, Node &parent, std::string_view name) {
    NameChange change(*this, access, parent);
    Directory &dir = change.names.dir;
    dir.remove_subdirectory(dir.encode(name));
}

void Tree::rename(const Keyring::Access &access, Node &parent, std::string_view name, Node &newparent,
                  std::string_view newname, unsigned flags) {
    auto codec = name_codec(access);
    const auto bound = binding(access);
    NamesLock lock(parent, newparent);
    Directory from(parent.fd.get(), dir_id(bound, parent), codec, bound);
    Directory to(newparent.fd.get(), dir_id(bound, newparent), codec, bound);
    // A regular file renamed over loses the link that name was (unless both
    // names are links of one inode: then rename changes nothing).
    const auto old_backing = from.encode(name);
    const auto new_backing = to.encode(newname);
    const bool same_entry = &parent == &newparent && old_backing.name == new_backing.name;
    auto links = (flags & (RENAME_EXCHANGE | RENAME_NOREPLACE)) || same_entry ||
                         same_inode(parent.fd.get(), old_backing.name, newparent.fd.get(), new_backing.name)
        ? LinkRecordChange::for_removal(access, 0, -1, {})
        : LinkRecordChange::for_removal(access, version_, newparent.fd.get(), new_backing.name);
    // rename.cpp raises its own fault points; the hook sees its steps.
    RenameStepHook hook;
    if (step_hook_) hook = [this](const char *what) { step_hook_("rename", what); };
    const auto outcome = rename_entry(from, name, to, newname, flags, hook);
    links.commit();
    if (outcome.resealed_symlink) {
        // The caller keeps its node for the renamed link: point it at the
        // re-sealed backing symlink, and its new place.
        const std::string backing = to.encode(newname).name;
        UniqueFd fd(::openat(newparent.fd.get(), backing.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        struct stat st {};
        if (fd && ::fstat(fd.get(), &st) == 0) {
            const format::Place place = to.place_of(newname);
            nodes_.repoint(*outcome.resealed_symlink, fd, st, [&](Node &node) {
                node.place = place;
                // A long target was re-sealed into a new sidecar beside it.
                if (node.link_dir) node.link_dir.reset(::fcntl(newparent.fd.get(), F_DUPFD_CLOEXEC, 0));
            });
        }
    }
}

Entry Tree::link(const Keyring::Access &access, Node &node, Node &newparent_node, std::string_view newname) {
    NameChange change(*this, access, newparent_node);
    Node &newparent = change.parent;
    Directory &dir = change.names.dir;
    if (change.names.binding.binds_place() && S_ISLNK(node.type))
        throw Error(EPERM, "hard links to symlinks are not supported: format v2 binds a target to one name");
    auto backing = dir.encode(newname);
    step("link", "sidecar");
    dir.write_sidecar(backing);
    auto links = LinkRecordChange::for_new_link(access, version_, node);
    step("link", "entry");
    if (::linkat(AT_FDCWD, proc_path(node.fd.get()).c_str(), newparent.fd.get(), backing.name.c_str(),
                 AT_SYMLINK_FOLLOW) != 0) {
        const int err = errno;
        links.undo();
        throw SystemError(err, "link");
    }
    return make_entry(newparent, dir, newname, backing.name, /*parent_locked=*/true);
}

std::string Tree::readlink(const Keyring::Access &access, Node &node) {
    const auto bound = binding(access);
    std::optional<std::string> target;
    {
        // A rename re-points a symlink node and its place together.
        std::lock_guard place_guard(node.dir_id_mutex);
        if (bound.binds_place()) {
            struct stat st {};
            if (::fstatat(node.fd.get(), "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) throw_errno("stat");
            if (st.st_nlink > 1) {
                // v2 never hard-links a symlink: its target is bound to one name.
                spdlog::error("integrity: {}: symlink has {} backing links", node.label(), st.st_nlink);
                throw IntegrityError(node.label() + ": symlink has several backing links");
            }
            if (!node.place) throw IntegrityError(node.label() + ": symlink reached at no known place");
        }
        const format::Place place = node.place.value_or(format::Place{});
        target = open_link_target(node.link_dir ? node.link_dir.get() : -1, read_backing_link(node.fd.get(), ""),
                                  bound.format_version, access.keys().meta(), place);
    }
    if (!target) {
        spdlog::error("integrity: {}: symlink target fails to authenticate for its place "
                      "(edited, swapped or copied from another name or directory, or its long-target "
                      "sidecar is missing or damaged)", node.label());
        throw IntegrityError(node.label() + ": symlink target fails to authenticate");
    }
    const std::string &text = *target;  // (clang-analyzer mistakes optional::operator-> for a reallocation)
    const crypto::WipeOnExit wipe_target(text.data(), text.size());
    return text;  // a copy for the caller, who wipes it; this one is wiped here
}

}  // namespace cmkfs::store
