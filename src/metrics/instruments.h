// The three instruments: Counter, Gauge and Histogram. Recording is a relaxed
// atomic add on a per-thread stripe (no lock, no shared cache line between the
// FUSE worker threads); reading sums the stripes and is only done by a scrape.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace cmkfs::metrics {

// Stripes per instrument. FUSE runs at most a few dozen worker threads; they
// are spread over the stripes round-robin, so contention is rare and cheap.
inline constexpr size_t kStripes = 8;

// This thread's stripe, fixed at its first recording.
size_t stripe_index() noexcept;

class Counter {
public:
    void inc(uint64_t n = 1) noexcept { cells_[stripe_index()].value.fetch_add(n, std::memory_order_relaxed); }
    uint64_t value() const noexcept;

private:
    struct alignas(64) Cell {
        std::atomic<uint64_t> value{0};
    };
    std::array<Cell, kStripes> cells_;
};

// A value that goes up and down (open files, key state). One atomic: gauges
// change on open/release, not per byte.
class Gauge {
public:
    void set(int64_t v) noexcept { value_.store(v, std::memory_order_relaxed); }
    void add(int64_t n) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
    int64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<int64_t> value_{0};
};

// Durations in fixed buckets (upper bounds in seconds, ascending; +Inf is
// implicit). Stored as integer nanoseconds so that recording stays integral.
class Histogram {
public:
    explicit Histogram(std::vector<double> upper_bounds_seconds);

    void observe(std::chrono::nanoseconds d) noexcept;

    struct Snapshot {
        std::vector<double> upper_bounds;  // seconds, without +Inf
        std::vector<uint64_t> cumulative;  // one per bound, then +Inf (== count)
        double sum_seconds = 0;
        uint64_t count = 0;
    };
    Snapshot snapshot() const;
    const std::vector<double> &upper_bounds() const { return bounds_; }

private:
    static constexpr size_t kMaxBuckets = 24;  // bounds + the +Inf bucket
    struct alignas(64) Stripe {
        std::array<std::atomic<uint64_t>, kMaxBuckets> buckets{};
        std::atomic<uint64_t> sum_ns{0};
    };
    std::vector<double> bounds_;
    std::vector<uint64_t> bounds_ns_;
    std::array<Stripe, kStripes> stripes_;
};

// Latency buckets for one FUSE operation or one provider call: 10 µs to 10 s.
const std::vector<double> &latency_buckets();

}  // namespace cmkfs::metrics
