#include "support/test_seed.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace cmkfs::test {

uint64_t seed() {
    static const uint64_t value = [] {
        if (const char *env = std::getenv("CMKFS_TEST_SEED"); env != nullptr && *env != '\0')
            return static_cast<uint64_t>(std::stoull(env));
        return static_cast<uint64_t>(
            std::chrono::steady_clock::now().time_since_epoch().count());
    }();
    return value;
}

void announce_seed() {
    std::fprintf(stderr, "CMKFS_TEST_SEED=%llu (set it to replay this run)\n",
                 static_cast<unsigned long long>(seed()));
}

std::mt19937_64 rng(uint64_t stream) {
    return std::mt19937_64(seed() ^ (stream * 0x9E3779B97F4A7C15ull));
}

}  // namespace cmkfs::test
