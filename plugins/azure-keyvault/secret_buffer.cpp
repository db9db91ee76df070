#include "secret_buffer.h"

#include <openssl/crypto.h>

#include <cstring>
#include <new>
#include <utility>

namespace cmkfs::azure {

namespace {

// The host's secure heap; OpenSSL's when an older host offers none.
void *secure_alloc(const cmkfs_host *host, size_t n) {
    if (host != nullptr && host->secure_alloc != nullptr) return host->secure_alloc(host->host_ctx, n);
    return OPENSSL_secure_zalloc(n);
}

void secure_free(const cmkfs_host *host, void *p, size_t n) {
    if (p == nullptr) return;
    if (host != nullptr && host->secure_free != nullptr) {
        OPENSSL_cleanse(p, n);
        host->secure_free(host->host_ctx, p, n);
        return;
    }
    OPENSSL_secure_clear_free(p, n);
}

}  // namespace

SecretBuffer::SecretBuffer(SecretBuffer &&other) noexcept
    : host_(other.host_), data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)),
      capacity_(std::exchange(other.capacity_, 0)) {}

SecretBuffer &SecretBuffer::operator=(SecretBuffer &&other) noexcept {
    if (this != &other) {
        release();
        host_ = other.host_;
        data_ = std::exchange(other.data_, nullptr);
        size_ = std::exchange(other.size_, 0);
        capacity_ = std::exchange(other.capacity_, 0);
    }
    return *this;
}

void SecretBuffer::reserve(size_t capacity) {
    if (capacity <= capacity_) return;
    size_t grown = capacity_ < 64 ? 64 : capacity_;
    while (grown < capacity) grown *= 2;
    auto *fresh = static_cast<uint8_t *>(secure_alloc(host_, grown));
    if (fresh == nullptr) throw std::bad_alloc();
    if (size_ > 0) std::memcpy(fresh, data_, size_);
    fresh[size_] = 0;
    secure_free(host_, data_, capacity_);
    data_ = fresh;
    capacity_ = grown;
}

void SecretBuffer::append(std::string_view bytes) {
    reserve(size_ + bytes.size() + 1);
    if (!bytes.empty()) std::memcpy(data_ + size_, bytes.data(), bytes.size());
    size_ += bytes.size();
    data_[size_] = 0;
}

void SecretBuffer::clear() {
    if (data_ != nullptr) OPENSSL_cleanse(data_, capacity_);
    size_ = 0;
}

void SecretBuffer::resize_down(size_t n) {
    if (n >= size_) return;
    OPENSSL_cleanse(data_ + n, size_ - n);
    size_ = n;
}

void SecretBuffer::release() {
    secure_free(host_, data_, capacity_);
    data_ = nullptr;
    size_ = capacity_ = 0;
}

}  // namespace cmkfs::azure
