// PKCS#11 URIs (RFC 7512) from the config and the volume header. A URI that
// parses must print in canonical form (format_key_uri) and parse back equal.
#include <cstdint>
#include <string>

#include "ck_error.h"
#include "fuzz_support.h"
#include "pkcs11_uri.h"

using namespace cmkfs;
using namespace cmkfs::p11;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string text(fuzz::as_text(data, size));
    KeyUri uri;
    try {
        uri = parse_key_uri(text);
    } catch (const P11Error &e) {
        FUZZ_CHECK(e.status() == CMKFS_ERR_INVALID);
        return 0;
    }
    const std::string canonical = format_key_uri(uri);
    FUZZ_CHECK(parse_key_uri(canonical) == uri);
    FUZZ_CHECK(format_key_uri(parse_key_uri(canonical)) == canonical);
    return 0;
}
