#include "pkcs11_uri.h"

#include <cctype>
#include <cstdio>

#include "ck_error.h"

namespace cmkfs::p11 {

namespace {

[[noreturn]] void bad(const std::string &why) { throw P11Error(CMKFS_ERR_INVALID, "PKCS#11 URI: " + why); }

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string percent_decode(const std::string &s, const std::string &attr) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out += s[i];
            continue;
        }
        if (i + 2 >= s.size()) bad("bad percent-encoding in " + attr + "=");
        const int hi = hex_digit(s[i + 1]), lo = hex_digit(s[i + 2]);
        if (hi < 0 || lo < 0) bad("bad percent-encoding in " + attr + "=");
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return out;
}

std::string percent_encode(const std::string &s, bool every_byte) {
    std::string out;
    for (unsigned char c : s) {
        if (!every_byte && (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')) {
            out += static_cast<char>(c);
        } else {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", c);
            out += buf;
        }
    }
    return out;
}

void set_once(std::optional<std::string> &slot, const std::string &attr, std::string value) {
    if (slot) bad("attribute " + attr + " given twice");
    if (value.empty()) bad("attribute " + attr + " is empty");
    slot = std::move(value);
}

}  // namespace

KeyUri parse_key_uri(const std::string &text) {
    static const std::string kScheme = "pkcs11:";
    if (text.size() < kScheme.size() || text.compare(0, kScheme.size(), kScheme) != 0)
        bad("key id must start with pkcs11: (e.g. pkcs11:token=LABEL;object=KEY)");
    std::string path = text.substr(kScheme.size());
    if (auto q = path.find('?'); q != std::string::npos)
        bad("query attributes (after '?') are not accepted: the module and the PIN come from the provider "
            "options module=, pin_file= or pin_env=");
    KeyUri uri;
    size_t pos = 0;
    while (pos <= path.size() && !path.empty()) {
        size_t end = path.find(';', pos);
        if (end == std::string::npos) end = path.size();
        const std::string part = path.substr(pos, end - pos);
        pos = end + 1;
        if (part.empty()) {
            if (end == path.size()) break;
            bad("empty attribute");
        }
        const auto eq = part.find('=');
        if (eq == std::string::npos) bad("attribute without '=': " + part.substr(0, 32));
        const std::string name = part.substr(0, eq);
        std::string value = percent_decode(part.substr(eq + 1), name);
        if (name == "token") set_once(uri.token, name, std::move(value));
        else if (name == "manufacturer") set_once(uri.manufacturer, name, std::move(value));
        else if (name == "model") set_once(uri.model, name, std::move(value));
        else if (name == "serial") set_once(uri.serial, name, std::move(value));
        else if (name == "object") set_once(uri.object, name, std::move(value));
        else if (name == "type") set_once(uri.type, name, std::move(value));
        else if (name == "id") {
            if (uri.id) bad("attribute id given twice");
            if (value.empty()) bad("attribute id is empty");
            uri.id = std::vector<uint8_t>(value.begin(), value.end());
        } else {
            bad("unsupported attribute '" + name.substr(0, 32) +
                "' (supported: token, manufacturer, model, serial, object, id, type)");
        }
        if (end == path.size()) break;
    }
    if (!uri.object && !uri.id) bad("name the key with object= and/or id=");
    if (uri.type && *uri.type != "secret-key")
        bad("type=" + uri.type->substr(0, 32) + " is not supported (keys are AES secret keys: type=secret-key)");
    return uri;
}

std::string format_key_uri(const KeyUri &uri) {
    std::string out = "pkcs11:";
    bool first = true;
    auto add = [&](const char *name, const std::string &value, bool every_byte) {
        if (!first) out += ';';
        first = false;
        out += name;
        out += '=';
        out += percent_encode(value, every_byte);
    };
    if (uri.token) add("token", *uri.token, false);
    if (uri.manufacturer) add("manufacturer", *uri.manufacturer, false);
    if (uri.model) add("model", *uri.model, false);
    if (uri.serial) add("serial", *uri.serial, false);
    if (uri.object) add("object", *uri.object, false);
    if (uri.id) add("id", std::string(uri.id->begin(), uri.id->end()), true);
    if (uri.type) add("type", *uri.type, false);
    return out;
}

}  // namespace cmkfs::p11
