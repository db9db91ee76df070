/*
 * cmkfs provider SDK: the one buffer type for secrets inside a provider.
 *
 * Everything in a provider that may hold plaintext key material, a PIN, a
 * client secret, an access token or a request/reply that carries one of them
 * belongs in a SecretBuffer:
 *  - locked memory: the host's secure_alloc (cmkfs hands out OpenSSL's secure
 *    heap) when the host offers it; otherwise pages of the SDK's own, locked
 *    with mlock(2) (best effort, like OpenSSL's secure heap) and left out of
 *    core dumps;
 *  - wiped on free, on clear() and on every shrink;
 *  - no copies: move-only, and it grows by moving its bytes once into a
 *    larger locked block, never through ordinary heap memory.
 *
 * A NUL terminator is kept outside size() for C APIs (c_str()).
 * SecretAllocator is the same memory for the rare library that insists on an
 * allocator-aware standard container (a JSON parser's string type).
 *
 * Header-only, C++17, no dependency beyond include/cmkfs/provider.h and libc:
 * a provider built outside the cmkfs tree can use it as it is.
 */
#ifndef CMKFS_SECRET_BUFFER_H
#define CMKFS_SECRET_BUFFER_H

#include <cmkfs/provider.h>

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <new>
#include <string_view>
#include <utility>

namespace cmkfs::sdk {

namespace detail {

inline size_t page_round(size_t n) noexcept {
    const long page = ::sysconf(_SC_PAGESIZE);
    const size_t p = page > 0 ? static_cast<size_t>(page) : 4096;
    return (n + p - 1) / p * p;
}

inline bool host_heap(const cmkfs_host *host) noexcept {
    return host != nullptr && host->secure_alloc != nullptr && host->secure_free != nullptr;
}

// Zeroed, locked memory of n bytes (n > 0), or nullptr.
inline void *secret_alloc(const cmkfs_host *host, size_t n) noexcept {
    if (host_heap(host)) return host->secure_alloc(host->host_ctx, n);
    const size_t len = page_round(n);
    void *p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    // Best effort, as OpenSSL's secure heap: a low RLIMIT_MEMLOCK must not
    // make a provider unusable; the pages are still wiped and kept out of dumps.
    (void)::mlock(p, len);
    (void)::madvise(p, len, MADV_DONTDUMP);
    return p;  // anonymous pages are zero-filled
}

// Wipes and frees what secret_alloc(host, n) returned.
inline void secret_free(const cmkfs_host *host, void *p, size_t n) noexcept {
    if (p == nullptr) return;
    ::explicit_bzero(p, n);
    if (host_heap(host)) {
        host->secure_free(host->host_ctx, p, n);
        return;
    }
    ::munmap(p, page_round(n));  // also unlocks
}

}  // namespace detail

class SecretBuffer {
public:
    // An empty buffer (no memory yet), or `size` zero bytes. host may be null.
    explicit SecretBuffer(const cmkfs_host *host = nullptr, size_t size = 0) : host_(host) {
        if (size > 0) {
            reserve(size + 1);
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

    const uint8_t *data() const noexcept { return data_; }
    uint8_t *data() noexcept { return data_; }
    size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    const uint8_t *begin() const noexcept { return data_; }
    const uint8_t *end() const noexcept { return data_ + size_; }
    std::string_view view() const noexcept { return {reinterpret_cast<const char *>(data_), size_}; }
    const char *c_str() const noexcept { return data_ != nullptr ? reinterpret_cast<const char *>(data_) : ""; }
    const cmkfs_host *host() const noexcept { return host_; }

private:
    void reserve(size_t capacity) {
        if (capacity <= capacity_ && data_ != nullptr) return;
        size_t grown = capacity_ < 64 ? 64 : capacity_;
        while (grown < capacity) grown *= 2;
        auto *fresh = static_cast<uint8_t *>(detail::secret_alloc(host_, grown));
        if (fresh == nullptr) throw std::bad_alloc();
        ::memset(fresh, 0, grown);
        if (data_ != nullptr && size_ > 0) ::memcpy(fresh, data_, size_);
        detail::secret_free(host_, data_, capacity_);
        data_ = fresh;
        capacity_ = grown;
    }
    void release() noexcept {
        detail::secret_free(host_, data_, capacity_);
        data_ = nullptr;
        size_ = capacity_ = 0;
    }

    const cmkfs_host *host_;
    uint8_t *data_ = nullptr;
    size_t size_ = 0;
    size_t capacity_ = 0;  // bytes allocated, including the terminator
};

// The same locked, wiped memory (the SDK's own pages) as a standard
// allocator, for a library container that cannot take a SecretBuffer.
template <class T>
struct SecretAllocator {
    using value_type = T;
    SecretAllocator() noexcept = default;
    template <class U>
    SecretAllocator(const SecretAllocator<U> &) noexcept {}

    T *allocate(size_t n) {
        void *p = detail::secret_alloc(nullptr, n * sizeof(T));
        if (p == nullptr) throw std::bad_alloc();
        return static_cast<T *>(p);
    }
    void deallocate(T *p, size_t n) noexcept { detail::secret_free(nullptr, p, n * sizeof(T)); }

    template <class U>
    bool operator==(const SecretAllocator<U> &) const noexcept { return true; }
    template <class U>
    bool operator!=(const SecretAllocator<U> &) const noexcept { return false; }
};

}  // namespace cmkfs::sdk

#endif /* CMKFS_SECRET_BUFFER_H */
