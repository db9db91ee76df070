#include "store/keyring.h"

#include <cstring>

#include <spdlog/spdlog.h>

#include "util/errors.h"

namespace cmkfs::store {

namespace {
// Enough for the working set of a busy registry; beyond it we re-derive.
constexpr size_t kMaxCachedContentKeys = 8192;
}  // namespace

size_t Keyring::IdHash::operator()(const format::FileId &id) const noexcept {
    size_t h = 0;
    std::memcpy(&h, id.data(), sizeof h);  // file ids are random
    return h;
}

std::shared_ptr<const crypto::ContentKey> Keyring::Access::content_key(const format::FileId &id) const {
    {
        std::lock_guard guard(ring_->cache_mutex_);
        if (auto it = ring_->cache_.find(id); it != ring_->cache_.end()) return it->second;
    }
    auto key = std::make_shared<const crypto::ContentKey>(keys_->content_key(id));
    std::lock_guard guard(ring_->cache_mutex_);
    if (ring_->cache_.size() >= kMaxCachedContentKeys) ring_->cache_.clear();
    ring_->cache_.emplace(id, key);
    return key;
}

Keyring::Access Keyring::access() const {
    if (draining_.load(std::memory_order_acquire)) throw LockedError("volume is locking");
    return access_for_writeback();
}

Keyring::Access Keyring::access_for_writeback() const {
    if (!locking_.load(std::memory_order_acquire)) {
        std::shared_lock lock(mutex_);
        if (keys_) return Access(*this, std::move(lock));
    }
    throw LockedError("volume is locked: " + reason());
}

void Keyring::unlock(format::VolumeKeys keys) {
    std::unique_lock lock(mutex_);
    keys_.emplace(std::move(keys));
    std::lock_guard guard(state_mutex_);
    reason_.clear();
    since_ = std::chrono::system_clock::now();
}

bool Keyring::lock(const std::string &reason) {
    bool was_unlocked;
    if (before_wipe_ && !locked()) {
        draining_.store(true, std::memory_order_release);
        try {
            before_wipe_();
        } catch (const std::exception &e) {
            // The lock goes ahead regardless: a key must not outlive a lock.
            spdlog::error("lock: flushing before the wipe failed: {}", e.what());
        }
    }
    locking_.store(true, std::memory_order_release);
    {
        std::unique_lock lock(mutex_);
        was_unlocked = keys_.has_value();
        keys_.reset();  // VolumeKeys' destructors wipe every key
        {
            std::lock_guard guard(cache_mutex_);
            cache_.clear();
        }
        std::lock_guard guard(state_mutex_);
        reason_ = reason;
        if (was_unlocked) since_ = std::chrono::system_clock::now();
    }
    locking_.store(false, std::memory_order_release);
    draining_.store(false, std::memory_order_release);
    if (was_unlocked && on_lock_) on_lock_();
    return was_unlocked;
}

bool Keyring::locked() const {
    std::shared_lock lock(mutex_);
    return !keys_.has_value();
}

std::string Keyring::reason() const {
    std::lock_guard guard(state_mutex_);
    return reason_;
}

std::chrono::system_clock::time_point Keyring::since() const {
    std::lock_guard guard(state_mutex_);
    return since_;
}

}  // namespace cmkfs::store
