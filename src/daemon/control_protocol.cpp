#include "daemon/control_protocol.h"

#include "util/errors.h"

namespace cmkfs::daemon {

std::string_view first_line(std::string_view received) { return received.substr(0, received.find('\n')); }

nlohmann::json parse_control_request(std::string_view line) { return nlohmann::json::parse(line); }

std::string control_op(const nlohmann::json &request) { return request.value("op", ""); }

std::string reply_line(const nlohmann::json &reply) {
    return reply.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

store::RotationRequest parse_rotation_request(const nlohmann::json &request) {
    store::RotationRequest r;
    try {
        r.key_id = request.at("keyId").get<std::string>();
        if (request.contains("identity")) r.identity = request.at("identity").get<std::string>();
        if (request.contains("provider")) r.provider = request.at("provider").get<std::string>();
        if (request.contains("providerOptions"))
            r.provider_options = request.at("providerOptions").get<std::map<std::string, std::string>>();
    } catch (const nlohmann::json::exception &e) {
        throw UsageError(std::string("malformed rotate-key request: ") + e.what());
    }
    return r;
}

}  // namespace cmkfs::daemon
