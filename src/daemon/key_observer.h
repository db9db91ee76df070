// What the key monitor tells the rest of the daemon: each key check's result
// and each lock/unlock transition, each in a small fixed set of classes (never
// free text: these become metric labels). The metrics adapter
// (daemon/key_metrics.h) is one observer; the monitor knows no more than this.
#pragma once

#include <string>

namespace cmkfs::daemon {

enum class CheckResult { ok, denied, disabled, not_found, unavailable, integrity };
enum class LockReason { denied, disabled, not_found, unavailable_grace, emergency, integrity };
enum class UnlockReason { mount, recovered, operator_unlock };

const char *to_string(CheckResult r);
const char *to_string(LockReason r);
const char *to_string(UnlockReason r);

// The key the volume is checked against now: the header's key id (as the
// user gave it, version-less or not) and the provider's own name.
struct KeyIdentity {
    std::string key_id;
    std::string provider;
};

// Called on the monitor's thread or the control socket's, never with the
// monitor's locks held; implementations must be thread-safe and quick.
class KeyObserver {
public:
    virtual ~KeyObserver() = default;
    virtual void key_checked(CheckResult result) = 0;
    virtual void key_locked(LockReason reason) = 0;
    virtual void key_unlocked(UnlockReason reason) = 0;
    // The state after every check or transition.
    virtual void key_state(bool unlocked, const KeyIdentity &key) = 0;
};

}  // namespace cmkfs::daemon
