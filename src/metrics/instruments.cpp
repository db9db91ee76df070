#include "metrics/instruments.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace cmkfs::metrics {

size_t stripe_index() noexcept {
    static std::atomic<size_t> next{0};
    thread_local const size_t mine = next.fetch_add(1, std::memory_order_relaxed) % kStripes;
    return mine;
}

uint64_t Counter::value() const noexcept {
    uint64_t total = 0;
    for (const auto &c : cells_) total += c.value.load(std::memory_order_relaxed);
    return total;
}

Histogram::Histogram(std::vector<double> upper_bounds_seconds) : bounds_(std::move(upper_bounds_seconds)) {
    if (bounds_.size() + 1 > kMaxBuckets) throw std::invalid_argument("histogram: too many buckets");
    if (!std::is_sorted(bounds_.begin(), bounds_.end()) ||
        std::adjacent_find(bounds_.begin(), bounds_.end()) != bounds_.end())
        throw std::invalid_argument("histogram: bucket bounds must be strictly ascending");
    for (double b : bounds_) {
        if (!(b > 0)) throw std::invalid_argument("histogram: bucket bounds must be positive");
        bounds_ns_.push_back(static_cast<uint64_t>(std::llround(b * 1e9)));
    }
}

void Histogram::observe(std::chrono::nanoseconds d) noexcept {
    const uint64_t ns = d.count() < 0 ? 0 : static_cast<uint64_t>(d.count());
    // A handful of bounds: a linear scan beats a binary search here.
    size_t i = 0;
    while (i < bounds_ns_.size() && ns > bounds_ns_[i]) ++i;
    Stripe &s = stripes_[stripe_index()];
    s.buckets[i].fetch_add(1, std::memory_order_relaxed);
    s.sum_ns.fetch_add(ns, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
    Snapshot snap;
    snap.upper_bounds = bounds_;
    std::vector<uint64_t> per_bucket(bounds_.size() + 1, 0);
    uint64_t sum_ns = 0;
    for (const auto &s : stripes_) {
        for (size_t i = 0; i < per_bucket.size(); ++i) per_bucket[i] += s.buckets[i].load(std::memory_order_relaxed);
        sum_ns += s.sum_ns.load(std::memory_order_relaxed);
    }
    // Cumulative, as the exposition format wants; the count is the +Inf bucket,
    // so a scrape racing with observations still sees _count == le="+Inf".
    uint64_t running = 0;
    for (uint64_t n : per_bucket) {
        running += n;
        snap.cumulative.push_back(running);
    }
    snap.count = running;
    snap.sum_seconds = static_cast<double>(sum_ns) / 1e9;
    return snap;
}

const std::vector<double> &latency_buckets() {
    static const std::vector<double> buckets{0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001,
                                             0.0025,  0.005,    0.01,    0.025,  0.05,    0.1,   0.25,
                                             0.5,     1,        2.5,     5,      10};
    return buckets;
}

}  // namespace cmkfs::metrics
