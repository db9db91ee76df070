// `rotate-key` over a mount's control socket: the request as it travels from
// the CLI to the daemon, and the daemon's side of it.
#pragma once

#include <nlohmann/json.hpp>

#include "custody/custodian.h"
#include "store/rotation.h"

namespace cmkfs::cli {

nlohmann::json rotation_request_json(const store::RotationRequest &request);

// The daemon's handler for {"op": "rotate-key", ...}: rotates through the
// custodian and replies {"ok": true, "encryption": …} or {"ok": false,
// "error": …, "exitCode": …} with the exit code the CLI should end with.
nlohmann::json handle_rotate_request(const nlohmann::json &request, custody::Custodian &custodian);

}  // namespace cmkfs::cli
