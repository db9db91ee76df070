// PKCS#11 URIs (RFC 7512) naming a key object:
//   pkcs11:token=LABEL;object=LABEL;id=%01%02;type=secret-key
// Path attributes select the token (token, manufacturer, model, serial) and
// the object (object, id, type). Query attributes (pin-value, pin-source,
// module-path, ...) are refused: the module and the PIN come from provider
// options, never from a key id that is stored and shown.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cmkfs::p11 {

struct KeyUri {
    std::optional<std::string> token;
    std::optional<std::string> manufacturer;
    std::optional<std::string> model;
    std::optional<std::string> serial;
    std::optional<std::string> object;
    std::optional<std::vector<uint8_t>> id;
    std::optional<std::string> type;  // only "secret-key" is supported

    bool operator==(const KeyUri &) const = default;
};

// Throws P11Error(CMKFS_ERR_INVALID) naming what is wrong.
KeyUri parse_key_uri(const std::string &text);

// The canonical text: attributes in a fixed order, every byte outside
// RFC 3986's unreserved set percent-encoded, id always as %XX bytes.
std::string format_key_uri(const KeyUri &uri);

}  // namespace cmkfs::p11
