// The filesystem below FUSE: every operation on the backing directory that a
// mount makes, on nodes (store/tree_node.h) and plaintext names. Tree owns
// every backing syscall of the mount's operations and every ordering
// protocol between their steps:
//   - a long name's sidecar is written before its entry and removed after it;
//     so is (format 3) a long symlink target's sidecar (store/symlink_target.h);
//   - a new entry gets its owner, then its exact mode, whatever the daemon's
//     umask (store/new_entry.h);
//   - a new directory never exists under its name without its id
//     (store/directory.h);
//   - a renamed directory's id is rebound around the one backing rename and
//     put back when the rename fails; a renamed symlink is re-sealed for its
//     new place (store/rename.h);
//   - format 2's hard-link records are raised before a link is made and
//     lowered after one is removed (store/link_count.h);
//   - changes to one directory's names are serialized (the names lock, taken
//     only here: tree_lock.h); in shared-storage mode a new directory's name
//     is also held against the other hosts.
// FUSE-free: errors are thrown as util/errors.h types and become errno in
// the caller (fs/op_guard.cpp). Callers take the key (Keyring::Access) and
// pass it to every call that needs it.
#pragma once

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "format/name_codec.h"
#include "store/binding.h"
#include "store/directory.h"
#include "store/keyring.h"
#include "store/tree_lock.h"
#include "store/tree_node.h"
#include "util/unique_fd.h"

struct dirent;

namespace cmkfs::store {

// A node with its lookup count raised by one, and its attributes with
// plaintext sizes.
struct Entry {
    Node &node;
    struct stat attr;
};

// lstat of an O_PATH fd, with the plaintext size of a regular file or a
// symlink's target (format >= 3: also a long target kept in a sidecar, then
// `long_target` is set when given).
struct stat stat_plaintext(int fd, uint32_t format_version, bool *long_target = nullptr);

// Who asked for a new object: it is given to them when the daemon runs as
// root on behalf of another user.
struct Caller {
    uid_t uid = 0;
    gid_t gid = 0;
};

// Test seam for failure injection between the steps of a name change:
// called with the operation ("create", "mknod", "mkdir", "symlink", "link",
// "unlink", "rename") and the step about to run. Steps: "sidecar" (before a
// long name's sidecar is written; for unlink: removed), "entry" (before the
// entry is made or removed); rename passes store/rename.h's steps. A hook that throws
// stops the operation there, as a crash would. Every step is also a fault
// point "<op>:<step>" (util/fault.h), except rename's, which rename.cpp
// raises itself.
using TreeStepHook = std::function<void(std::string_view op, std::string_view step)>;

// One open directory stream (opendir to releasedir).
class DirStream {
public:
    explicit DirStream(Node &dir);
    ~DirStream();
    DirStream(const DirStream &) = delete;
    DirStream &operator=(const DirStream &) = delete;

    void seek(off_t offset);
    // The next backing entry, nullptr at the end; throws SystemError.
    dirent *next();
    void sync(bool datasync);

private:
    void *dir_;  // DIR *
};

class Tree {
public:
    Tree(uint32_t format_version, bool plaintext_names, NodeTable &nodes)
        : version_(format_version), plaintext_names_(plaintext_names), nodes_(nodes) {}

    uint32_t format_version() const { return version_; }
    // An O_PATH fd of the backing root directory `root_fd`, and its stat.
    static UniqueFd open_root(int root_fd, struct stat &st);
    void set_step_hook(TreeStepHook hook) { step_hook_ = std::move(hook); }
    // Shared storage: from now on, name changes that other hosts could race
    // (mkdir's check-and-rename on a backing without RENAME_NOREPLACE) also
    // hold the name across hosts (store/tree_lock.h). `root_fd`: the backing
    // root, whose .cmkfs.lock the store lock made.
    void lock_names_across_hosts(int root_fd) { host_names_ = HostNameLocks(root_fd); }

    // One directory's names under the key.
    struct Names {
        Names(Tree &tree, const Keyring::Access &access, Node &dir);
        Names(const Names &) = delete;
        Names &operator=(const Names &) = delete;
        format::NameCodec codec;
        Binding binding;
        Directory dir;
    };

    // The id of a directory node (read and verified on first use).
    const format::DirId &dir_id(const Binding &binding, Node &dir);

    // ---- names (tree_names.cpp) ----
    Entry lookup(const Keyring::Access &access, Node &parent, std::string_view name);
    // The same, with no entry of that name an empty result instead of an
    // ENOENT exception (the kernel's negative lookups are frequent).
    std::optional<Entry> find(const Keyring::Access &access, Node &parent, std::string_view name);
    // The entry `backing` (named `plain`) listed in `names`' directory `parent`.
    Entry lookup_listed(Node &parent, const Names &names, std::string_view plain, const std::string &backing);
    Entry mknod(const Keyring::Access &access, Node &parent, std::string_view name, mode_t mode, dev_t rdev,
                const Caller &caller);
    Entry mkdir(const Keyring::Access &access, Node &parent, std::string_view name, mode_t mode,
                const Caller &caller);
    Entry symlink(const Keyring::Access &access, Node &parent, std::string_view name, std::string_view target,
                  const Caller &caller);
    struct Created {
        Entry entry;
        UniqueFd fd;  // open for reading and writing
    };
    // open(O_CREAT) with `flags` (O_EXCL, O_TRUNC honoured).
    Created create(const Keyring::Access &access, Node &parent, std::string_view name, mode_t mode, int flags,
                   const Caller &caller);
    void unlink(const Keyring::Access &access, Node &parent, std::string_view name);
    void rmdir(const Keyring::Access &access, Node &parent, std::string_view name);
    // renameat2 flags: RENAME_NOREPLACE, RENAME_EXCHANGE (format 2 refuses
    // exchanging a symlink, EINVAL).
    void rename(const Keyring::Access &access, Node &parent, std::string_view name, Node &newparent,
                std::string_view newname, unsigned flags);
    Entry link(const Keyring::Access &access, Node &node, Node &newparent, std::string_view newname);
    // The plaintext target (the caller wipes it after use).
    std::string readlink(const Keyring::Access &access, Node &node);

    // ---- attributes and contents (tree_content.cpp) ----
    struct stat stat(const Node &node) const;  // plaintext sizes
    struct statvfs statfs(int root_fd) const;
    void chmod(Node &node, mode_t mode);
    // What the kernel does to a file written or truncated by a caller
    // without CAP_FSETID: setuid goes, setgid too if group-executable.
    void kill_suidgid(Node &node);
    void chown(Node &node, uid_t uid, gid_t gid);  // -1: unchanged
    void utimens(Node &node, const struct timespec times[2]);
    // An fd for reading and writing contents (read-only when only that is
    // allowed and `flags` ask for no more); in format 2 refuses a file with
    // hard links its record does not explain; O_TRUNC truncates.
    UniqueFd open(const Keyring::Access &access, Node &node, int flags);
    // `fd`: an fd from open()/create(), or -1 to open one for this call.
    void truncate(const Keyring::Access &access, Node &node, int fd, uint64_t size);
    // These two check the request before taking the key (a bad request
    // fails as such even while the keyring is locked).
    void fallocate(const Keyring &keyring, Node &node, int fd, int mode, off_t offset, off_t length);
    // SEEK_DATA / SEEK_HOLE in plaintext offsets (ENXIO past the end).
    off_t seek(const Keyring &keyring, Node &node, int fd, off_t offset, int whence);
    void fsync(int fd, bool datasync);

    // ---- extended attributes, user.* only (tree_xattr.cpp) ----
    // They check the attribute's namespace before taking the key.
    // Whether `name` is one the store keeps (user.* with a name), known
    // without the key or a syscall.
    static bool stores_xattr(std::string_view name);
    // The errno for reading or removing an attribute the store cannot keep,
    // or 0 for one it can: another namespace is EOPNOTSUPP (as setxattr
    // says); an empty user.* name and security.capability have no value
    // (ENODATA: Docker's vfs driver copies the latter and fails on
    // anything else). fs answers from
    // this without an exception or the key. EOPNOTSUPP matters: the kernel
    // asks for security.capability before every write, and `ls -l`,
    // `cp -a` and tar ask security.selinux and system.posix_acl_access of
    // every file unless the filesystem said once that it has no such
    // namespace; ENODATA made them ask again per file (2 GETXATTR per entry
    // of a cold `ls -lR`, 88% of its requests).
    static int xattr_refusal(std::string_view name);
    void setxattr(const Keyring &keyring, Node &node, std::string_view name, std::string_view value, int flags);
    // The plaintext size of a value, without opening it.
    size_t getxattr_size(const Keyring &keyring, Node &node, std::string_view name);
    // The plaintext value (the caller wipes it after use).
    std::string getxattr(const Keyring &keyring, Node &node, std::string_view name);
    // Plaintext names, each followed by a NUL.
    std::string listxattr(const Keyring &keyring, Node &node);
    void removexattr(const Keyring &keyring, Node &node, std::string_view name);

private:
    struct NameChange;
    Binding binding(const Keyring::Access &access) const { return {version_, access.keys()}; }
    format::NameCodec name_codec(const Keyring::Access &access) const;
    void step(std::string_view op, std::string_view what) const;
    // Interns `backing` (named `plain`) of parent, whose names are `dir`. In
    // format 2 a directory's id is verified for this place (IntegrityError if
    // it is bound elsewhere) and a symlink remembers it. `parent_locked`: the
    // caller holds parent's names lock.
    Entry make_entry(Node &parent, const Directory &dir, std::string_view plain, const std::string &backing,
                     bool parent_locked);
    // The same for a backing entry already opened (O_PATH) as `fd`.
    Entry make_entry(Node &parent, const Directory &dir, std::string_view plain, UniqueFd fd, bool parent_locked);
    // Format 2: verifies (or re-verifies, when reached at another place) a
    // directory's id for `place`, finishing an interrupted rename of it.
    void verify_directory(Node &node, Node &parent, const Directory &dir, std::string_view plain,
                          bool parent_locked);
    Entry make_node(const Keyring::Access &access, Node &parent, std::string_view name, mode_t mode, dev_t rdev,
                    const Caller &caller);
    // Format 2's xattr owner: the file id of a regular file (one is written
    // first when `create` and there is none), the id of a directory; empty
    // in format 1.
    std::vector<uint8_t> xattr_owner(const Keyring::Access &access, Node &node, bool create);

    uint32_t version_;
    bool plaintext_names_;
    NodeTable &nodes_;
    TreeStepHook step_hook_;
    HostNameLocks host_names_;  // not enabled unless shared storage
};

}  // namespace cmkfs::store
