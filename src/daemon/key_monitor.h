// Keeps a mounted volume's key state true to the provider. Unlocked: the
// wrapped volume key is unwrapped again every check interval; a revocation
// (denied, disabled, not found) locks at once, an outage locks only after the
// grace period. Locked: retries with backoff (1 s doubling up to the check
// interval) and unlocks by itself when the provider unwraps the same key.
// An emergency lock by the operator is not lifted automatically.
//
// It also owns the store's key settings while mounted: an operator's rotation
// (rotate_key, over the control socket) re-wraps the in-memory volume key
// without pausing I/O, and a version-less key id is followed automatically:
// when a check finds a newer key version, the key is re-wrapped under it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "daemon/audit_log.h"
#include "daemon/key_observer.h"
#include "keys/key_provider.h"
#include "store/keyring.h"
#include "store/rotation.h"
#include "store/volume.h"

namespace cmkfs::daemon {

struct MonitorOptions {
    std::chrono::seconds check_interval{30};
    std::chrono::seconds unavailable_grace{300};
};

struct MonitorStatus {
    bool locked = true;
    bool emergency = false;
    std::string reason;
    std::chrono::system_clock::time_point since;
    std::optional<std::chrono::system_clock::time_point> last_check;
    std::optional<std::chrono::system_clock::time_point> last_success;
    std::chrono::system_clock::time_point next_check;
    std::string last_result;  // "ok", "denied: …", "unavailable: …"
    // Automatic rotation (version-less key id): the last time the provider was
    // asked for the newest version, and why that failed, if it did.
    std::optional<std::chrono::system_clock::time_point> last_rotation_check;
    std::string rotation_error;
};

class KeyMonitor {
public:
    KeyMonitor(store::Volume &volume, std::shared_ptr<keys::KeyProvider> provider, store::Keyring &keyring,
               MonitorOptions options, AuditLog &audit);
    ~KeyMonitor();
    KeyMonitor(const KeyMonitor &) = delete;
    KeyMonitor &operator=(const KeyMonitor &) = delete;

    // First unlock at mount. When the key is not accessible: rethrows the
    // provider's error, or with wait_for_key stays locked (the monitor keeps
    // trying) and returns false. IntegrityError (a key that is not this
    // volume's) always propagates.
    bool unlock_at_mount(bool wait_for_key);

    // Told of every check and transition (metrics); set before unlock_at_mount.
    void set_observer(KeyObserver *observer) { observer_ = observer; }
    // Wraps a provider that an operator's rotation loads (to another
    // provider), as the mount's own was wrapped (timing); set before start.
    using ProviderDecorator = std::function<std::shared_ptr<keys::KeyProvider>(std::shared_ptr<keys::KeyProvider>)>;
    void set_provider_decorator(ProviderDecorator decorate) { decorate_ = std::move(decorate); }

    void start();
    void stop();

    MonitorStatus status() const;
    // The header this daemon serves with (after its own and, in shared
    // storage, other hosts' accepted rotations): a copy, under key_mutex_.
    format::VolumeHeader header();
    // Operator's emergency lock: holds until unlock_by_operator().
    void emergency_lock();
    // Clears an emergency lock after re-checking the key; returns the status.
    MonitorStatus unlock_by_operator();

    // The operator's rotation: re-wraps the unlocked volume key under the
    // requested key (and provider), replaces the header, and from then on
    // checks that key. Throws LockedError while locked, or the rotation's
    // error (the store then still opens with the key the header names).
    format::VolumeHeader rotate_key(const store::RotationRequest &request);

private:
    enum class Outcome { unlocked, revoked, unavailable };
    Outcome try_unwrap(std::string &detail, std::optional<format::VolumeKeys> &keys, CheckResult &result);
    bool first_unlock(bool wait_for_key, CheckResult &result);
    // Called with key_mutex_ held.
    void follow_other_hosts();
    void check_once(UnlockReason unlock_reason = UnlockReason::recovered);
    void run();
    void lock(const std::string &reason, LockReason why);
    // Tells the observer the state now. Takes key_mutex_: call with no lock held.
    void notify_state();
    // Re-wraps under the newest version when the key id is version-less and
    // the provider reports a newer one. Called with key_mutex_ held.
    void follow_latest_version(const format::VolumeKeys &keys);
    std::string current_key_id();

    store::Volume &volume_;
    // key_mutex_ serializes everything that reads or replaces the volume
    // header or the provider: key checks and rotations. Lock order: key_mutex_
    // before mutex_, never the other way round.
    std::mutex key_mutex_;
    std::shared_ptr<keys::KeyProvider> provider_;
    store::Keyring &keyring_;
    MonitorOptions options_;
    AuditLog &audit_;

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    bool emergency_ = false;
    std::chrono::seconds backoff_{1};
    std::optional<std::chrono::steady_clock::time_point> unavailable_since_;
    std::optional<std::chrono::system_clock::time_point> last_check_;
    std::optional<std::chrono::system_clock::time_point> last_success_;
    std::chrono::system_clock::time_point next_check_;
    std::string last_result_;
    std::optional<std::chrono::system_clock::time_point> last_rotation_check_;
    std::string rotation_error_;
    std::thread thread_;
    KeyObserver *observer_ = nullptr;
    ProviderDecorator decorate_;
};

}  // namespace cmkfs::daemon
