// The live key state as it travels over the control socket, and back into
// the KeyState the encryption status document shows.
#pragma once

#include <nlohmann/json.hpp>

#include "cli/encryption_status.h"
#include "custody/custodian.h"

namespace cmkfs::cli {

nlohmann::json monitor_status_json(const custody::Status &status);
KeyState key_state_from_json(const nlohmann::json &status);

}  // namespace cmkfs::cli
