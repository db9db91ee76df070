// Key custody of a mounted volume, in one place: keeps the volume's key state
// true to the provider (custody/key_state.h is the state machine and the one
// truth of "locked"), carries out its transitions on the store::Keyring (the
// mechanism that blocks operations and wipes keys) in the lock sequence
// documented in custody/observer.h, and owns the store's key settings while
// mounted: the operator's online rotation and the automatic one that follows
// a version-less key id to its newest version, both audited
// (custody/audited_rotation.h).
//
// Unlocked: the wrapped volume key is unwrapped again every check interval
// (store::Volume::unlock also checks the key commitment of this host's
// binding); a revocation locks at once, an outage only after the grace
// period. Locked: retries with backoff and unlocks by itself when the provider
// unwraps the same key. An emergency lock by the operator is lifted only by
// the operator. Time comes from an injected Clock, the provider is injected.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "custody/audit_log.h"
#include "custody/clock.h"
#include "custody/key_state.h"
#include "custody/observer.h"
#include "keys/key_provider.h"
#include "store/keyring.h"
#include "store/rotation.h"
#include "store/volume.h"

namespace cmkfs::custody {

struct CustodyOptions {
    Policy policy;
    // Re-read the volume header from disk before every check, so that a key
    // rotated by another host is picked up: on for format 3's shared_storage
    // (cli/cmd_mount.cpp). A changed header is accepted only when it unwraps
    // to the volume key the binding commits to and its MAC verifies; it is
    // then recorded in this host's binding (store::Volume::follow_header).
    // Off: the header in memory is the truth.
    bool reread_header_each_check = false;
};

class Custodian {
public:
    Custodian(store::Volume &volume, std::shared_ptr<keys::KeyProvider> provider, store::Keyring &keyring,
              CustodyOptions options, AuditLog &audit, Clock &clock = system_clock());
    ~Custodian();
    Custodian(const Custodian &) = delete;
    Custodian &operator=(const Custodian &) = delete;

    // Registers an observer; called in registration order. Before
    // unlock_at_mount; the observer must outlive the custodian's use.
    void add_observer(Observer &observer) { observers_.push_back(&observer); }
    // Wraps a provider that an operator's rotation loads (to another
    // provider), as the mount's own was wrapped (timing); set before start.
    using ProviderDecorator = std::function<std::shared_ptr<keys::KeyProvider>(std::shared_ptr<keys::KeyProvider>)>;
    void set_provider_decorator(ProviderDecorator decorate) { decorate_ = std::move(decorate); }

    // First unlock at mount. When the key is not accessible: rethrows the
    // provider's error, or with wait_for_key stays locked (the checks go on)
    // and returns false. IntegrityError (a key that is not this volume's)
    // always propagates.
    bool unlock_at_mount(bool wait_for_key);

    // The periodic checks on a thread of their own, on the injected clock.
    void start();
    void stop();

    // One key check now, as the thread does when it wakes.
    void check(UnlockReason unlock_reason = UnlockReason::recovered);

    Status status() const;
    // The header this daemon serves with (after its own rotations and, in
    // shared storage, other hosts' accepted ones): what `encryption show
    // MOUNTPOINT` reports, never the backing's untrusted header. A copy taken
    // when it last changed, so it never waits for a rotation's provider call.
    format::VolumeHeader header() const;
    bool locked() const;
    // Operator's emergency lock: holds until unlock_by_operator().
    void emergency_lock();
    // Lifts an emergency lock and re-checks the key; returns the status.
    Status unlock_by_operator();

    // The operator's rotation: re-wraps the unlocked volume key under the
    // requested key (and provider), replaces the header, and from then on
    // checks that key. Throws LockedError under an emergency lock, the
    // provider's error class while locked by it, or the rotation's error
    // (the store then still opens with the key the header names).
    format::VolumeHeader rotate_key(const store::RotationRequest &request);

private:
    struct Unwrapped {
        CheckResult result = CheckResult::unavailable;
        std::string detail;
        std::optional<format::VolumeKeys> keys;
    };
    Unwrapped unwrap();
    // Carries out a transition; called with transition_mutex_ held.
    void apply(const Transition &t, std::optional<format::VolumeKeys> keys, const std::string &key_id);
    void run_lock_sequence(const Transition &t);
    void notify_state();
    // Re-wraps under the newest version when the key id is version-less and
    // the provider reports a newer one. Called with key_mutex_ held.
    void follow_latest_version(const format::VolumeKeys &keys);
    // reread_header_each_check: takes up (or refuses, audited) a header
    // another host rotated. Called with key_mutex_ held.
    void follow_other_hosts();
    // Copies the key settings in effect for readers that must not wait for
    // key_mutex_ (a rotation holds it across provider calls). Call with
    // key_mutex_ held, after the header or the provider changed.
    void refresh_identity();
    void run();

    store::Volume &volume_;
    // key_mutex_ serializes everything that reads or replaces the volume
    // header or the provider: key checks and rotations. Lock order:
    // key_mutex_, then transition_mutex_, then mutex_.
    std::mutex key_mutex_;
    std::shared_ptr<keys::KeyProvider> provider_;
    store::Keyring &keyring_;
    CustodyOptions options_;
    AuditLog &audit_;
    Clock &clock_;
    std::vector<Observer *> observers_;
    ProviderDecorator decorate_;

    // One transition (its keyring effect and its observers) at a time,
    // without holding mutex_, so status() never waits for a lock sequence.
    std::mutex transition_mutex_;
    mutable std::mutex mutex_;  // state_ and the thread's flags
    KeyState state_;
    KeyIdentity identity_;          // the key checked now (observers' key_state)
    std::string versioned_key_id_;  // the header's, for the audit trail
    format::VolumeHeader served_header_;  // header(): the header in effect
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace cmkfs::custody
