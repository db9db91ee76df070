#include "cli/encryption_status.h"

#include <sstream>

namespace cmkfs::cli {

nlohmann::json encryption_status_json(const format::VolumeHeader &h, const KeyState *live) {
    nlohmann::json j = {
        {"status", "enabled"},
        {"keyVaultProperties",
         {
             {"keyIdentifier", h.key_id},
             {"versionedKeyIdentifier", h.versioned_key_id},
             {"identity", h.identity},
             {"keyRotationEnabled", h.key_rotation_enabled()},
             {"lastKeyRotationTimestamp", h.last_rotation.empty() ? nlohmann::json(nullptr) : nlohmann::json(h.last_rotation)},
         }},
        {"provider", h.provider},
        {"volumeId", h.volume_id},
        {"formatVersion", h.format_version},
        {"cipherSuite", h.cipher_suite},
        {"plaintextNames", h.plaintext_names},
        {"created", h.created},
    };
    if (live != nullptr) {
        nlohmann::json s = {{"state", live->state}};
        if (!live->reason.empty()) s["reason"] = live->reason;
        if (!live->since.empty()) s["since"] = live->since;
        if (!live->last_check.empty()) s["lastCheck"] = live->last_check;
        if (!live->last_success.empty()) s["lastSuccess"] = live->last_success;
        if (!live->next_check.empty()) s["nextCheck"] = live->next_check;
        j["keyState"] = s;
    }
    return j;
}

namespace {
void flatten(const nlohmann::json &j, const std::string &prefix, std::ostringstream &out) {
    for (const auto &[key, value] : j.items()) {
        const std::string name = prefix.empty() ? key : prefix + "." + key;
        if (value.is_object()) {
            flatten(value, name, out);
            continue;
        }
        std::string text = value.is_string() ? value.get<std::string>() : value.dump();
        out << name << std::string(name.size() < 40 ? 40 - name.size() : 1, ' ') << text << "\n";
    }
}
}  // namespace

std::string encryption_status_table(const nlohmann::json &status) {
    std::ostringstream out;
    flatten(status, "", out);
    return out.str();
}

}  // namespace cmkfs::cli
