#include "custody/key_state.h"

#include <algorithm>

namespace cmkfs::custody {

namespace {
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

const char *to_string(Phase p) {
    switch (p) {
    case Phase::unlocked: return "unlocked";
    case Phase::unavailable_in_grace: return "unavailable-in-grace";
    case Phase::locked: return "locked";
    case Phase::emergency: return "emergency";
    }
    return "locked";
}

KeyState::KeyState(Policy policy, Clock &clock)
    : policy_(policy), clock_(clock), since_(clock.wall_now()), next_check_(clock.wall_now()) {}

Transition KeyState::lock(LockReason why, std::string reason) {
    Transition t;
    t.kind = locked() ? Transition::Kind::relock : Transition::Kind::lock;
    t.lock_reason = why;
    t.reason = reason;
    if (t.kind == Transition::Kind::lock) since_ = clock_.wall_now();
    if (phase_ != Phase::emergency) phase_ = why == LockReason::emergency ? Phase::emergency : Phase::locked;
    reason_ = std::move(reason);
    return t;
}

Transition KeyState::mounted(CheckResult result, const std::string &detail) {
    last_check_ = clock_.wall_now();
    last_result_ = detail;
    if (result != CheckResult::ok) {
        // Never unlocked: nothing to wipe, nobody to tell of a lock.
        reason_ = "waiting for key: " + detail;
        return {};
    }
    last_success_ = last_check_;
    phase_ = Phase::unlocked;
    reason_.clear();
    since_ = clock_.wall_now();
    Transition t;
    t.kind = Transition::Kind::unlock;
    t.unlock_reason = UnlockReason::mount;
    return t;
}

Transition KeyState::checked(CheckResult result, const std::string &detail, UnlockReason unlock_reason) {
    const auto now = clock_.now();
    last_check_ = clock_.wall_now();
    last_result_ = detail;
    switch (result) {
    case CheckResult::ok: {
        last_success_ = last_check_;
        unavailable_since_.reset();
        backoff_ = kFirstRetry;
        if (phase_ == Phase::unavailable_in_grace) phase_ = Phase::unlocked;
        if (phase_ != Phase::locked) return {};  // unlocked already, or under an emergency lock
        phase_ = Phase::unlocked;
        reason_.clear();
        since_ = clock_.wall_now();
        Transition t;
        t.kind = Transition::Kind::unlock;
        t.unlock_reason = unlock_reason;
        return t;
    }
    case CheckResult::unavailable: {
        Transition t;
        if (!unavailable_since_) {
            unavailable_since_ = now;
            t.outage_began = !locked();
        }
        if (locked()) return t;  // an outage neither unlocks nor changes the reason
        if (now - *unavailable_since_ >= policy_.unavailable_grace) {
            Transition locking = lock(LockReason::unavailable_grace,
                                      "provider unavailable for longer than the grace period: " + detail);
            locking.outage_began = t.outage_began;
            return locking;
        }
        phase_ = Phase::unavailable_in_grace;
        return t;
    }
    default:
        // A revocation, or a key that is not this volume's: at once, whatever
        // the outage before it.
        unavailable_since_.reset();
        return lock(lock_reason_for(result), detail);
    }
}

Transition KeyState::emergency_lock() {
    Transition t = lock(LockReason::emergency, "emergency lock by operator");
    phase_ = Phase::emergency;
    return t;
}

void KeyState::operator_unlock() {
    if (phase_ == Phase::emergency) phase_ = Phase::locked;
    backoff_ = kFirstRetry;
}

bool KeyState::rotation_checked(const std::string &error) {
    last_rotation_check_ = clock_.wall_now();
    const bool fresh = !error.empty() && error != rotation_error_;
    rotation_error_ = error;
    return fresh;
}

std::chrono::milliseconds KeyState::next_wait() {
    std::chrono::milliseconds wait = policy_.check_interval;
    if (locked() || unavailable_since_) {
        wait = std::min(backoff_, policy_.check_interval);
        backoff_ = std::min(backoff_ * 2, policy_.check_interval);
    }
    next_check_ = clock_.wall_now() + wait;
    return wait;
}

Status KeyState::status() const {
    Status s;
    s.phase = phase_;
    s.locked = locked();
    s.emergency = phase_ == Phase::emergency;
    s.reason = s.locked ? reason_ : "";
    s.since = since_;
    s.last_check = last_check_;
    s.last_success = last_success_;
    s.next_check = next_check_;
    s.last_result = last_result_;
    s.last_rotation_check = last_rotation_check_;
    s.rotation_error = rotation_error_;
    return s;
}

}  // namespace cmkfs::custody
