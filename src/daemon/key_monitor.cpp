#include "daemon/key_monitor.h"

#include <spdlog/spdlog.h>

#include "daemon/audited_rotation.h"
#include "util/errors.h"

namespace cmkfs::daemon {

namespace {
using Clock = std::chrono::steady_clock;
using SysClock = std::chrono::system_clock;
constexpr std::chrono::seconds kFirstRetry{1};

CheckResult check_result_for(keys::ProviderStatus status) {
    switch (status) {
    case keys::ProviderStatus::denied: return CheckResult::denied;
    case keys::ProviderStatus::disabled: return CheckResult::disabled;
    case keys::ProviderStatus::not_found: return CheckResult::not_found;
    default: return CheckResult::unavailable;
    }
}

LockReason lock_reason_for(CheckResult result) {
    switch (result) {
    case CheckResult::denied: return LockReason::denied;
    case CheckResult::disabled: return LockReason::disabled;
    case CheckResult::not_found: return LockReason::not_found;
    case CheckResult::integrity: return LockReason::integrity;
    default: return LockReason::unavailable_grace;
    }
}
}  // namespace

KeyMonitor::KeyMonitor(store::Volume &volume, std::shared_ptr<keys::KeyProvider> provider, store::Keyring &keyring,
                       MonitorOptions options, AuditLog &audit)
    : volume_(volume), provider_(std::move(provider)), keyring_(keyring), options_(options), audit_(audit),
      next_check_(SysClock::now()) {}

KeyMonitor::~KeyMonitor() { stop(); }

// Shared storage: another host's online rotation replaced the header; take
// it up (or refuse it) before checking the key it names.
void KeyMonitor::follow_other_hosts() {
    if (!volume_.header().shared_storage) return;
    try {
        if (volume_.follow_header(*provider_)) {
            spdlog::warn("volume header changed by another host (a key rotation): now key {}",
                         volume_.header().versioned_key_id);
            audit_.record("rotation-followed", {{"keyId", volume_.header().versioned_key_id}});
        }
    } catch (const IntegrityError &e) {
        // Not a rotation of this volume key: stay on the current header.
        spdlog::error("integrity: refusing the changed volume header: {}", e.what());
        audit_.record("header-refused", {{"reason", e.what()}});
    } catch (const std::exception &e) {
        // Provider trouble: the check below reports it for the current key.
        spdlog::warn("could not check the changed volume header: {}", e.what());
    }
}

KeyMonitor::Outcome KeyMonitor::try_unwrap(std::string &detail, std::optional<format::VolumeKeys> &keys,
                                           CheckResult &result) {
    std::lock_guard key_guard(key_mutex_);
    follow_other_hosts();
    try {
        keys.emplace(volume_.unlock(*provider_));  // also proves it is this volume's key
        detail = "ok";
        result = CheckResult::ok;
        return Outcome::unlocked;
    } catch (const keys::ProviderError &e) {
        detail = std::string(keys::to_string(e.status())) + ": " + e.what();
        result = check_result_for(e.status());
        return keys::is_revocation(e.status()) ? Outcome::revoked : Outcome::unavailable;
    } catch (const IntegrityError &e) {
        // A key that opens but does not authenticate the header is not ours.
        detail = std::string("wrong key: ") + e.what();
        result = CheckResult::integrity;
        return Outcome::revoked;
    } catch (const std::exception &e) {
        detail = std::string("unavailable: ") + e.what();
        result = CheckResult::unavailable;
        return Outcome::unavailable;
    }
}

bool KeyMonitor::unlock_at_mount(bool wait_for_key) {
    CheckResult result = CheckResult::unavailable;
    bool unlocked = false;
    try {
        unlocked = first_unlock(wait_for_key, result);
    } catch (...) {
        if (observer_ != nullptr) observer_->key_checked(result);
        throw;
    }
    if (observer_ != nullptr) {
        observer_->key_checked(result);
        if (unlocked) observer_->key_unlocked(UnlockReason::mount);
        notify_state();
    }
    return unlocked;
}

bool KeyMonitor::first_unlock(bool wait_for_key, CheckResult &result) {
    std::lock_guard key_guard(key_mutex_);  // before mutex_, as everywhere
    std::lock_guard guard(mutex_);
    last_check_ = SysClock::now();
    try {
        keyring_.unlock(volume_.unlock(*provider_));
        result = CheckResult::ok;
    } catch (const IntegrityError &) {
        result = CheckResult::integrity;
        throw;
    } catch (const keys::ProviderError &e) {
        result = check_result_for(e.status());
        if (!wait_for_key) throw;
        last_result_ = std::string(keys::to_string(e.status())) + ": " + e.what();
        keyring_.lock("waiting for key: " + last_result_);
        audit_.record("locked-at-mount", {{"reason", last_result_}});
        return false;
    }
    last_result_ = "ok";
    last_success_ = last_check_;
    audit_.record("unlock", {{"reason", "mount"}, {"keyId", volume_.header().versioned_key_id}});
    return true;
}

void KeyMonitor::lock(const std::string &reason, LockReason why) {
    if (keyring_.lock(reason)) {
        spdlog::warn("volume locked: {}", reason);
        audit_.record("lock", {{"reason", reason}});
        if (observer_ != nullptr) observer_->key_locked(why);
    }
}

void KeyMonitor::notify_state() {
    if (observer_ == nullptr) return;
    KeyIdentity key;
    {
        std::lock_guard key_guard(key_mutex_);
        key = {volume_.header().key_id, provider_->name()};
    }
    observer_->key_state(!keyring_.locked(), key);
}

void KeyMonitor::check_once(UnlockReason unlock_reason) {
    std::string detail;
    std::optional<format::VolumeKeys> keys;
    CheckResult result = CheckResult::unavailable;
    Outcome outcome = try_unwrap(detail, keys, result);
    bool unlocked_now = false;
    // Before the keys move into the keyring: they are the ones to re-wrap.
    if (outcome == Outcome::unlocked) follow_latest_version(*keys);
    // Read now: below, mutex_ is held, and key_mutex_ is never taken after it.
    const std::string key_id = current_key_id();

    std::unique_lock guard(mutex_);
    const auto now = SysClock::now();
    last_check_ = now;
    last_result_ = detail;
    const bool was_locked = keyring_.locked();
    switch (outcome) {
    case Outcome::unlocked:
        last_success_ = now;
        unavailable_since_.reset();
        backoff_ = kFirstRetry;
        if (was_locked && !emergency_) {
            keyring_.unlock(std::move(*keys));
            unlocked_now = true;
            spdlog::info("volume unlocked: key is accessible again");
            audit_.record("unlock", {{"reason", "key accessible again"}, {"keyId", key_id}});
        }
        break;
    case Outcome::revoked:
        unavailable_since_.reset();
        guard.unlock();
        lock(detail, lock_reason_for(result));
        guard.lock();
        break;
    case Outcome::unavailable: {
        if (!unavailable_since_) {
            unavailable_since_ = Clock::now();
            if (!was_locked)
                audit_.record("provider-unavailable", {{"reason", detail},
                                                       {"graceSeconds", options_.unavailable_grace.count()}});
        }
        const bool grace_over = Clock::now() - *unavailable_since_ >= options_.unavailable_grace;
        if (!was_locked && grace_over) {
            guard.unlock();
            lock("provider unavailable for longer than the grace period: " + detail,
                 LockReason::unavailable_grace);
            guard.lock();
        }
        break;
    }
    }
    guard.unlock();
    if (observer_ != nullptr) {
        observer_->key_checked(result);
        if (unlocked_now) observer_->key_unlocked(unlock_reason);
        notify_state();
    }
}

void KeyMonitor::run() {
    std::unique_lock guard(mutex_);
    for (;;) {
        const bool locked = keyring_.locked();
        std::chrono::seconds wait = options_.check_interval;
        if (locked || unavailable_since_) {
            wait = std::min(backoff_, options_.check_interval);
            backoff_ = std::min(backoff_ * 2, options_.check_interval);
        }
        next_check_ = SysClock::now() + wait;
        wake_.wait_for(guard, wait, [&] { return stopping_; });
        if (stopping_) return;
        if (emergency_) continue;
        guard.unlock();
        check_once();
        guard.lock();
    }
}

void KeyMonitor::start() {
    std::lock_guard guard(mutex_);
    if (thread_.joinable()) return;
    stopping_ = false;
    thread_ = std::thread([this] { run(); });
}

void KeyMonitor::stop() {
    {
        std::lock_guard guard(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

MonitorStatus KeyMonitor::status() const {
    MonitorStatus s;
    std::lock_guard guard(mutex_);
    s.locked = keyring_.locked();
    s.emergency = emergency_;
    s.reason = s.locked ? keyring_.reason() : "";
    s.since = keyring_.since();
    s.last_check = last_check_;
    s.last_success = last_success_;
    s.next_check = next_check_;
    s.last_result = last_result_;
    s.last_rotation_check = last_rotation_check_;
    s.rotation_error = rotation_error_;
    return s;
}

void KeyMonitor::emergency_lock() {
    {
        std::lock_guard guard(mutex_);
        emergency_ = true;
    }
    lock("emergency lock by operator", LockReason::emergency);
    audit_.record("emergency-lock");
    notify_state();
}

MonitorStatus KeyMonitor::unlock_by_operator() {
    {
        std::lock_guard guard(mutex_);
        emergency_ = false;
        backoff_ = kFirstRetry;
    }
    audit_.record("operator-unlock-requested");
    check_once(UnlockReason::operator_unlock);
    wake_.notify_all();
    return status();
}

format::VolumeHeader KeyMonitor::header() {
    std::lock_guard key_guard(key_mutex_);
    return volume_.header();
}

std::string KeyMonitor::current_key_id() {
    std::lock_guard key_guard(key_mutex_);
    return volume_.header().versioned_key_id;
}

void KeyMonitor::follow_latest_version(const format::VolumeKeys &keys) {
    std::string error;
    {
        std::lock_guard key_guard(key_mutex_);
        const format::VolumeHeader header = volume_.header();
        if (!header.key_rotation_enabled()) return;  // a versioned key id never changes by itself
        try {
            const std::string latest = provider_->check({header.key_id, header.identity});
            if (latest != header.versioned_key_id) {
                spdlog::info("key {} has a new version {}: re-wrapping the volume key", header.key_id, latest);
                const store::RotationTarget target{header.provider, header.provider_options, header.key_id,
                                                   header.identity};
                audited_rotation(
                    volume_, [&keys] { return format::VolumeKeys(keys.volume_key().clone()); }, *provider_,
                    target, audit_, "automatic: new key version " + latest);
            }
        } catch (const std::exception &e) {
            error = e.what();
        }
    }
    std::lock_guard guard(mutex_);
    last_rotation_check_ = SysClock::now();
    if (!error.empty() && error != rotation_error_)
        spdlog::warn("automatic key rotation: {} (the volume stays on its current key version)", error);
    rotation_error_ = error;
}

format::VolumeHeader KeyMonitor::rotate_key(const store::RotationRequest &request) {
    std::lock_guard key_guard(key_mutex_);
    {
        std::lock_guard guard(mutex_);
        if (emergency_) throw LockedError("the volume is under an emergency lock; `cmkfs unlock` it before rotating");
        // Locked by the provider's answer: report it as that answer (the CLI
        // exits 6 for a revoked key, 7 for an unreachable provider).
        if (keyring_.locked())
            throw keys::ProviderError(unavailable_since_ ? keys::ProviderStatus::unavailable
                                                         : keys::ProviderStatus::denied,
                                      "the volume is locked (" + keyring_.reason() +
                                          "); rotation needs the unlocked volume key");
    }
    const format::VolumeHeader before = volume_.header();
    const store::RotationTarget target = store::resolve_rotation_target(before, request);
    std::shared_ptr<keys::KeyProvider> provider = provider_;
    if (!store::same_provider(before, target)) {
        provider = store::load_target_provider(target);
        if (decorate_) provider = decorate_(std::move(provider));
    }
    // The volume key is copied out so that a lock is never held up by a
    // slow provider call.
    auto copy_keys = [this] {
        auto access = keyring_.access();
        return format::VolumeKeys(access.keys().volume_key().clone());
    };
    try {
        format::VolumeHeader after = audited_rotation(volume_, copy_keys, *provider, target, audit_, "operator");
        provider_ = std::move(provider);
        return after;
    } catch (...) {
        // Failed after the rename: the header names the new key, so checks must use its provider.
        if (volume_.header().wrapped_key != before.wrapped_key) provider_ = std::move(provider);
        throw;
    }
}

}  // namespace cmkfs::daemon
