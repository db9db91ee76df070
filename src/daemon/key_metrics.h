// Key custody's events as metrics (docs/metrics.md): key state, checks by
// result, lock and unlock transitions by reason, provider call latency. A
// custody::Observer, registered by cli/cmd_mount.cpp after the cache
// invalidator, so a lock is counted once the caches are gone.
#pragma once

#include <mutex>
#include <optional>

#include "custody/observer.h"
#include "keys/timed_provider.h"
#include "metrics/registry.h"

namespace cmkfs::daemon {

using custody::CheckResult;
using custody::KeyIdentity;
using custody::LockReason;
using custody::UnlockReason;

class KeyMetrics : public custody::Observer {
public:
    explicit KeyMetrics(metrics::Registry &registry = metrics::registry());

    void key_checked(CheckResult result) override;
    void key_locked(LockReason reason) override;
    void key_unlocked(UnlockReason reason) override;
    void key_state(bool unlocked, const KeyIdentity &key) override;

    // Sets the state gauge's value from the custodian's state at scrape time
    // (an on_collect hook): events from two threads may arrive out of order,
    // the state cannot.
    void refresh_state(bool unlocked);

    // For keys::TimedProvider: records a provider call's latency.
    keys::ProviderCallObserver provider_call_observer();

private:
    metrics::Family<metrics::Gauge> &state_;
    metrics::Family<metrics::Counter> &checks_;
    metrics::Family<metrics::Counter> &locks_;
    metrics::Family<metrics::Counter> &unlocks_;
    metrics::Family<metrics::Histogram> &provider_calls_;
    metrics::Family<metrics::Counter> &provider_errors_;

    std::mutex state_mutex_;
    std::optional<KeyIdentity> labelled_;  // the key the state gauge's one series names
};

}  // namespace cmkfs::daemon
