// Containers for key material inside the exec provider. They allocate from
// OpenSSL's secure heap, which the host initialised and also hands out
// through cmkfs_host::secure_alloc (the plugin and the host share one
// libcrypto), and wipe on free. Requests and replies carry keys in base64, so
// every buffer that holds one, including the JSON parser's, uses these.
#pragma once

#include <openssl/crypto.h>

#include <cstddef>
#include <map>
#include <new>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace cmkfs::exec {

template <class T>
struct SecureAllocator {
    using value_type = T;
    SecureAllocator() noexcept = default;
    template <class U>
    SecureAllocator(const SecureAllocator<U> &) noexcept {}

    T *allocate(std::size_t n) {
        void *p = OPENSSL_secure_zalloc(n * sizeof(T));
        if (p == nullptr) throw std::bad_alloc();
        return static_cast<T *>(p);
    }
    void deallocate(T *p, std::size_t n) noexcept { OPENSSL_secure_clear_free(p, n * sizeof(T)); }

    template <class U>
    bool operator==(const SecureAllocator<U> &) const noexcept { return true; }
};

using SecureString = std::basic_string<char, std::char_traits<char>, SecureAllocator<char>>;
using SecureBytes = std::vector<unsigned char, SecureAllocator<unsigned char>>;

// A JSON value whose strings (and the parser's token buffer) live in the
// secure heap.
using SecureJson = nlohmann::basic_json<std::map, std::vector, SecureString>;

}  // namespace cmkfs::exec
