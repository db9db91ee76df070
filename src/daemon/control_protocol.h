// What travels over a mount's control socket, as pure functions over bytes:
// the request line a client sent, its operation, and the rotate-key fields.
// Split from the socket code so that it can be fuzzed without a socket
// (fuzz/control_request.cpp); the socket is root-only, but the daemon must
// survive whatever a buggy client writes.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "store/rotation.h"

namespace cmkfs::daemon {

// The part of what was read before the first newline (all of it when there
// is none): one request per connection.
std::string_view first_line(std::string_view received);

// The request as JSON. Throws nlohmann::json::exception when it is not JSON.
nlohmann::json parse_control_request(std::string_view line);

// The "op" member, "" when there is none. Throws nlohmann::json::exception
// when the request is not an object or "op" is not a string.
std::string control_op(const nlohmann::json &request);

// The reply as the line to send. Bytes that are not UTF-8 (a parse error
// quotes what the client sent) are replaced, so that every request gets a
// reply; a strict dump threw and the client saw the connection closed.
std::string reply_line(const nlohmann::json &reply);

// The fields of {"op": "rotate-key", "keyId": …, "identity": …, "provider": …,
// "providerOptions": {…}}. Throws UsageError naming what is malformed.
store::RotationRequest parse_rotation_request(const nlohmann::json &request);

}  // namespace cmkfs::daemon
