#include "cli/encryption_status.h"

#include <algorithm>
#include <sstream>
#include <string_view>

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
        {"providerOptions", h.provider_options},
        {"volumeId", h.volume_id},
        {"formatVersion", h.format_version},
        {"cipherSuite", h.cipher_suite},
        {"plaintextNames", h.plaintext_names},
        {"sharedStorage", h.shared_storage},
        {"created", h.created},
    };
    if (live != nullptr) {
        nlohmann::json s = {{"state", live->state}};
        if (!live->reason.empty()) s["reason"] = live->reason;
        if (!live->since.empty()) s["since"] = live->since;
        if (!live->last_check.empty()) s["lastCheck"] = live->last_check;
        if (!live->last_success.empty()) s["lastSuccess"] = live->last_success;
        if (!live->last_result.empty()) s["lastResult"] = live->last_result;
        if (!live->next_check.empty()) s["nextCheck"] = live->next_check;
        if (!live->last_rotation_check.empty()) s["lastRotationCheck"] = live->last_rotation_check;
        if (!live->rotation_error.empty()) s["rotationError"] = live->rotation_error;
        j["keyState"] = s;
    }
    return j;
}

namespace {

struct Row {
    const char *label;
    const char *pointer;  // JSON pointer into the status document
};

// In the order a person reads them: what protects the store, then its live state.
constexpr Row kRows[] = {
    {"Status", "/status"},
    {"Key identifier", "/keyVaultProperties/keyIdentifier"},
    {"Versioned key identifier", "/keyVaultProperties/versionedKeyIdentifier"},
    {"Identity", "/keyVaultProperties/identity"},
    {"Key rotation enabled", "/keyVaultProperties/keyRotationEnabled"},
    {"Last key rotation", "/keyVaultProperties/lastKeyRotationTimestamp"},
    {"Provider", "/provider"},
    {"Provider options", "/providerOptions"},
    {"Volume id", "/volumeId"},
    {"Format version", "/formatVersion"},
    {"Cipher suite", "/cipherSuite"},
    {"Plaintext names", "/plaintextNames"},
    {"Shared storage", "/sharedStorage"},
    {"Created", "/created"},
    {"Mountpoint", "/mountpoint"},
    {"Key state", "/keyState/state"},
    {"Reason", "/keyState/reason"},
    {"Since", "/keyState/since"},
    {"Last check", "/keyState/lastCheck"},
    {"Last success", "/keyState/lastSuccess"},
    {"Last result", "/keyState/lastResult"},
    {"Next check", "/keyState/nextCheck"},
    {"Last rotation check", "/keyState/lastRotationCheck"},
    {"Rotation error", "/keyState/rotationError"},
};

std::string text_of(const nlohmann::json &v) {
    if (v.is_null()) return "never";
    if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
    if (v.is_object()) {  // provider options: k=v, …
        std::string text;
        for (const auto &[k, item] : v.items()) text += (text.empty() ? "" : ", ") + k + "=" + text_of(item);
        return text.empty() ? "none" : text;
    }
    return v.is_string() ? v.get<std::string>() : v.dump();
}

}  // namespace

std::string encryption_status_table(const nlohmann::json &status) {
    size_t width = 0;
    for (const auto &row : kRows) width = std::max(width, std::string_view(row.label).size());
    std::ostringstream out;
    for (const auto &row : kRows) {
        const nlohmann::json::json_pointer ptr(row.pointer);
        if (!status.contains(ptr)) continue;
        out << row.label << std::string(width + 2 - std::string_view(row.label).size(), ' ')
            << text_of(status.at(ptr)) << "\n";
    }
    return out.str();
}

}  // namespace cmkfs::cli
