#include "crypto/openssl_error.h"

#include <openssl/err.h>

#include <stdexcept>

namespace cmkfs::crypto {

std::string openssl_errors() {
    std::string out;
    while (unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        if (!out.empty()) out += "; ";
        out += buf;
    }
    return out.empty() ? "no OpenSSL error recorded" : out;
}

void throw_openssl(const std::string &what) {
    throw std::runtime_error(what + ": " + openssl_errors());
}

}  // namespace cmkfs::crypto
