// Key material lives in OpenSSL's secure heap (mlocked, excluded from core
// dumps) and is wiped with OPENSSL_cleanse when freed. One owner, moved never
// copied. Typed keys (Key<Tag>) keep a key of one kind from being passed where
// another is expected.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

namespace cmkfs::crypto {

// Sets up the OpenSSL secure heap; call once at process start, before any key
// is created. Returns false when the heap could not be locked (keys then fall
// back to the normal heap but are still wiped).
bool init_secure_heap(size_t bytes = size_t{1} << 22);

class SecureBytes {
public:
    SecureBytes() noexcept = default;
    explicit SecureBytes(size_t size);
    SecureBytes(std::span<const uint8_t> from);
    SecureBytes(SecureBytes &&o) noexcept
        : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
    SecureBytes &operator=(SecureBytes &&o) noexcept;
    SecureBytes(const SecureBytes &) = delete;
    SecureBytes &operator=(const SecureBytes &) = delete;
    ~SecureBytes() { wipe(); }

    // Frees and zeroes now (also used when the volume locks).
    void wipe() noexcept;

    uint8_t *data() noexcept { return data_; }
    const uint8_t *data() const noexcept { return data_; }
    size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    std::span<const uint8_t> span() const noexcept { return {data_, size_}; }
    std::span<uint8_t> span() noexcept { return {data_, size_}; }
    // Explicit duplicate: the only way to copy key material, so it is visible.
    SecureBytes clone() const { return SecureBytes(span()); }

private:
    uint8_t *data_ = nullptr;
    size_t size_ = 0;
};

template <class Tag>
class Key {
public:
    Key() = default;
    explicit Key(SecureBytes bytes) : bytes_(std::move(bytes)) {}
    std::span<const uint8_t> bytes() const noexcept { return bytes_.span(); }
    size_t size() const noexcept { return bytes_.size(); }
    bool empty() const noexcept { return bytes_.empty(); }
    void wipe() noexcept { bytes_.wipe(); }
    Key clone() const { return Key(bytes_.clone()); }

private:
    SecureBytes bytes_;
};

struct VolumeKeyTag {};
struct ContentKeyTag {};
struct NameKeyTag {};
struct MetaKeyTag {};    // symlink targets and xattr values
struct HeaderMacTag {};  // authenticates the volume header
struct CredentialsTag {};  // registry credentials kept by docker-credential-cmkfs
struct DirIdTag {};      // format v2: binds each directory id to its place

using VolumeKey = Key<VolumeKeyTag>;    // 32 bytes, random, wrapped by the CMK
using ContentKey = Key<ContentKeyTag>;  // 32 bytes, per file
using NameKey = Key<NameKeyTag>;        // 64 bytes (AES-256-SIV)
using MetaKey = Key<MetaKeyTag>;        // 32 bytes
using HeaderMacKey = Key<HeaderMacTag>; // 32 bytes
using CredentialsKey = Key<CredentialsTag>;  // 32 bytes
using DirIdKey = Key<DirIdTag>;              // 32 bytes, HMAC-SHA256

}  // namespace cmkfs::crypto
