// Extended attributes during a re-encryption: copied, re-sealed, onto a
// replacement inode, or converted one by one in place (directories, device
// nodes, FIFOs). Each user.* attribute authenticates under one key only, so
// in-place conversion (set the new one, then remove the old) is resumable.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "store/reencrypt_keys.h"

namespace cmkfs::store {

// Our own bookkeeping attributes start with this (never base64url: the dot).
inline constexpr std::string_view kReservedXattrPrefix = "user.cmkfs.";
// A directory's original times during a re-encryption; never user data.
inline constexpr std::string_view kReencryptTimesXattr = "user.cmkfs.reencrypt.times";

// `path`s are /proc/self/fd/N of an open fd (any kind, O_PATH included); they
// are followed, so never pass a symlink (Linux keeps no user.* xattrs on those).
// Copies every attribute of `from` to `to`, user.* re-sealed under the new key.
// Throws IntegrityError naming `label` when one authenticates under neither key.
// `old_owner`/`new_owner`: the file or directory id the values are bound to
// on each side (format 2; pass it whatever the version, it is ignored by
// format 1). An empty old owner on a format-2 source (a file without header)
// means no value can authenticate.
struct XattrOwners {
    std::span<const uint8_t> old_owner;
    std::span<const uint8_t> new_owner;
};
void copy_xattrs_resealed(const std::string &from, const std::string &to, const ReencryptKeys &keys,
                          const XattrOwners &owners, const std::string &label);

// Re-seals in place every user.* attribute still under the old key.
void convert_xattrs_in_place(const std::string &path, const ReencryptKeys &keys, const XattrOwners &owners,
                             const std::string &label);

// Whether `path` carries user.* attributes other than our own bookkeeping.
bool has_user_xattrs(const std::string &path);

// Backing xattr names cmkfs keeps for itself (never user data; their names
// are not base64url, so they never decode as an attribute name).
bool is_reserved_xattr(std::string_view name);

std::string fd_path(int fd);

}  // namespace cmkfs::store
