// The journal of a re-encryption in progress, BACKING/.cmkfs.reencrypt. It
// holds the complete new volume header (the new volume key wrapped by the
// same CMK, MAC'd under the new key), written atomically and fsynced before
// the first entry is converted, so an interrupted run resumes with exactly
// the key it started with. While it exists the store is half converted and
// must not be mounted.
#pragma once

#include <ctime>
#include <optional>
#include <string>

#include "format/volume_header.h"

namespace cmkfs::store {

inline constexpr std::string_view kReencryptJournalName = ".cmkfs.reencrypt";

struct ReencryptJournal {
    // The new header document exactly as it will replace .cmkfs.volume
    // (format::seal_volume_header's output), and its parsed form.
    std::string new_header_text;
    format::VolumeHeader new_header;
    std::string started;              // RFC 3339 UTC
    // The backing root's times before the run changed them (restored at the end).
    timespec root_atime{};
    timespec root_mtime{};
};

bool reencrypt_journal_exists(int root_fd);

// nullopt when there is none. Throws IntegrityError naming the file when it
// is malformed. The new header's MAC is not checked here (it needs the key).
std::optional<ReencryptJournal> load_reencrypt_journal(int root_fd, const std::string &backing);

// Temp file, fsync, rename, fsync directory.
void save_reencrypt_journal(int root_fd, const ReencryptJournal &journal);

// Removes the journal and fsyncs the directory: the run is complete.
void remove_reencrypt_journal(int root_fd);

// Throws Error(EBUSY) telling how to finish when a journal exists (mount, fsck).
void refuse_if_reencrypting(int root_fd, const std::string &backing);

}  // namespace cmkfs::store
