// The walk of a re-encryption: every entry of every directory is brought from
// the old volume key to the new one, one atomic step per entry, in an order
// that a run killed at any point can simply be started again.
//
// Per entry, in a store with encrypted names (the name tells the key):
//   regular file / symlink: build a replacement under a temporary name
//     (new contents, xattrs, owner, mode, times; fsynced), rename it to the
//     new encrypted name, and once the directory is fsynced remove the old
//     name. Hard-linked inodes get one replacement, kept under a staging
//     name in the backing root keyed by the old inode, and every old link
//     name becomes a link to it, so links stay links.
//   directory / device / FIFO: convert xattrs in place, rename to the new name.
//   A directory's `.cmkfs.dirid` is first rebound under the new key (and
//   format), in place with the rename protocol's `.cmkfs.dirid.next`; a
//   symlink's replacement is sealed for its place, one per name (format v2
//   never hard-links symlinks, so v1 symlink hard links become copies).
// Plaintext-names stores rename the replacement over the same name instead;
// there the contents tell which key an entry is under.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <functional>
#include <string>

#include "format/name_codec.h"
#include "format/place_codec.h"
#include "store/reencrypt_keys.h"

namespace cmkfs::store {

struct TreeCounts {
    uint64_t files = 0;        // every non-directory entry visited
    uint64_t converted = 0;    // of those, re-encrypted by this run
    uint64_t directories = 0;
    uint64_t bytes = 0;        // plaintext bytes of regular files visited
};

// Counts entries and plaintext bytes with stat alone (for progress totals).
TreeCounts count_tree(int root_fd);

class TreeConverter {
public:
    TreeConverter(int root_fd, std::string backing, bool plaintext_names, const ReencryptKeys &keys,
                  std::function<void(const TreeCounts &)> progress);

    // Walks from the root; afterwards nothing in the tree is under the old key.
    void run(const format::DirId &root_id);
    // Removes the staging names of hard-linked replacements (after run()).
    void remove_staging() const;

    const TreeCounts &counts() const { return counts_; }

private:
    struct Pending;  // the old names of one directory waiting for removal

    void directory(int fd, const format::DirId &id, const std::string &label);
    void entry(int dirfd, const format::DirId &id, const std::string &name, const std::string &label,
               Pending &pending, std::vector<std::string> &subdirs);
    void replace(int dirfd, const std::string &old_name, const struct stat &st,
                 const format::BackingName &new_name, const format::Place &place, const std::string &label,
                 Pending &pending);
    std::string staging_for(int dirfd, const std::string &name, const struct stat &st, const format::Place &place,
                            const std::string &label);
    // Rebinds a directory's id file under the new key and format, unless done.
    void rebind_dir_id(int fd, const format::Place &place, const std::string &label) const;
    KeyGeneration name_generation(int dirfd, const format::DirId &id, const std::string &name,
                                  const std::string &label, std::string &plain) const;
    void flush(int dirfd, Pending &pending);
    void converted_one();

    int root_fd_;
    std::string backing_;
    bool plaintext_names_;
    ReencryptKeys keys_;
    format::NameCodec old_codec_;
    format::NameCodec new_codec_;
    std::function<void(const TreeCounts &)> progress_;
    TreeCounts counts_;
};

}  // namespace cmkfs::store
