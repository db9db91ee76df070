// Names inside one backing directory: directory ids, encrypted names with
// their long-name sidecars, and creating/removing directories so that a
// backing directory never exists without its id.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "format/name_codec.h"
#include "format/place_codec.h"
#include "store/binding.h"
#include "store/dir_binding.h"
#include "store/keyring.h"
#include "util/unique_fd.h"

namespace cmkfs::store {

// The backing name prefix of symlinks being rebuilt by a rename (hidden
// bookkeeping, docs/FORMAT.md §1; see store/rename.h).
inline constexpr std::string_view kRenameTempPrefix = ".cmkfs.rename.";

// renameat2(RENAME_NOREPLACE) within one backing directory: EEXIST when `to`
// exists. A backing filesystem without the flag (ceph-fuse answers EINVAL)
// gets the same outcome from a check and a plain rename. That is safe only
// while nobody else can make `to`: under the names lock across hosts
// (store::Tree's mkdir, store/tree_lock.h), or offline under the store lock
// (re-encryption). `what` names the operation in errors.
void rename_no_replace(int dirfd, const std::string &from, const std::string &to, const char *what);

class Directory {
public:
    Directory(int dirfd, const format::DirId &id, const format::NameCodec &codec, const Binding &binding)
        : fd_(dirfd), id_(id), codec_(codec), binding_(binding) {}

    int fd() const { return fd_; }
    const format::DirId &id() const { return id_; }
    const Binding &binding() const { return binding_; }
    // The place of the entry named `plain` in this directory.
    format::Place place_of(std::string_view plain) const { return format::Place::in(id_, plain); }

    // The backing name for a plaintext name (throws EINVAL/ENAMETOOLONG).
    format::BackingName encode(std::string_view name) const { return codec_.encode(id_, name); }

    // Writes the sidecar of a long name (before the entry appears).
    void write_sidecar(const format::BackingName &name) const;
    // Removes a long name's sidecar (after the entry is gone); ignores ENOENT.
    void remove_sidecar(const format::BackingName &name) const;

    // Plaintext name of a backing entry; nullopt for our own files, sidecars
    // and names that fail to authenticate (those are logged).
    std::optional<std::string> decode(std::string_view backing) const;

    // Creates a subdirectory with a fresh id (bound to `plain` here, in v2),
    // atomically: it is built under a temporary name and renamed into place.
    // Throws EEXIST like mkdirat. Where the backing lacks RENAME_NOREPLACE
    // (ceph-fuse: EINVAL) the last step is a check and a plain rename: the
    // caller serializes the name (store::Tree holds it across hosts too).
    void make_subdirectory(const format::BackingName &name, std::string_view plain, mode_t mode) const;

    // Symlink targets sealed for (v2: bound to) the entry `plain` of this directory.
    std::string seal_symlink(std::string_view plain, std::string_view target) const;
    // The target of the entry `plain` whose backing symlink holds `raw`: a
    // sealed target, or (v3) a marker naming a long-target sidecar here
    // (store/symlink_target.h). nullopt when it fails to authenticate.
    std::optional<std::string> open_symlink(std::string_view plain, std::string_view raw) const;
    // Creates the backing symlink `backing` for the entry `plain` (v3: with a
    // sidecar when the target is too long for a backing symlink).
    void make_symlink(const std::string &backing, std::string_view plain, std::string_view target) const;
    // The long-target sidecar of the backing entry `backing`, if it is a
    // symlink with one: read before the entry is removed or replaced, removed
    // after (remove_long_target_sidecar ignores nullopt and ENOENT).
    std::optional<std::string> long_target_sidecar(const std::string &backing) const;
    void remove_long_target_sidecar(const std::optional<std::string> &sidecar) const;
    // Reads the target of the backing symlink `backing` (named `plain`);
    // throws IntegrityError naming `label` (and logs) when it fails to
    // authenticate here, e.g. because it was made for another place.
    std::string read_symlink(int fd_or_dir, const std::string &backing, std::string_view plain,
                             const std::string &label) const;

    // Removes an empty subdirectory (ENOTEMPTY if it holds user entries).
    void remove_subdirectory(const format::BackingName &name) const;

    // An empty subdirectory whose id files were taken out, so that a backing
    // rmdir or rename-over can remove it. If that fails, put them back with
    // restore().
    struct Detached {
        UniqueFd fd;
        DirIdFiles ids;
        void restore() const { ids.restore(fd.get()); }
    };
    // Throws ENOTEMPTY if `name` holds user entries, ENOTDIR if it is no directory.
    Detached detach_empty_subdirectory(const format::BackingName &name) const;

    // "." / ".." and cmkfs' own files (ids, sidecars, temporaries): never shown.
    static bool is_bookkeeping(std::string_view backing);

private:
    int fd_;
    const format::DirId &id_;
    const format::NameCodec &codec_;
    const Binding &binding_;
};

}  // namespace cmkfs::store
