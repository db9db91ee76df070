// Keeping format 2's hard-link records (store/link_record.h) in step with the
// links made and removed through the mount, and refusing to open a file that
// has backing links its record does not explain.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "format/file_layout.h"
#include "store/tree_node.h"
#include "store/content.h"
#include "store/keyring.h"
#include "util/unique_fd.h"

namespace cmkfs::store {

// One change of one inode's record, around the backing link operation. The
// record is raised before a link is made and lowered after one is removed,
// so a crash in between leaves it too high, never too low: fsck and open only
// flag links above it. All changes are serialized (links change rarely).
class LinkRecordChange {
public:
    // link(): raises the record of `inode` by one, first giving an empty file
    // a header (the record is bound to the file id). Throws IntegrityError
    // when the current record fails to authenticate.
    static LinkRecordChange for_new_link(const Keyring::Access &access, uint32_t format_version,
                                         Node &inode);
    // unlink() or a rename over `name`: notes the entry if it is a regular
    // file with other links, before it is removed.
    static LinkRecordChange for_removal(const Keyring::Access &access, uint32_t format_version, int dirfd,
                                        const std::string &name);

    // The link could not be made: put the record back as it was.
    void undo();
    // The entry was removed: lower the record (never throws: the removal is done).
    void commit();

private:
    explicit LinkRecordChange(const Keyring::Access &access) : access_(&access) {}

    const Keyring::Access *access_;
    std::unique_lock<std::mutex> lock_;
    UniqueFd fd_;
    format::FileId id_{};
    std::optional<uint32_t> before_;
    bool active_ = false;
    std::string label_;
};

// Whether two backing entries are links of one inode.
bool same_inode(int dir_a, const std::string &a, int dir_b, const std::string &b);

// open() of a format-2 regular file: IntegrityError (logged, naming the
// backing file) when its st_nlink exceeds its record.
void check_link_count(const Keyring::Access &access, uint32_t format_version, int fd,
                      ContentState &state, const std::string &label);

}  // namespace cmkfs::store
