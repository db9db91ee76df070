// Backing symlinks and their targets: sealed in the backing symlink itself
// when the sealed form fits (every format), or, in format 3, in an encrypted
// sidecar file beside it that the backing symlink names with a marker
// (format/long_target.h, docs/FORMAT.md §6.2). FUSE-free.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

#include "crypto/secure_bytes.h"
#include "format/long_target.h"
#include "format/place_codec.h"

namespace cmkfs::store {

// The raw target of a backing symlink (`name` relative to fd_or_dir; "" for
// an O_PATH descriptor of the symlink). Throws SystemError.
std::string read_backing_link(int fd_or_dir, const std::string &name);

// The plaintext target of a symlink whose backing target is `raw`, at
// `place`, as format `version` seals it. A format-3 marker is followed to its
// sidecar in `dir` (opened O_NONBLOCK|O_NOFOLLOW, a regular file of at most
// 1 MiB, else it fails: a FIFO, directory or symlink planted there never
// blocks). nullopt when anything fails to authenticate, the sidecar is
// missing or unreadable, or `dir` is -1 for a marker.
std::optional<std::string> open_link_target(int dir, std::string_view raw, uint32_t version,
                                            const crypto::MetaKey &key, const format::Place &place);

// Creates the backing symlink `name` in `dir` for `target` at `place`: the
// sealed target itself when it fits a backing symlink; in format >= 3
// otherwise a new sidecar (written atomically, before the symlink appears)
// and a marker. ENAMETOOLONG when neither applies (formats 1 and 2, or a
// target above 4095 bytes); EEXIST like symlinkat (the sidecar is removed).
void make_link(int dir, const std::string &name, uint32_t version, const crypto::MetaKey &key,
               const format::Place &place, std::string_view target);

// The sidecar that the backing entry `name` in `dir` names, when it is a
// symlink with a marker (nothing authenticated: used to remove it with the
// entry). nullopt for anything else, including a missing entry.
std::optional<std::string> long_target_sidecar_of(int dir, const std::string &name);
// Removes such a sidecar (ignores a missing one).
void remove_long_target_sidecar(int dir, const std::optional<std::string> &sidecar);

// The plaintext length of a long target, for stat: when the symlink held by
// the O_PATH descriptor `fd` (backing size `backing_size`) holds a marker.
std::optional<size_t> long_target_length(int fd, off_t backing_size);

}  // namespace cmkfs::store
