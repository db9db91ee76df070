// Reproducible randomness for randomized tests: the seed comes from
// CMKFS_TEST_SEED when set, otherwise from the clock, and is always printed
// so a failing run can be replayed.
#pragma once

#include <cstdint>
#include <random>

namespace cmkfs::test {
uint64_t seed();
void announce_seed();
// A generator seeded from seed() mixed with `stream`, so tests don't share a sequence.
std::mt19937_64 rng(uint64_t stream = 0);
}  // namespace cmkfs::test
