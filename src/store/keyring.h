// The unlocked/locked state of a mounted volume and the keys that exist only
// while it is unlocked. Every operation that touches names or contents holds
// an Access for its whole duration, so locking (which waits for Accesses to
// end, then wipes the keys) can never tear an operation in half: it either
// completed under the key or it never started and got EACCES.
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

    // Throws LockedError("<reason>") while locked, and while a lock drains
    // the kernel's dirty pages (see set_before_wipe).
    Access access() const;
    // For write-back of data the kernel already holds (FUSE WRITE requests):
    // still granted while a lock drains, so that the drain can complete.
    Access access_for_writeback() const;

    // Installs keys and clears the lock reason.
    void unlock(format::VolumeKeys keys);
    // Waits for in-flight operations, wipes every key, remembers why.
    // Returns false if it was already locked (the reason is updated).
    bool lock(const std::string &reason);

    bool locked() const;
    std::string reason() const;
    std::chrono::system_clock::time_point since() const;

    // Runs after every lock (outside the key mutex): the FUSE layer drops the
    // kernel's caches there.
    void set_on_lock(std::function<void()> hook) { on_lock_ = std::move(hook); }
    // Runs at the start of a lock of an unlocked keyring, before the keys are
    // wiped, with every access refused but access_for_writeback: the FUSE
    // layer makes the kernel write back its dirty pages there (writeback
    // cache), so that no write the kernel accepted is lost to the lock.
    void set_before_wipe(std::function<void()> hook) { before_wipe_ = std::move(hook); }

private:
    mutable std::shared_mutex mutex_;
    std::optional<format::VolumeKeys> keys_;
    // Set before taking the exclusive lock so that new operations fail fast
    // instead of queueing behind it (glibc rwlocks prefer readers).
    std::atomic<bool> locking_{false};
    // Set while before_wipe_ runs: only access_for_writeback is granted.
    std::atomic<bool> draining_{false};
    std::function<void()> before_wipe_;
    mutable std::mutex state_mutex_;
    std::string reason_ = "not unlocked yet";
    std::chrono::system_clock::time_point since_ = std::chrono::system_clock::now();
    std::function<void()> on_lock_;

    struct IdHash {
        size_t operator()(const format::FileId &id) const noexcept;
    };
    mutable std::mutex cache_mutex_;
    mutable std::unordered_map<format::FileId, std::shared_ptr<const crypto::ContentKey>, IdHash> cache_;
};

}  // namespace cmkfs::store
