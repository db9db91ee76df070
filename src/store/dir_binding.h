// Directory id files (`.cmkfs.dirid`) and, in format v2, their binding to
// the directory's place, including the crash-safe protocol that rebinds a
// directory when it is renamed (docs/FORMAT.md §4.2):
//   1. prepare_rebind: write `.cmkfs.dirid.next`, bound to the new place
//      (temporary, fsync, rename, fsync of the directory);
//   2. the caller renames the directory (one backing rename);
//   3. finish_rebind: rename `.cmkfs.dirid.next` over `.cmkfs.dirid`.
// A reader accepts `.cmkfs.dirid` if it verifies for the directory's current
// place, else `.cmkfs.dirid.next` if that does; so a crash between any two
// steps leaves the directory readable. The id itself never changes.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "format/place_codec.h"
#include "store/binding.h"

namespace cmkfs::store {

struct DirIdRead {
    format::DirId id{};
    // Only `.cmkfs.dirid.next` verified: a rename was interrupted after its
    // backing rename; settle_dir_id() finishes it.
    bool pending = false;
};

// Reads the directory id of the open backing directory `dirfd` (O_PATH is
// fine) at `place`. Throws IntegrityError naming `label` (and logs) when the
// id is missing, malformed or, in v2, bound to another place.
DirIdRead read_dir_id(int dirfd, const Binding &binding, const format::Place &place, const std::string &label);

// The same check without logging or throwing for a bad binding: nullopt when
// neither file verifies at `place` (e.g. while re-encryption probes which key
// a directory is under). I/O errors other than a missing file still throw.
std::optional<DirIdRead> try_read_dir_id(int dirfd, const Binding &binding, const format::Place &place);

// The id recorded in `.cmkfs.dirid`, unverified (v1 or v2 layout). For
// removing and repairing; never for naming entries.
format::DirId read_dir_id(int dirfd, const std::string &label);

// Creates `.cmkfs.dirid` (O_EXCL, mode 0444) for a new directory at `place`.
void write_dir_id(int dirfd, const Binding &binding, const format::DirId &id, const format::Place &place);

// Step 1 of a rebind (v2 only; nothing to do in v1).
void prepare_rebind(int dirfd, const Binding &binding, const format::DirId &id, const format::Place &to);
// Step 3; a `.cmkfs.dirid.next` that is already gone is fine.
void finish_rebind(int dirfd);
// Undoes step 1 after the backing rename failed.
void abandon_rebind(int dirfd);
// Verifies the id at `place` and finishes an interrupted rebind. Returns the id.
format::DirId settle_dir_id(int dirfd, const Binding &binding, const format::Place &place,
                            const std::string &label);

// The raw id files of a directory (both, if a rebind is pending), so that a
// directory can be emptied of them and restored exactly.
struct DirIdFiles {
    std::optional<std::vector<uint8_t>> current, next;
    // Removes them from dirfd (returns what was removed); restore() puts them back.
    static DirIdFiles take(int dirfd);
    void restore(int dirfd) const;
};

}  // namespace cmkfs::store
