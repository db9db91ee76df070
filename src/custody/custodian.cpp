#include "custody/custodian.h"

#include <spdlog/spdlog.h>

#include "custody/audited_rotation.h"
#include "util/errors.h"

namespace cmkfs::custody {

namespace {
CheckResult check_result_for(keys::ProviderStatus status) {
    switch (status) {
    case keys::ProviderStatus::denied: return CheckResult::denied;
    case keys::ProviderStatus::disabled: return CheckResult::disabled;
    case keys::ProviderStatus::not_found: return CheckResult::not_found;
    default: return CheckResult::unavailable;
    }
}
}  // namespace

Custodian::Custodian(store::Volume &volume, std::shared_ptr<keys::KeyProvider> provider, store::Keyring &keyring,
                     CustodyOptions options, AuditLog &audit, Clock &clock)
    : volume_(volume), provider_(std::move(provider)), keyring_(keyring), options_(options), audit_(audit),
      clock_(clock), state_(options.policy, clock) {
    std::lock_guard key_guard(key_mutex_);
    refresh_identity();
}

Custodian::~Custodian() { stop(); }

void Custodian::refresh_identity() {
    KeyIdentity id{volume_.header().key_id, provider_->name()};
    std::string versioned = volume_.header().versioned_key_id;
    format::VolumeHeader header = volume_.header();
    std::lock_guard guard(mutex_);
    identity_ = std::move(id);
    versioned_key_id_ = std::move(versioned);
    served_header_ = std::move(header);
}

// Shared storage: another host's online rotation replaced the header. It is
// taken up only when it re-wraps the volume key this host's binding commits
// to (store::Volume::follow_header), and then recorded in the binding;
// anything else is refused and the checks go on with the current header.
void Custodian::follow_other_hosts() {
    try {
        if (volume_.follow_header(*provider_)) {
            spdlog::warn("volume header changed by another host (a key rotation): now key {}",
                         volume_.header().versioned_key_id);
            audit_.record("rotation-followed", {{"keyId", volume_.header().versioned_key_id}});
            refresh_identity();
        }
    } catch (const IntegrityError &e) {
        // Not a rotation of this volume key (TrustError included).
        spdlog::error("integrity: refusing the changed volume header: {}", e.what());
        audit_.record("header-refused", {{"reason", e.what()}});
    } catch (const std::exception &e) {
        // Provider trouble: the check that follows reports it for the current key.
        spdlog::warn("could not check the changed volume header: {}", e.what());
    }
}

Custodian::Unwrapped Custodian::unwrap() {
    Unwrapped u;
    std::lock_guard key_guard(key_mutex_);
    try {
        if (options_.reread_header_each_check) follow_other_hosts();
        u.keys.emplace(volume_.unlock(*provider_));  // also proves it is this volume's key
        u.detail = "ok";
        u.result = CheckResult::ok;
        // Before the keys move into the keyring: they are the ones to re-wrap.
        follow_latest_version(*u.keys);
    } catch (const keys::ProviderError &e) {
        u.detail = std::string(keys::to_string(e.status())) + ": " + e.what();
        u.result = check_result_for(e.status());
    } catch (const IntegrityError &e) {
        // A key that opens but does not authenticate the header, or whose
        // commitment is not the binding's, is not ours.
        u.detail = std::string("wrong key: ") + e.what();
        u.result = CheckResult::integrity;
    } catch (const std::exception &e) {
        u.detail = std::string("unavailable: ") + e.what();
        u.result = CheckResult::unavailable;
    }
    return u;
}

bool Custodian::unlock_at_mount(bool wait_for_key) {
    CheckResult result = CheckResult::unavailable;
    std::string detail = "ok";
    std::optional<format::VolumeKeys> keys;
    try {
        std::lock_guard key_guard(key_mutex_);
        try {
            keys.emplace(volume_.unlock(*provider_));
            result = CheckResult::ok;
        } catch (const IntegrityError &) {
            result = CheckResult::integrity;
            throw;
        } catch (const keys::ProviderError &e) {
            result = check_result_for(e.status());
            if (!wait_for_key) throw;
            detail = std::string(keys::to_string(e.status())) + ": " + e.what();
        }
    } catch (...) {
        for (Observer *o : observers_) o->key_checked(result);
        throw;
    }
    std::lock_guard transition(transition_mutex_);
    Transition t;
    std::string key_id;
    {
        std::lock_guard guard(mutex_);
        t = state_.mounted(result, detail);
        key_id = versioned_key_id_;
    }
    for (Observer *o : observers_) o->key_checked(result);
    if (t.kind == Transition::Kind::unlock) {
        apply(t, std::move(keys), key_id);
    } else {
        audit_.record("locked-at-mount", {{"reason", detail}});  // the keyring was never unlocked
    }
    notify_state();
    return t.kind == Transition::Kind::unlock;
}

void Custodian::apply(const Transition &t, std::optional<format::VolumeKeys> keys, const std::string &key_id) {
    switch (t.kind) {
    case Transition::Kind::none:
    case Transition::Kind::relock: break;
    case Transition::Kind::unlock:
        keyring_.unlock(std::move(*keys));
        if (t.unlock_reason == UnlockReason::mount) {
            audit_.record("unlock", {{"reason", "mount"}, {"keyId", key_id}});
        } else {
            spdlog::info("volume unlocked: key is accessible again");
            audit_.record("unlock", {{"reason", "key accessible again"}, {"keyId", key_id}});
        }
        for (Observer *o : observers_) o->key_unlocked(t.unlock_reason);
        break;
    case Transition::Kind::lock: run_lock_sequence(t); break;
    }
}

// The order is documented, with the reasons for it, in custody/observer.h.
void Custodian::run_lock_sequence(const Transition &t) {
    for (Observer *o : observers_) o->before_wipe(t.lock_reason);
    keyring_.lock();  // refuses new operations, waits for those in flight, wipes
    spdlog::warn("volume locked: {}", t.reason);
    audit_.record("lock", {{"reason", t.reason}});
    for (Observer *o : observers_) o->key_locked(t.lock_reason);
}

void Custodian::notify_state() {
    KeyIdentity id;
    bool unlocked = false;
    {
        std::lock_guard guard(mutex_);
        id = identity_;
        unlocked = !state_.locked();
    }
    for (Observer *o : observers_) o->key_state(unlocked, id);
}

void Custodian::check(UnlockReason unlock_reason) {
    Unwrapped u = unwrap();
    std::lock_guard transition(transition_mutex_);
    Transition t;
    std::string key_id;
    {
        std::lock_guard guard(mutex_);
        t = state_.checked(u.result, u.detail, unlock_reason);
        key_id = versioned_key_id_;
    }
    for (Observer *o : observers_) o->key_checked(u.result);
    if (t.outage_began)
        audit_.record("provider-unavailable",
                      {{"reason", u.detail},
                       {"graceSeconds",
                        std::chrono::duration_cast<std::chrono::seconds>(options_.policy.unavailable_grace).count()}});
    apply(t, std::move(u.keys), key_id);
    notify_state();
}

void Custodian::run() {
    std::unique_lock guard(mutex_);
    for (;;) {
        const auto deadline = clock_.now() + state_.next_wait();
        if (clock_.wait_until(guard, wake_, deadline, [&] { return stopping_; })) return;
        if (state_.checks_suspended()) continue;  // an emergency lock: only the operator lifts it
        guard.unlock();
        check();
        guard.lock();
    }
}

void Custodian::start() {
    std::lock_guard guard(mutex_);
    if (thread_.joinable()) return;
    stopping_ = false;
    thread_ = std::thread([this] { run(); });
}

void Custodian::stop() {
    {
        std::lock_guard guard(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

Status Custodian::status() const {
    std::lock_guard guard(mutex_);
    return state_.status();
}

format::VolumeHeader Custodian::header() const {
    std::lock_guard guard(mutex_);
    return served_header_;
}

bool Custodian::locked() const {
    std::lock_guard guard(mutex_);
    return state_.locked();
}

void Custodian::emergency_lock() {
    {
        std::lock_guard transition(transition_mutex_);
        Transition t;
        {
            std::lock_guard guard(mutex_);
            t = state_.emergency_lock();
        }
        apply(t, std::nullopt, {});
        audit_.record("emergency-lock");
        notify_state();
    }
}

Status Custodian::unlock_by_operator() {
    {
        std::lock_guard guard(mutex_);
        state_.operator_unlock();
    }
    audit_.record("operator-unlock-requested");
    check(UnlockReason::operator_unlock);
    wake_.notify_all();
    return status();
}

void Custodian::follow_latest_version(const format::VolumeKeys &keys) {
    const format::VolumeHeader header = volume_.header();
    if (!header.key_rotation_enabled()) return;  // a versioned key id never changes by itself
    std::string error;
    try {
        const std::string latest = provider_->check({header.key_id, header.identity});
        if (latest != header.versioned_key_id) {
            spdlog::info("key {} has a new version {}: re-wrapping the volume key", header.key_id, latest);
            const store::RotationTarget target{header.provider, header.provider_options, header.key_id,
                                               header.identity};
            audited_rotation(
                volume_, [&keys] { return format::VolumeKeys(keys.volume_key().clone()); }, *provider_, target,
                audit_, "automatic: new key version " + latest);
            refresh_identity();
        }
    } catch (const std::exception &e) {
        error = e.what();
        refresh_identity();  // a failure after the rename leaves the new header in effect
    }
    std::lock_guard guard(mutex_);
    if (state_.rotation_checked(error))
        spdlog::warn("automatic key rotation: {} (the volume stays on its current key version)", error);
}

format::VolumeHeader Custodian::rotate_key(const store::RotationRequest &request) {
    std::lock_guard key_guard(key_mutex_);
    {
        std::lock_guard guard(mutex_);
        if (state_.checks_suspended())
            throw LockedError("the volume is under an emergency lock; `cmkfs unlock` it before rotating");
        // Locked by the provider's answer: report it as that answer (the CLI
        // exits 6 for a revoked key, 7 for an unreachable provider).
        if (state_.locked())
            throw keys::ProviderError(state_.in_outage() ? keys::ProviderStatus::unavailable
                                                         : keys::ProviderStatus::denied,
                                      "the volume is locked (" + state_.status().reason +
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
        refresh_identity();
        return after;
    } catch (...) {
        // Failed after the rename: the header names the new key, so checks must use its provider.
        if (volume_.header().wrapped_key != before.wrapped_key) provider_ = std::move(provider);
        refresh_identity();
        throw;
    }
}

}  // namespace cmkfs::custody
