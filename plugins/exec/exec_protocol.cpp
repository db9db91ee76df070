#include "exec_protocol.h"

#include <openssl/evp.h>

#include <algorithm>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace cmkfs::exec {

namespace {

constexpr size_t kMaxMessage = 400;

// Requests and replies carry keys in base64, so the JSON library's strings
// (and its parser's token buffer) must live in the SDK's locked, wiped memory
// too: nlohmann_json takes that only as an allocator of a std::basic_string.
using SecretString = std::basic_string<char, std::char_traits<char>, sdk::SecretAllocator<char>>;
using SecretJson = nlohmann::basic_json<std::map, std::vector, SecretString>;

// One printable line, bounded: program text goes into logs and CLI errors.
std::string one_line(std::string_view text) {
    std::string out;
    for (char c : text.substr(0, kMaxMessage)) {
        const unsigned char u = static_cast<unsigned char>(c);
        out += u >= 0x20 && u != 0x7f ? c : ' ';
    }
    return out;
}

const char *exit_code_meaning(int code) {
    switch (code) {
        case 65: return "invalid request";
        case 66: return "key not found";
        case 69:
        case 75: return "key service unavailable";
        case 77: return "access denied";
        case 79: return "key disabled";
        default: return "program failed";
    }
}

bool status_for_word(std::string_view word, cmkfs_status &st) {
    static const struct {
        const char *word;
        cmkfs_status status;
    } words[] = {{"denied", CMKFS_ERR_DENIED},         {"not_found", CMKFS_ERR_NOT_FOUND},
                 {"disabled", CMKFS_ERR_DISABLED},     {"unavailable", CMKFS_ERR_UNAVAILABLE},
                 {"invalid", CMKFS_ERR_INVALID},       {"internal", CMKFS_ERR_INTERNAL}};
    for (const auto &w : words)
        if (word == w.word) {
            st = w.status;
            return true;
        }
    return false;
}

Reply failure(cmkfs_status status, std::string message) {
    Reply r;
    r.status = status;
    r.message = std::move(message);
    return r;
}

}  // namespace

const char *op_name(Op op) {
    switch (op) {
        case Op::wrap: return "wrap";
        case Op::unwrap: return "unwrap";
        case Op::status: return "status";
    }
    return "status";
}

cmkfs_status status_for_exit_code(int code) {
    switch (code) {
        case 0: return CMKFS_OK;
        case 65: return CMKFS_ERR_INVALID;
        case 66: return CMKFS_ERR_NOT_FOUND;
        case 69:
        case 75: return CMKFS_ERR_UNAVAILABLE;
        case 77: return CMKFS_ERR_DENIED;
        case 79: return CMKFS_ERR_DISABLED;
        default: return CMKFS_ERR_INTERNAL;
    }
}

sdk::SecretBuffer encode_base64(const unsigned char *data, size_t len) {
    sdk::SecretBuffer out(nullptr, 4 * ((len + 2) / 3) + 1);
    const int n = len == 0 ? 0 : EVP_EncodeBlock(out.data(), data, static_cast<int>(len));
    out.resize_down(static_cast<size_t>(std::max(n, 0)));
    return out;
}

bool decode_base64(std::string_view text, sdk::SecretBuffer &out) {
    if (text.empty() || text.size() % 4 != 0 || text.size() > std::numeric_limits<int>::max() / 2)
        return false;
    const bool alphabet_only = std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '+' || c == '/' || c == '=';
    });
    const size_t pad = text.size() - text.find_last_not_of('=') - 1;
    if (!alphabet_only || pad > 2 || text.substr(0, text.size() - pad).find('=') != std::string_view::npos)
        return false;
    out = sdk::SecretBuffer(nullptr, text.size() / 4 * 3);
    const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char *>(text.data()),
                                  static_cast<int>(text.size()));
    if (n < 0 || static_cast<size_t>(n) < pad) return false;
    out.resize_down(static_cast<size_t>(n) - pad);
    return true;
}

sdk::SecretBuffer make_request(Op op, std::string_view key_id, std::string_view identity,
                               const unsigned char *data, size_t len) {
    SecretJson req = SecretJson::object();
    req["version"] = 1;
    req["op"] = op_name(op);
    req["keyId"] = SecretString(key_id);
    req["identity"] = SecretString(identity);
    if (op != Op::status) req["data"] = SecretString(encode_base64(data, len).view());
    const SecretString text = req.dump();
    sdk::SecretBuffer line;
    line.append(text);
    line.push_back('\n');
    return line;
}

Reply interpret(Op op, const ChildOutcome &run, std::chrono::milliseconds timeout) {
    if (run.timed_out)
        return failure(CMKFS_ERR_UNAVAILABLE,
                       "program timed out after " + std::to_string(timeout.count()) + " ms and was killed");
    if (run.stdout_overflow)
        return failure(CMKFS_ERR_INTERNAL, "program wrote a reply larger than the limit and was killed");
    if (!run.exited)
        return failure(CMKFS_ERR_UNAVAILABLE, "program was killed by signal " + std::to_string(run.signal));

    // Parse errors are reported without the text: it may hold key material.
    const SecretJson reply = SecretJson::parse(run.out.begin(), run.out.end(), nullptr, false);
    const bool is_object = !reply.is_discarded() && reply.is_object();
    if (is_object && reply.contains("error")) {
        const auto &err = reply["error"];
        const std::string word = err.is_string() ? std::string(err.get_ref<const SecretString &>()) : "";
        std::string message;
        if (auto m = reply.find("message"); m != reply.end() && m->is_string())
            message = one_line(m->get_ref<const SecretString &>());
        cmkfs_status st = CMKFS_ERR_INTERNAL;
        if (!status_for_word(word, st))
            return failure(CMKFS_ERR_INTERNAL, "program answered an unknown error '" + one_line(word) +
                                                   "' (exit status " + std::to_string(run.exit_code) + ")");
        if (st == CMKFS_OK) st = CMKFS_ERR_INTERNAL;
        return failure(st, word + (message.empty() ? "" : ": " + message));
    }
    if (run.exit_code != 0)
        return failure(status_for_exit_code(run.exit_code),
                       std::string(exit_code_meaning(run.exit_code)) + " (program exited with status " +
                           std::to_string(run.exit_code) + ")");
    if (!is_object) return failure(CMKFS_ERR_INTERNAL, "program printed no JSON object on stdout");

    Reply ok;
    ok.status = CMKFS_OK;
    if (auto kid = reply.find("keyId"); kid != reply.end()) {
        if (!kid->is_string() || kid->get_ref<const SecretString &>().size() >= CMKFS_KEY_ID_MAX)
            return failure(CMKFS_ERR_INTERNAL, "reply field keyId is not a string of a sane length");
        ok.key_id = std::string(kid->get_ref<const SecretString &>());
    }
    if (op == Op::status) return ok;
    auto data = reply.find("data");
    if (data == reply.end() || !data->is_string())
        return failure(CMKFS_ERR_INTERNAL, "reply has no data field");
    if (!decode_base64(data->get_ref<const SecretString &>(), ok.data) || ok.data.empty())
        return failure(CMKFS_ERR_INTERNAL, "reply field data is not non-empty base64");
    return ok;
}

}  // namespace cmkfs::exec
