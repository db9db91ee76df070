// The hard-link record of format 2 (docs/FORMAT.md §3.1): how many plaintext
// hard links cmkfs itself made to a regular file, sealed with the metadata
// key and bound to the file id, kept in a backing xattr of the inode (shared
// by all its links). A backing st_nlink above it is a link the attacker made
// (e.g. one file's backing entry hard-linked in place of another, so writes
// through one change the other): open refuses the file and fsck reports it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/secure_bytes.h"
#include "format/file_layout.h"

namespace cmkfs::store {

// Reserved: not base64url (the dots), so it never decodes as a user attribute
// and listxattr hides it.
inline constexpr std::string_view kLinkRecordXattr = "user.cmkfs.links";

// `fd` is any fd of the inode (O_PATH is fine). nullopt when there is no
// record (a file never linked through cmkfs: one link). Throws IntegrityError
// naming `label` when the record fails to authenticate (forged or copied).
std::optional<uint32_t> read_link_record(int fd, const crypto::MetaKey &key, const format::FileId &id,
                                         const std::string &label);
void write_link_record(int fd, const crypto::MetaKey &key, const format::FileId &id, uint32_t links);
void remove_link_record(int fd);

// Re-encryption of an inode kept in place (format 2 target): a record under
// the old metadata key is sealed again under the new one; an upgraded
// (format-1) inode with several links gets one for the links it has. Throws
// IntegrityError when a record opens under neither key.
void convert_link_record(int fd, const crypto::MetaKey &old_key, const crypto::MetaKey &new_key,
                         uint32_t old_version, const format::FileId &id, uint64_t st_nlink, const std::string &label);

// The links of an inode that its record does not explain: 0 when st_nlink is
// at most the recorded count (a crash between a link change and its record
// update only ever leaves the record higher). Throws like read_link_record.
uint64_t unexplained_links(int fd, uint64_t st_nlink, const crypto::MetaKey &key,
                           const std::optional<format::FileId> &id, const std::string &label);

}  // namespace cmkfs::store
