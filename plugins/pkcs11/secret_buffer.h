// Plaintext key material and PINs inside the provider: memory from the host's
// secure_alloc (locked, wiped on free), or wiped heap memory when the host
// offers none. Move-only.
#pragma once

#include <cmkfs/provider.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace cmkfs::p11 {

class SecretBuffer {
public:
    SecretBuffer(const cmkfs_host &host, size_t capacity) : host_(&host), capacity_(capacity), size_(capacity) {
        const size_t n = capacity_ == 0 ? 1 : capacity_;
        data_ = static_cast<uint8_t *>(host.secure_alloc != nullptr ? host.secure_alloc(host.host_ctx, n)
                                                                    : std::calloc(1, n));
        if (data_ == nullptr) throw std::bad_alloc();
    }
    ~SecretBuffer() { release(); }
    SecretBuffer(SecretBuffer &&o) noexcept
        : host_(o.host_), data_(std::exchange(o.data_, nullptr)), capacity_(o.capacity_), size_(o.size_) {}
    SecretBuffer &operator=(SecretBuffer &&o) noexcept {
        if (this != &o) {
            release();
            host_ = o.host_;
            data_ = std::exchange(o.data_, nullptr);
            capacity_ = o.capacity_;
            size_ = o.size_;
        }
        return *this;
    }
    SecretBuffer(const SecretBuffer &) = delete;
    SecretBuffer &operator=(const SecretBuffer &) = delete;

    uint8_t *data() { return data_; }
    const uint8_t *data() const { return data_; }
    size_t size() const { return size_; }
    size_t capacity() const { return capacity_; }
    void resize(size_t n) { size_ = n <= capacity_ ? n : capacity_; }

private:
    void release() {
        if (data_ == nullptr) return;
        const size_t n = capacity_ == 0 ? 1 : capacity_;
        if (host_->secure_alloc != nullptr && host_->secure_free != nullptr) {
            host_->secure_free(host_->host_ctx, data_, n);
        } else {
            ::explicit_bzero(data_, n);
            std::free(data_);
        }
        data_ = nullptr;
    }

    const cmkfs_host *host_;
    uint8_t *data_ = nullptr;
    size_t capacity_ = 0;
    size_t size_ = 0;
};

}  // namespace cmkfs::p11
