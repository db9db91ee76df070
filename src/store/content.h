// Encrypted file contents on a backing fd: a header with the file id, then
// fixed-size AES-GCM blocks (format/). Callers serialize per file with
// ContentState::mutex: shared for reads, exclusive for writes and truncates,
// which makes read-modify-write of a partial block atomic.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>

#include "format/file_layout.h"
#include "store/keyring.h"
#include "store/shared_locks.h"

namespace cmkfs::store {

struct ContentState {
    std::shared_mutex mutex;
    std::mutex id_mutex;                 // guards `id` for lazy loading under a shared lock
    std::optional<format::FileId> id;    // unset until read; reset when the file empties
    SharedFileLock shared_lock;          // the backing file's lock between hosts (shared-storage mode)
};

// Plaintext size from the backing size (a torn tail is ignored here; reads of
// it fail). Cheap: one fstat.
uint64_t content_size(int fd);
uint64_t content_size_from_backing(uint64_t backing_size);

class FileContent {
public:
    // `label` names the file in errors and logs (a backing path, never
    // plaintext); when empty it is resolved from the fd, only if an error
    // needs it (the block path must not pay for it).
    // `format_version` is the store's (header().format_version): what blocks
    // are opened and sealed as (FORMAT.md §3).
    FileContent(int fd, ContentState &state, const Keyring::Access &keys, uint32_t format_version,
                std::string label = {})
        : fd_(fd), state_(state), keys_(keys), version_(format_version), label_(std::move(label)) {}

    // Shared lock held by caller. Returns bytes read (short at EOF).
    size_t read(uint64_t offset, std::span<uint8_t> out);
    // What a write does to the backing file's mtime. `kept`: it stays as it
    // was. With the kernel's writeback cache the kernel owns a file's mtime:
    // it took the time of the write(2) and sends it in a SETATTR of its own,
    // which may reach us before the pages do (close sends both; the WRITEs go
    // in the background). A WRITE that moved the mtime to when the pages
    // landed would make a file look changed after a remount (backup tools
    // compare mtimes). Tree::utimens takes the same lock, so the two cannot
    // interleave.
    enum class Mtime { moves, kept };
    // Exclusive lock held by caller. Writes all or throws; extends with holes.
    void write(uint64_t offset, std::span<const uint8_t> data, Mtime mtime = Mtime::moves);
    // Exclusive lock held by caller.
    void truncate(uint64_t new_size);
    uint64_t size() const { return content_size(fd_); }

    // Verifies every block; returns the indexes that fail (fsck).
    std::vector<uint64_t> verify_all();

    // The file id, reading the header on first use. nullopt for a file with
    // no header (0 bytes). Throws IntegrityError for a bad header.
    std::optional<format::FileId> file_id();
    // The file id, writing a header-only file (which reads as empty) first
    // when there is none: format 2 binds xattr values to it. Exclusive lock.
    format::FileId ensure_file_id();

private:
    format::FileId create_header();
    void remember_id(const format::FileId &id);  // the file's id, once its header is written
    // Decrypts block `index` of plaintext length `len` into out; `last`: it
    // is the file's final block now. Throws IntegrityError.
    void read_block(const format::FileId &id, uint64_t index, bool last, size_t len, std::span<uint8_t> out);
    void prefetch_after(uint64_t cipher_end, uint64_t window, uint64_t cipher_size) const;
    void write_block(const format::FileId &id, uint64_t index, bool last, std::span<const uint8_t> plain);
    [[noreturn]] void integrity_failure(const std::string &what) const;
    std::string label() const;

    int fd_;
    ContentState &state_;
    const Keyring::Access &keys_;
    uint32_t version_;
    std::string label_;
};

}  // namespace cmkfs::store
