#include "cli/control_rotation.h"

#include "cli/encryption_status.h"
#include "cli/error_report.h"
#include "daemon/control_protocol.h"
#include "util/errors.h"

namespace cmkfs::cli {

nlohmann::json rotation_request_json(const store::RotationRequest &request) {
    nlohmann::json j = {{"op", "rotate-key"}, {"keyId", request.key_id}};
    if (request.identity) j["identity"] = *request.identity;
    if (request.provider) j["provider"] = *request.provider;
    if (request.provider_options) j["providerOptions"] = *request.provider_options;
    return j;
}

nlohmann::json handle_rotate_request(const nlohmann::json &request, custody::Custodian &custodian) {
    try {
        const format::VolumeHeader after = custodian.rotate_key(daemon::parse_rotation_request(request));
        return {{"ok", true}, {"encryption", encryption_status_json(after, nullptr)}};
    } catch (...) {
        std::string message;
        const int code = exit_code_for_current_exception(message);
        return {{"ok", false}, {"error", message}, {"exitCode", code}};
    }
}

}  // namespace cmkfs::cli
