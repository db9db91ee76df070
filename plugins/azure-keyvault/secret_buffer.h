// A growable byte buffer in the host's locked, wiped-on-free memory, for
// everything that may hold plaintext key material, client secrets or access
// tokens: request and response bodies, decoded keys, bearer headers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <cmkfs/provider.h>

namespace cmkfs::azure {

class SecretBuffer {
public:
    explicit SecretBuffer(const cmkfs_host *host) : host_(host) {}
    ~SecretBuffer() { release(); }
    SecretBuffer(SecretBuffer &&other) noexcept;
    SecretBuffer &operator=(SecretBuffer &&other) noexcept;
    SecretBuffer(const SecretBuffer &) = delete;
    SecretBuffer &operator=(const SecretBuffer &) = delete;

    void append(std::string_view bytes);
    void append(const uint8_t *bytes, size_t n) { append({reinterpret_cast<const char *>(bytes), n}); }
    void push_back(char c) { append(std::string_view(&c, 1)); }
    void clear();  // wipes the contents, keeps the memory
    void resize_down(size_t n);

    const uint8_t *data() const { return data_; }
    uint8_t *data() { return data_; }
    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    std::string_view view() const { return {reinterpret_cast<const char *>(data_), size_}; }
    // NUL-terminated (the terminator is always kept, outside size()).
    const char *c_str() const { return data_ != nullptr ? reinterpret_cast<const char *>(data_) : ""; }
    const cmkfs_host *host() const { return host_; }

private:
    void reserve(size_t capacity);
    void release();

    const cmkfs_host *host_;
    uint8_t *data_ = nullptr;
    size_t size_ = 0;
    size_t capacity_ = 0;  // bytes allocated, including the terminator
};

}  // namespace cmkfs::azure
