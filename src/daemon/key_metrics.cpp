#include "daemon/key_metrics.h"

namespace cmkfs::daemon {

using custody::to_string;

KeyMetrics::KeyMetrics(metrics::Registry &registry)
    : state_(registry.gauge_family("cmkfs_key_unlocked",
                                   "1 while the volume key is unlocked, 0 while the volume is locked.",
                                   {"key_id", "provider"})),
      checks_(registry.counter_family("cmkfs_key_checks_total",
                                      "Key checks with the provider (an unwrap of the volume key), by result.",
                                      {"result"})),
      locks_(registry.counter_family("cmkfs_key_locks_total",
                                     "Transitions from unlocked to locked, by reason class.", {"reason"})),
      unlocks_(registry.counter_family("cmkfs_key_unlocks_total",
                                       "Transitions from locked to unlocked, by reason class.", {"reason"})),
      provider_calls_(registry.histogram_family("cmkfs_provider_call_duration_seconds",
                                                "Duration of calls to the key provider, by operation.",
                                                {"operation"})),
      provider_errors_(registry.counter_family("cmkfs_provider_call_errors_total",
                                               "Calls to the key provider that failed, by operation.",
                                               {"operation"})) {
    // Every series of a bounded label set exists from the start, at 0, so that
    // rate() and increase() see the first event.
    for (auto r : {CheckResult::ok, CheckResult::denied, CheckResult::disabled, CheckResult::not_found,
                   CheckResult::unavailable, CheckResult::integrity})
        checks_.with({to_string(r)});
    for (auto r : {LockReason::denied, LockReason::disabled, LockReason::not_found, LockReason::unavailable_grace,
                   LockReason::emergency, LockReason::integrity})
        locks_.with({to_string(r)});
    for (auto r : {UnlockReason::mount, UnlockReason::recovered, UnlockReason::operator_unlock})
        unlocks_.with({to_string(r)});
    for (auto c : {keys::ProviderCall::wrap, keys::ProviderCall::unwrap, keys::ProviderCall::check}) {
        provider_calls_.with({keys::to_string(c)});
        provider_errors_.with({keys::to_string(c)});
    }
}

void KeyMetrics::key_checked(CheckResult result) { checks_.with({to_string(result)}).inc(); }

void KeyMetrics::key_locked(LockReason reason) { locks_.with({to_string(reason)}).inc(); }

void KeyMetrics::key_unlocked(UnlockReason reason) { unlocks_.with({to_string(reason)}).inc(); }

void KeyMetrics::key_state(bool unlocked, const KeyIdentity &key) {
    std::lock_guard guard(state_mutex_);
    // One series: after a rotation to another key id the old one disappears.
    if (labelled_ && (labelled_->key_id != key.key_id || labelled_->provider != key.provider))
        state_.remove({labelled_->key_id, labelled_->provider});
    labelled_ = key;
    state_.with({key.key_id, key.provider}).set(unlocked ? 1 : 0);
}

void KeyMetrics::refresh_state(bool unlocked) {
    std::lock_guard guard(state_mutex_);
    if (labelled_) state_.with({labelled_->key_id, labelled_->provider}).set(unlocked ? 1 : 0);
}

keys::ProviderCallObserver KeyMetrics::provider_call_observer() {
    return [this](keys::ProviderCall call, std::chrono::nanoseconds took, bool ok) {
        provider_calls_.with({keys::to_string(call)}).observe(took);
        if (!ok) provider_errors_.with({keys::to_string(call)}).inc();
    };
}

}  // namespace cmkfs::daemon
