#include "custody/observer.h"

namespace cmkfs::custody {

const char *to_string(CheckResult r) {
    switch (r) {
    case CheckResult::ok: return "ok";
    case CheckResult::denied: return "denied";
    case CheckResult::disabled: return "disabled";
    case CheckResult::not_found: return "not_found";
    case CheckResult::unavailable: return "unavailable";
    case CheckResult::integrity: return "integrity";
    }
    return "unavailable";
}

const char *to_string(LockReason r) {
    switch (r) {
    case LockReason::denied: return "denied";
    case LockReason::disabled: return "disabled";
    case LockReason::not_found: return "not_found";
    case LockReason::unavailable_grace: return "unavailable_grace";
    case LockReason::emergency: return "emergency";
    case LockReason::integrity: return "integrity";
    }
    return "unavailable_grace";
}

const char *to_string(UnlockReason r) {
    switch (r) {
    case UnlockReason::mount: return "mount";
    case UnlockReason::recovered: return "recovered";
    case UnlockReason::operator_unlock: return "operator";
    }
    return "recovered";
}

}  // namespace cmkfs::custody
