#include "cli/control_rotation.h"

#include "cli/encryption_status.h"
#include "cli/error_report.h"
#include "util/errors.h"

namespace cmkfs::cli {

nlohmann::json rotation_request_json(const store::RotationRequest &request) {
    nlohmann::json j = {{"op", "rotate-key"}, {"keyId", request.key_id}};
    if (request.identity) j["identity"] = *request.identity;
    if (request.provider) j["provider"] = *request.provider;
    if (request.provider_options) j["providerOptions"] = *request.provider_options;
    return j;
}

namespace {

store::RotationRequest rotation_request_from_json(const nlohmann::json &j) {
    store::RotationRequest r;
    try {
        r.key_id = j.at("keyId").get<std::string>();
        if (j.contains("identity")) r.identity = j.at("identity").get<std::string>();
        if (j.contains("provider")) r.provider = j.at("provider").get<std::string>();
        if (j.contains("providerOptions"))
            r.provider_options = j.at("providerOptions").get<std::map<std::string, std::string>>();
    } catch (const nlohmann::json::exception &e) {
        throw UsageError(std::string("malformed rotate-key request: ") + e.what());
    }
    return r;
}

}  // namespace

nlohmann::json handle_rotate_request(const nlohmann::json &request, daemon::KeyMonitor &monitor) {
    try {
        const format::VolumeHeader after = monitor.rotate_key(rotation_request_from_json(request));
        return {{"ok", true}, {"encryption", encryption_status_json(after, nullptr)}};
    } catch (...) {
        std::string message;
        const int code = exit_code_for_current_exception(message);
        return {{"ok", false}, {"error", message}, {"exitCode", code}};
    }
}

}  // namespace cmkfs::cli
