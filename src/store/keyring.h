// The keys of a mounted volume, which exist only while it is unlocked: the
// mechanism that blocks operations and wipes keys. Whether the volume is
// locked, why and since when is decided in one place, the key custody state
// machine (custody/key_state.h); the Custodian is the only caller of
// unlock() and lock() on a mount. Every operation that touches names or
// contents holds an Access for its whole duration, so locking (which waits for
// Accesses to end, then wipes the keys) can never tear an operation in half:
// it either completed under the key or it never started and got EACCES.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "format/file_layout.h"
#include "format/key_schedule.h"

namespace cmkfs::store {

class Keyring {
public:
    class Access {
    public:
        const format::VolumeKeys &keys() const { return *keys_; }
        // Per-file content key, derived once per file and cached until lock.
        std::shared_ptr<const crypto::ContentKey> content_key(const format::FileId &id) const;

    private:
        friend class Keyring;
        Access(const Keyring &ring, std::shared_lock<std::shared_mutex> lock)
            : ring_(&ring), lock_(std::move(lock)), keys_(&*ring.keys_) {}
        const Keyring *ring_;
        std::shared_lock<std::shared_mutex> lock_;
        const format::VolumeKeys *keys_;
    };

    Keyring() = default;
    Keyring(const Keyring &) = delete;
    Keyring &operator=(const Keyring &) = delete;

    // Throws LockedError while no keys are installed (EACCES; the reason is
    // the custodian's to tell, in its status).
    Access access() const;
    // For write-back of data the kernel already holds (FUSE WRITE requests):
    // still granted after refuse_all_but_writeback(), so that the before-wipe
    // drain of a writeback cache can complete; refused once the keys are gone.
    Access access_for_writeback() const;
    // The before-wipe drain of the kernel's writeback cache
    // (fs/writeback_drain.h) calls this first: until the next lock() or
    // unlock(), access() throws LockedError and only access_for_writeback()
    // is granted, so no new write(2) can dirty a page behind the drain. It is
    // a gate on operations during one lock sequence, not a state: whether the
    // volume is locked is custody's key_state alone (custody/key_state.h).
    void refuse_all_but_writeback();
    // Whether that drain is under way (fs: its WRITEs take the time they land
    // as the file's mtime, since the kernel's own is refused after the lock).
    bool draining_writeback() const { return writeback_only_.load(); }

    // Installs keys.
    void unlock(format::VolumeKeys keys);
    // Refuses new operations, waits for those in flight, wipes every key.
    // Returns false if there were no keys.
    bool lock();

private:
    mutable std::shared_mutex mutex_;
    std::optional<format::VolumeKeys> keys_;
    // Set before taking the exclusive lock so that new operations fail fast
    // instead of queueing behind it (glibc rwlocks prefer readers).
    std::atomic<bool> locking_{false};
    // Set by refuse_all_but_writeback(), cleared by lock() and unlock().
    std::atomic<bool> writeback_only_{false};

    struct IdHash {
        size_t operator()(const format::FileId &id) const noexcept;
    };
    mutable std::mutex cache_mutex_;
    mutable std::unordered_map<format::FileId, std::shared_ptr<const crypto::ContentKey>, IdHash> cache_;
};

}  // namespace cmkfs::store
