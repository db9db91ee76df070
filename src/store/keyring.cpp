#include "store/keyring.h"

#include <cstring>

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
    if (writeback_only_.load(std::memory_order_acquire)) throw LockedError("volume is locking");
    return access_for_writeback();
}

Keyring::Access Keyring::access_for_writeback() const {
    if (!locking_.load(std::memory_order_acquire)) {
        std::shared_lock lock(mutex_);
        if (keys_) return Access(*this, std::move(lock));
    }
    throw LockedError("volume is locked");
}

void Keyring::unlock(format::VolumeKeys keys) {
    std::unique_lock lock(mutex_);
    keys_.emplace(std::move(keys));
    writeback_only_.store(false, std::memory_order_release);
}

void Keyring::refuse_all_but_writeback() { writeback_only_.store(true, std::memory_order_release); }

bool Keyring::lock() {
    bool was_unlocked;
    locking_.store(true, std::memory_order_release);
    {
        std::unique_lock lock(mutex_);
        was_unlocked = keys_.has_value();
        keys_.reset();  // VolumeKeys' destructors wipe every key
        {
            std::lock_guard guard(cache_mutex_);
            cache_.clear();
        }
    }
    locking_.store(false, std::memory_order_release);
    writeback_only_.store(false, std::memory_order_release);  // the keys are gone: access() refuses anyway
    return was_unlocked;
}

}  // namespace cmkfs::store
