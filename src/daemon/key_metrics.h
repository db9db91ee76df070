// The key monitor's events as metrics (docs/metrics.md): key state, checks by
// result, lock and unlock transitions by reason, provider call latency.
#pragma once

#include <mutex>
#include <optional>

#include "daemon/key_observer.h"
#include "keys/timed_provider.h"
#include "metrics/registry.h"

namespace cmkfs::daemon {

class KeyMetrics : public KeyObserver {
public:
    explicit KeyMetrics(metrics::Registry &registry = metrics::registry());

    void key_checked(CheckResult result) override;
    void key_locked(LockReason reason) override;
    void key_unlocked(UnlockReason reason) override;
    void key_state(bool unlocked, const KeyIdentity &key) override;

    // Sets the state gauge's value from the keyring at scrape time (an
    // on_collect hook): events from two threads may arrive out of order, the
    // keyring's state cannot.
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
