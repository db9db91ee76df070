// Names inside one backing directory: directory ids, encrypted names with
// their long-name sidecars, and creating/removing directories so that a
// backing directory never exists without its id.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "format/name_codec.h"
#include "store/keyring.h"
#include "util/unique_fd.h"

namespace cmkfs::store {

// Reads the directory id of an open backing directory (O_PATH is fine).
// Throws IntegrityError naming `label` when it is missing or malformed.
format::DirId read_dir_id(int dirfd, const std::string &label);
void write_dir_id(int dirfd, const format::DirId &id);

class Directory {
public:
    Directory(int dirfd, const format::DirId &id, const format::NameCodec &codec)
        : fd_(dirfd), id_(id), codec_(codec) {}

    // The backing name for a plaintext name (throws EINVAL/ENAMETOOLONG).
    format::BackingName encode(std::string_view name) const { return codec_.encode(id_, name); }

    // Writes the sidecar of a long name (before the entry appears).
    void write_sidecar(const format::BackingName &name) const;
    // Removes a long name's sidecar (after the entry is gone); ignores ENOENT.
    void remove_sidecar(const format::BackingName &name) const;

    // Plaintext name of a backing entry; nullopt for our own files, sidecars
    // and names that fail to authenticate (those are logged).
    std::optional<std::string> decode(std::string_view backing) const;

    // Creates a subdirectory with a fresh id, atomically: it is built under a
    // temporary name and renamed into place. Throws EEXIST like mkdirat.
    void make_subdirectory(const format::BackingName &name, mode_t mode) const;

    // Removes an empty subdirectory (ENOTEMPTY if it holds user entries).
    void remove_subdirectory(const format::BackingName &name) const;

    // An empty subdirectory whose id file was taken out, so that a backing
    // rmdir or rename-over can remove it. If that fails, put the id back with
    // write_dir_id(fd, *id) (id is unset when the directory had none).
    struct Detached {
        UniqueFd fd;
        std::optional<format::DirId> id;
    };
    // Throws ENOTEMPTY if `name` holds user entries, ENOTDIR if it is no directory.
    Detached detach_empty_subdirectory(const format::BackingName &name) const;

    // "." / ".." and cmkfs' own files (ids, sidecars, temporaries): never shown.
    static bool is_bookkeeping(std::string_view backing);

private:
    int fd_;
    const format::DirId &id_;
    const format::NameCodec &codec_;
};

}  // namespace cmkfs::store
