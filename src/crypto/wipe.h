// Wiping plaintext that lives outside the secure heap: decrypted file
// contents, xattr values and symlink targets pass through ordinary buffers
// (the kernel's request buffer, per-thread read buffers, stack blocks) and
// must not stay there once the reply is sent, or a memory dump taken after a
// lock still holds them.
#pragma once

#include <string.h>  // explicit_bzero

#include <cstddef>

namespace cmkfs::crypto {

// explicit_bzero: a wipe the compiler cannot drop as a dead store, at
// memset's speed (glibc's vectorized memset behind a barrier).
// OPENSSL_cleanse is as safe but stores one word at a time: wiping the 1 MiB
// request buffer of every WRITE cost 4% of the daemon's time in a blob push.
inline void wipe(void *data, size_t size) noexcept {
    if (data != nullptr && size > 0) ::explicit_bzero(data, size);
}

// Wipes a range when the scope ends, however it ends.
class WipeOnExit {
public:
    // A const buffer is accepted too: a FUSE request buffer handed to us as
    // const is ours to clear once we are done with it.
    WipeOnExit(const void *data, size_t size) noexcept
        : data_(const_cast<void *>(data)), size_(size) {}  // NOLINT(cppcoreguidelines-pro-type-const-cast)
    ~WipeOnExit() { wipe(data_, size_); }
    WipeOnExit(const WipeOnExit &) = delete;
    WipeOnExit &operator=(const WipeOnExit &) = delete;

private:
    void *data_;
    size_t size_;
};

// A block of plaintext on the stack, wiped when it goes out of scope.
template <size_t N>
struct WipedArray {
    unsigned char bytes[N];
    WipedArray() noexcept = default;
    ~WipedArray() { wipe(bytes, N); }
    WipedArray(const WipedArray &) = delete;
    WipedArray &operator=(const WipedArray &) = delete;
};

}  // namespace cmkfs::crypto
