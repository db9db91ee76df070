#include "crypto/random.h"

#include <openssl/rand.h>

#include <climits>
#include <stdexcept>

namespace cmkfs::crypto {
void random_bytes(std::span<uint8_t> out) {
    if (out.empty()) return;
    if (out.size() > INT_MAX || RAND_bytes(out.data(), static_cast<int>(out.size())) != 1)
        throw std::runtime_error("RAND_bytes failed");
}
}  // namespace cmkfs::crypto
