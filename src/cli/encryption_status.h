// The encryption status document shown by `cmkfs encryption show` and
// printed by `cmkfs init`, shaped like Azure's `az acr encryption show`.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "format/volume_header.h"

namespace cmkfs::cli {

// The live key state, from a mount's control socket or a direct check.
struct KeyState {
    std::string state;   // "unlocked", "locked", "accessible", "denied", ...
    std::string reason;  // empty when fine
    std::string since;
    std::string last_check;
    std::string last_success;
    std::string last_result;  // outcome of the last check, e.g. why it failed during a grace period
    std::string next_check;
    std::string last_rotation_check;  // automatic rotation: last look for a new version
    std::string rotation_error;       // why that look or the re-wrap failed
};

nlohmann::json encryption_status_json(const format::VolumeHeader &header, const KeyState *live);
// Two-column human view of the same document (`--output table`).
std::string encryption_status_table(const nlohmann::json &status);

// What `cmkfs encryption show TARGET` prints: for a cmkfs mountpoint the
// daemon's live key state, for a backing directory a check with the provider
// now. Throws like the command (CommandError, ProviderError, ...).
nlohmann::json encryption_status_of(const std::string &target, const config::Config &cfg);

}  // namespace cmkfs::cli
