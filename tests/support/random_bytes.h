// The one source of random test data: bytes drawn from a seeded generator
// (support/test_seed.h), so a failing run replays with CMKFS_TEST_SEED.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>

#include "support/test_seed.h"

namespace cmkfs::test {

// `n` bytes from `gen`, as a std::string by default or as any container of
// byte-sized values (std::vector<uint8_t>: random_bytes<std::vector<uint8_t>>(...)).
template <class Bytes = std::string>
Bytes random_bytes(std::mt19937_64 &gen, size_t n) {
    static_assert(sizeof(typename Bytes::value_type) == 1, "random_bytes fills byte containers");
    Bytes out(n, typename Bytes::value_type{});
    for (size_t i = 0; i < n; i += 8) {
        const uint64_t word = gen();
        std::memcpy(out.data() + i, &word, n - i < 8 ? n - i : 8);
    }
    return out;
}

// `n` bytes from a generator of their own: rng(stream), mixed with the run's seed.
template <class Bytes = std::string>
Bytes random_bytes(size_t n, uint64_t stream) {
    auto gen = rng(stream);
    return random_bytes<Bytes>(gen, n);
}

}  // namespace cmkfs::test
