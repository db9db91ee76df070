// Replacement inodes for a re-encryption: a regular file's contents (with a
// fresh file id, every block sealed again, holes left as holes) or a symlink's
// target, sealed under the new key, with the original's xattrs, owner, mode
// and times. The replacement is complete and on disk before it gets a name
// that readers see, so any name shows whole old or whole new contents.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string>

#include "format/place_codec.h"
#include "store/reencrypt_keys.h"

namespace cmkfs::store {

struct Replacement {
    std::string temp_name;   // in the directory given to build_replacement
    uint64_t plain_bytes = 0;
};

// Builds the replacement of `src_name` (in src_dir, stat'ed as `st`) as a
// fresh temporary in `temp_dir`, fsynced. Throws IntegrityError naming
// `label` when the source fails to authenticate under the old key.
// `place` is where the entry is (a symlink's target is bound to it in v2).
Replacement build_replacement(int src_dir, const std::string &src_name, const struct stat &st, int temp_dir,
                              const ReencryptKeys &keys, const format::Place &place, const std::string &label);

// Which key a regular file's blocks or a symlink's target are sealed under
// (needed where names do not tell: plaintext-names stores).
KeyGeneration content_generation(int dir, const std::string &name, const struct stat &st,
                                 const ReencryptKeys &keys, const format::Place &place, const std::string &label);

}  // namespace cmkfs::store
