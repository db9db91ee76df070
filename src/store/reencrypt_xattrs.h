// Extended attributes during a re-encryption: copied, re-sealed, onto a
// replacement inode, or converted one by one in place (directories, device
// nodes, FIFOs). Each user.* attribute authenticates under one key only, so
// in-place conversion (set the new one, then remove the old) is resumable.
#pragma once

#include <string>

#include "store/reencrypt_keys.h"

namespace cmkfs::store {

// Our own bookkeeping attribute (a directory's original times); never user data.
inline constexpr std::string_view kReencryptTimesXattr = "user.cmkfs.reencrypt.times";

// `path`s are /proc/self/fd/N of an open fd (any kind, O_PATH included); they
// are followed, so never pass a symlink (Linux keeps no user.* xattrs on those).
// Copies every attribute of `from` to `to`, user.* re-sealed under the new key.
// Throws IntegrityError naming `label` when one authenticates under neither key.
void copy_xattrs_resealed(const std::string &from, const std::string &to, const ReencryptKeys &keys,
                          const std::string &label);

// Re-seals in place every user.* attribute still under the old key.
void convert_xattrs_in_place(const std::string &path, const ReencryptKeys &keys, const std::string &label);

std::string fd_path(int fd);

}  // namespace cmkfs::store
