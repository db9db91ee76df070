// A byte buffer for everything in a provider that may hold plaintext key
// material, PINs, client secrets or access tokens: memory from the host's
// secure_alloc (locked, wiped on free), or wiped heap memory when the host
// offers none. Grows by append (moving, never copying, the secret around in
// plain memory); keeps a NUL terminator outside size() for C APIs. Move-only.
// Header-only: plugins link nothing of the host's.
#pragma once

#include <string.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string_view>
#include <utility>

#include <cmkfs/provider.h>

namespace cmkfs::plugin {

class SecretBuffer {
public:
    // An empty buffer, or `size` zero bytes.
    explicit SecretBuffer(const cmkfs_host *host, size_t size = 0) : host_(host) {
        if (size > 0) {
            reserve(size + 1);
            ::memset(data_, 0, size + 1);
            size_ = size;
        }
    }
    SecretBuffer(const cmkfs_host &host, size_t size) : SecretBuffer(&host, size) {}
    ~SecretBuffer() { release(); }
    SecretBuffer(SecretBuffer &&other) noexcept
        : host_(other.host_), data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)),
          capacity_(std::exchange(other.capacity_, 0)) {}
    SecretBuffer &operator=(SecretBuffer &&other) noexcept {
        if (this != &other) {
            release();
            host_ = other.host_;
            data_ = std::exchange(other.data_, nullptr);
            size_ = std::exchange(other.size_, 0);
            capacity_ = std::exchange(other.capacity_, 0);
        }
        return *this;
    }
    SecretBuffer(const SecretBuffer &) = delete;
    SecretBuffer &operator=(const SecretBuffer &) = delete;

    void append(std::string_view bytes) {
        reserve(size_ + bytes.size() + 1);
        if (!bytes.empty()) ::memcpy(data_ + size_, bytes.data(), bytes.size());
        size_ += bytes.size();
        data_[size_] = 0;
    }
    void append(const uint8_t *bytes, size_t n) { append({reinterpret_cast<const char *>(bytes), n}); }
    void push_back(char c) { append(std::string_view(&c, 1)); }
    // Wipes the contents, keeps the memory.
    void clear() noexcept {
        if (data_ != nullptr) ::explicit_bzero(data_, capacity_);
        size_ = 0;
    }
    // Shrinks to n bytes (the tail is wiped); never grows.
    void resize_down(size_t n) noexcept {
        if (n >= size_) return;
        ::explicit_bzero(data_ + n, size_ - n);
        size_ = n;
    }

    const uint8_t *data() const { return data_; }
    uint8_t *data() { return data_; }
    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    std::string_view view() const { return {reinterpret_cast<const char *>(data_), size_}; }
    const char *c_str() const { return data_ != nullptr ? reinterpret_cast<const char *>(data_) : ""; }
    const cmkfs_host *host() const { return host_; }

private:
    void reserve(size_t capacity) {
        if (capacity <= capacity_ && data_ != nullptr) return;
        size_t grown = capacity_ < 64 ? 64 : capacity_;
        while (grown < capacity) grown *= 2;
        auto *fresh = static_cast<uint8_t *>(allocate(grown));
        if (fresh == nullptr) throw std::bad_alloc();
        if (data_ != nullptr && size_ > 0) ::memcpy(fresh, data_, size_);
        fresh[size_] = 0;
        deallocate(data_, capacity_);
        data_ = fresh;
        capacity_ = grown;
    }
    void release() noexcept {
        deallocate(data_, capacity_);
        data_ = nullptr;
        size_ = capacity_ = 0;
    }
    bool host_heap() const noexcept {
        return host_ != nullptr && host_->secure_alloc != nullptr && host_->secure_free != nullptr;
    }
    void *allocate(size_t n) const { return host_heap() ? host_->secure_alloc(host_->host_ctx, n) : std::calloc(1, n); }
    void deallocate(void *p, size_t n) const noexcept {
        if (p == nullptr) return;
        ::explicit_bzero(p, n);
        if (host_heap())
            host_->secure_free(host_->host_ctx, p, n);
        else
            std::free(p);
    }

    const cmkfs_host *host_;
    uint8_t *data_ = nullptr;
    size_t size_ = 0;
    size_t capacity_ = 0;  // bytes allocated, including the terminator
};

}  // namespace cmkfs::plugin
