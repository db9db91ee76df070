#include "crypto/secure_bytes.h"

#include <openssl/crypto.h>

#include <new>

namespace cmkfs::crypto {

bool init_secure_heap(size_t bytes) {
    if (CRYPTO_secure_malloc_initialized()) return true;
    return CRYPTO_secure_malloc_init(bytes, 16) == 1;
}

SecureBytes::SecureBytes(size_t size) : size_(size) {
    if (size == 0) return;
    data_ = static_cast<uint8_t *>(OPENSSL_secure_zalloc(size));
    if (data_ == nullptr) throw std::bad_alloc();
}

SecureBytes::SecureBytes(std::span<const uint8_t> from) : SecureBytes(from.size()) {
    for (size_t i = 0; i < from.size(); ++i) data_[i] = from[i];
}

SecureBytes &SecureBytes::operator=(SecureBytes &&o) noexcept {
    if (this != &o) {
        wipe();
        data_ = std::exchange(o.data_, nullptr);
        size_ = std::exchange(o.size_, 0);
    }
    return *this;
}

void SecureBytes::wipe() noexcept {
    if (data_ != nullptr) OPENSSL_secure_clear_free(data_, size_);
    data_ = nullptr;
    size_ = 0;
}

}  // namespace cmkfs::crypto
