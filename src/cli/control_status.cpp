#include "cli/control_status.h"

#include "format/volume_header.h"

namespace cmkfs::cli {

using format::rfc3339;

nlohmann::json monitor_status_json(const custody::Status &s) {
    nlohmann::json j = {
        {"state", s.locked ? "locked" : "unlocked"},
        {"emergencyLock", s.emergency},
        {"since", rfc3339(s.since)},
        {"nextCheck", rfc3339(s.next_check)},
        {"lastResult", s.last_result},
    };
    if (s.locked) j["reason"] = s.reason;
    if (s.last_check) j["lastCheck"] = rfc3339(*s.last_check);
    if (s.last_success) j["lastSuccess"] = rfc3339(*s.last_success);
    if (s.last_rotation_check) j["lastRotationCheck"] = rfc3339(*s.last_rotation_check);
    if (!s.rotation_error.empty()) j["rotationError"] = s.rotation_error;
    return j;
}

KeyState key_state_from_json(const nlohmann::json &j) {
    KeyState k;
    k.state = j.value("state", "");
    k.reason = j.value("reason", "");
    k.since = j.value("since", "");
    k.last_check = j.value("lastCheck", "");
    k.last_success = j.value("lastSuccess", "");
    k.last_result = j.value("lastResult", "");
    k.next_check = j.value("nextCheck", "");
    k.last_rotation_check = j.value("lastRotationCheck", "");
    k.rotation_error = j.value("rotationError", "");
    return k;
}

}  // namespace cmkfs::cli
