// The one state machine of a mounted volume's key, and the one place that
// says whether the volume is locked. Pure: no provider, no keyring, no
// thread; the Custodian (custody/custodian.h) feeds it the result of each key
// check and carries out the Transition it returns (wiping or installing keys
// in the store::Keyring, the mechanism, and telling the observers).
//
//   unlocked ──revoked (denied/disabled/not found/wrong key)──▶ locked(reason)
//   unlocked ──unavailable──▶ unavailable-in-grace (still unlocked)
//   unavailable-in-grace ──ok──▶ unlocked
//   unavailable-in-grace ──revoked, or unavailable past the grace──▶ locked
//   locked ──ok (the same key: the commitment is checked)──▶ unlocked
//   any ──operator's emergency lock──▶ emergency (no checks; never lifted by one)
//   emergency ──operator's unlock──▶ locked, then checked at once
//
// While locked or in an outage, checks are retried with backoff: 1 s,
// doubling, up to the check interval. A success resets the backoff.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "custody/clock.h"
#include "custody/observer.h"

namespace cmkfs::custody {

struct Policy {
    std::chrono::milliseconds check_interval{std::chrono::seconds{30}};
    std::chrono::milliseconds unavailable_grace{std::chrono::seconds{300}};
};

// The first retry after a failed check; doubles up to the check interval.
inline constexpr std::chrono::milliseconds kFirstRetry{std::chrono::seconds{1}};

enum class Phase { unlocked, unavailable_in_grace, locked, emergency };
const char *to_string(Phase p);

struct Status {
    Phase phase = Phase::locked;
    bool locked = true;  // locked or emergency: the keys are wiped
    bool emergency = false;
    std::string reason;  // why it is locked; empty while unlocked
    std::chrono::system_clock::time_point since;  // of the last lock or unlock
    std::optional<std::chrono::system_clock::time_point> last_check;
    std::optional<std::chrono::system_clock::time_point> last_success;
    std::chrono::system_clock::time_point next_check;
    std::string last_result;  // "ok", "denied: …", "unavailable: …"
    // Automatic rotation (version-less key id): the last time the provider was
    // asked for the newest version, and why that failed, if it did.
    std::optional<std::chrono::system_clock::time_point> last_rotation_check;
    std::string rotation_error;
};

// What the custodian must do after an event.
struct Transition {
    enum class Kind {
        none,    // nothing changes for the keyring or the observers
        lock,    // unlocked -> locked: run the lock sequence (custody/observer.h)
        relock,  // already locked: only the reason changed
        unlock,  // locked -> unlocked: install the keys just unwrapped
    };
    Kind kind = Kind::none;
    LockReason lock_reason = LockReason::denied;
    UnlockReason unlock_reason = UnlockReason::recovered;
    std::string reason;         // lock, relock: the reason the status shows
    bool outage_began = false;  // an outage began while unlocked (audited)
};

class KeyState {
public:
    KeyState(Policy policy, Clock &clock);

    // The first unwrap at mount: unlocks (reason mount), or, for a mount that
    // waits for its key, stays locked with "waiting for key: <detail>".
    Transition mounted(CheckResult result, const std::string &detail);
    // A periodic (or operator-requested) check's result. `detail` is "ok" or
    // "<class>: <provider's message>".
    Transition checked(CheckResult result, const std::string &detail, UnlockReason unlock_reason);
    Transition emergency_lock();
    // Lifts the emergency (not the lock: the next check decides that).
    void operator_unlock();
    // The automatic-rotation check ran; empty error: it succeeded. Returns
    // true when the error is new (worth a warning).
    bool rotation_checked(const std::string &error);

    // How long until the next check, and records when that is. Each call
    // while locked or in an outage doubles the backoff.
    std::chrono::milliseconds next_wait();

    Phase phase() const { return phase_; }
    bool locked() const { return phase_ == Phase::locked || phase_ == Phase::emergency; }
    // Periodic checks are suspended under an emergency lock.
    bool checks_suspended() const { return phase_ == Phase::emergency; }
    // Since when the provider has been unreachable, if it is now.
    bool in_outage() const { return unavailable_since_.has_value(); }
    Status status() const;

private:
    Transition lock(LockReason why, std::string reason);

    Policy policy_;
    Clock &clock_;
    Phase phase_ = Phase::locked;
    std::string reason_ = "not unlocked yet";
    std::chrono::system_clock::time_point since_;
    std::optional<Clock::time_point> unavailable_since_;
    std::chrono::milliseconds backoff_ = kFirstRetry;
    std::optional<std::chrono::system_clock::time_point> last_check_;
    std::optional<std::chrono::system_clock::time_point> last_success_;
    std::chrono::system_clock::time_point next_check_;
    std::string last_result_;
    std::optional<std::chrono::system_clock::time_point> last_rotation_check_;
    std::string rotation_error_;
};

}  // namespace cmkfs::custody
