// rename(2) of an entry between two directories of the store, keeping every
// entry bound to its place (format v2; docs/FORMAT.md §4.2, §6.1). FUSE-free.
//
//  - A directory keeps its id; its `.cmkfs.dirid` is rebound to the new
//    place around the one backing rename (store/dir_binding.h), so that a
//    crash between any two steps leaves it readable.
//  - A symlink's target is sealed for its place, and a backing symlink cannot
//    be rewritten, so a renamed symlink is a new backing symlink: it is built
//    under a temporary name in the destination directory, renamed over the
//    destination (the one visible change), and then the source is removed. A
//    crash before that removal leaves the link under both names, each valid.
//  - RENAME_EXCHANGE involving a symlink cannot be one backing step and is
//    refused with EINVAL in v2 (callers fall back, as on filesystems without
//    RENAME_EXCHANGE).
// Version-1 stores keep the version-1 behaviour: one backing rename.
#pragma once

#include <sys/stat.h>

#include <functional>
#include <optional>
#include <string_view>

#include "store/directory.h"

namespace cmkfs::store {

struct RenameOutcome {
    // Set when the renamed entry was a symlink re-sealed for its new place:
    // the backing (st_dev, st_ino) it had. It is now a new backing symlink
    // under the new name, which whoever held the old one should use instead.
    std::optional<struct stat> resealed_symlink;
};

// Steps for failure injection in tests: "bind" (before rebinding a
// directory), "rename" (before the backing rename), "finish" (after it,
// before the id files are settled), "remove-source" (a symlink's old name).
// The directory steps are also fault points "rename:<step>" (util/fault.h).
using RenameStepHook = std::function<void(const char *step)>;

// Callers serialize changes to both directories' names (hold their locks).
// Errors are those of renameat2(2), plus IntegrityError when the source is
// a directory whose id does not verify at its place.
RenameOutcome rename_entry(const Directory &from, std::string_view name, const Directory &to,
                           std::string_view newname, unsigned flags, const RenameStepHook &before_step = {});

}  // namespace cmkfs::store
