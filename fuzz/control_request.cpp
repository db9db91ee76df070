// A request on a mount's control socket: one JSON line. The socket is
// root-only, but the daemon serving the mount must answer anything a client
// writes with a reply, never crash: every failure here is an exception that
// ControlServer::handle turns into {"ok": false, "error": …}.
#include <cstdint>
#include <exception>
#include <string>

#include <nlohmann/json.hpp>

#include "daemon/control_protocol.h"
#include "fuzz_support.h"

using namespace cmkfs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string_view received = fuzz::as_text(data, size);
    const std::string_view line = daemon::first_line(received);
    FUZZ_CHECK(line.find('\n') == std::string_view::npos);
    nlohmann::json reply;
    try {
        const nlohmann::json request = daemon::parse_control_request(line);
        const std::string op = daemon::control_op(request);
        if (op == "rotate-key") {
            const auto rotation = daemon::parse_rotation_request(request);
            reply = {{"ok", true}, {"keyId", rotation.key_id}};
        } else {
            reply = {{"ok", true}, {"op", op}};
        }
    } catch (const std::exception &e) {
        // What ControlServer::handle does with any failure.
        reply = {{"ok", false}, {"error", e.what()}};
    }
    // Every request gets a reply line, though an error message quotes bytes
    // that are not UTF-8.
    const std::string out = daemon::reply_line(reply);
    FUZZ_CHECK(out.find('\n') == out.size() - 1);
    FUZZ_CHECK(nlohmann::json::parse(out).is_object());
    return 0;
}
