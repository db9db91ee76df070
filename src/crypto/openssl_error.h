#pragma once

#include <string>

namespace cmkfs::crypto {
// Throws std::runtime_error("<what>: <first OpenSSL error>") and clears the queue.
[[noreturn]] void throw_openssl(const std::string &what);
// Returns and clears the OpenSSL error queue as one line.
std::string openssl_errors();
}  // namespace cmkfs::crypto
