// Who must react when the volume locks or unlocks registers a custody
// Observer with the Custodian (custody/custodian.h); cli/cmd_mount.cpp does it
// for the writeback drain (fs/writeback_drain.h), the kernel-cache
// invalidator (fs/cache_invalidator.h) and the metrics (daemon/key_metrics.h).
// Events come in a small fixed set of classes, never free text: they become
// metric labels.
//
// The lock sequence, in this order, on the thread that locks:
//   1. key_checked(result)            when a key check caused the lock
//   2. before_wipe(reason)            every observer, in registration order.
//      The keys are still installed and operations still run: the home of
//      anything that needs the key one last time (e.g. flushing dirty pages
//      of a writeback cache: fs/writeback_drain.h, which first lets only the
//      kernel's WRITEs through, Keyring::refuse_all_but_writeback). Whatever
//      is slow here delays the lock.
//   3. the Keyring refuses new operations, waits for those in flight and
//      wipes every key (store/keyring.h); the audit line "lock" is written.
//   4. key_locked(reason)             every observer, in registration order.
//      The keys are gone, so nothing can put plaintext back into a cache
//      emptied here: the kernel caches are invalidated in this phase (doing
//      it in phase 2 would let an operation in flight refill them).
//   5. key_state(false, key)
// An unlock: the keys are installed, then key_unlocked(reason), then
// key_state(true, key). A check that changes nothing: key_checked, key_state.
//
// Observers are called with the custodian's transition lock held (one
// transition at a time) but not its state lock: they may read
// Custodian::status(), never lock or unlock. They must be thread-safe.
#pragma once

#include <string>

namespace cmkfs::custody {

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

class Observer {
public:
    virtual ~Observer() = default;
    virtual void key_checked(CheckResult) {}
    virtual void before_wipe(LockReason) {}
    virtual void key_locked(LockReason) {}
    virtual void key_unlocked(UnlockReason) {}
    // The state after every check or transition.
    virtual void key_state(bool /*unlocked*/, const KeyIdentity & /*key*/) {}
};

}  // namespace cmkfs::custody
