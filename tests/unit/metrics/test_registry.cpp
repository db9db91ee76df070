// The registry and its instruments: families, labels, histogram layout,
// concurrency of the striped counters.
#include <catch2/catch.hpp>

#include <thread>
#include <vector>

#include "metrics/registry.h"

using namespace cmkfs::metrics;
using namespace std::chrono_literals;

namespace {
const FamilySnapshot &family(const std::vector<FamilySnapshot> &all, const std::string &name) {
    for (const auto &f : all)
        if (f.name == name) return f;
    FAIL("no family " << name);
    throw std::logic_error("unreachable");
}
}  // namespace

TEST_CASE("registry: counters and gauges by label, in registration order", "[metrics][registry]") {
    Registry r;
    auto &checks = r.counter_family("t_checks_total", "Checks.", {"result"});
    r.gauge("t_open", "Open.").set(3);
    checks.with({"ok"}).inc();
    checks.with({"ok"}).inc(2);
    checks.with({"denied"}).inc();
    const auto all = r.collect();
    REQUIRE(all.size() == 2);
    CHECK(all[0].name == "t_checks_total");
    CHECK(all[0].type == Type::counter);
    REQUIRE(all[0].samples.size() == 2);
    CHECK(all[0].samples[0].labels == Labels{{"result", "denied"}});  // children in label order
    CHECK(all[0].samples[0].value == 1);
    CHECK(all[0].samples[1].value == 3);
    CHECK(family(all, "t_open").samples.at(0).value == 3);
    r.gauge("t_open", "Open.").add(-1);
    CHECK(family(r.collect(), "t_open").samples.at(0).value == 2);
}

TEST_CASE("registry: the same name twice returns the same family; a conflict throws", "[metrics][registry]") {
    Registry r;
    auto &a = r.counter_family("t_total", "A.", {"x"});
    CHECK(&r.counter_family("t_total", "A.", {"x"}) == &a);
    CHECK_THROWS_AS(r.counter_family("t_total", "A.", {"y"}), std::invalid_argument);
    CHECK_THROWS_AS(r.gauge_family("t_total", "A.", {"x"}), std::invalid_argument);
    CHECK_THROWS_AS(r.counter("bad-name", "x"), std::invalid_argument);
    CHECK_THROWS_AS(r.counter_family("t2", "x", {"__reserved"}), std::invalid_argument);
    CHECK_THROWS_AS(r.histogram_family("t3", "x", {"le"}), std::invalid_argument);
    CHECK_THROWS_AS(r.histogram("t4", "x", {0.5, 0.1}), std::invalid_argument);
    CHECK_THROWS_AS(a.with({}), std::invalid_argument);  // wrong number of label values
}

TEST_CASE("registry: remove and clear drop series", "[metrics][registry]") {
    Registry r;
    auto &state = r.gauge_family("t_state", "S.", {"key_id"});
    state.with({"a"}).set(1);
    state.with({"b"}).set(0);
    state.remove({"a"});
    auto snap = family(r.collect(), "t_state");
    REQUIRE(snap.samples.size() == 1);
    CHECK(snap.samples[0].labels == Labels{{"key_id", "b"}});
    state.clear();
    CHECK(family(r.collect(), "t_state").samples.empty());
}

TEST_CASE("histogram: cumulative buckets, +Inf, sum and count", "[metrics][registry]") {
    Registry r;
    auto &h = r.histogram_family("t_seconds", "T.", {"op"}, {0.001, 0.01, 0.1}).with({"read"});
    h.observe(500us);   // <= 0.001
    h.observe(1ms);     // == bound: counts in that bucket (le is "less or equal")
    h.observe(50ms);    // <= 0.1
    h.observe(2s);      // +Inf only
    const auto snap = family(r.collect(), "t_seconds");
    std::vector<std::string> names;
    std::vector<std::string> les;
    std::vector<double> values;
    for (const auto &s : snap.samples) {
        names.push_back(s.name);
        values.push_back(s.value);
        les.push_back(s.labels.back().first == "le" ? s.labels.back().second : "");
        CHECK(s.labels.front() == std::make_pair(std::string("op"), std::string("read")));
    }
    CHECK(names == std::vector<std::string>{"t_seconds_bucket", "t_seconds_bucket", "t_seconds_bucket",
                                            "t_seconds_bucket", "t_seconds_sum", "t_seconds_count"});
    CHECK(les == std::vector<std::string>{"0.001", "0.01", "0.1", "+Inf", "", ""});
    CHECK(values[0] == 2);
    CHECK(values[1] == 2);
    CHECK(values[2] == 3);
    CHECK(values[3] == 4);
    CHECK(values[4] == Approx(2.0515));
    CHECK(values[5] == 4);
}

TEST_CASE("counters: concurrent increments from many threads are all counted", "[metrics][registry]") {
    Registry r;
    auto &c = r.counter("t_total", "T.");
    auto &h = r.histogram("t_seconds", "T.");
    std::vector<std::thread> threads;
    for (int t = 0; t < 12; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 20000; ++i) {
                c.inc();
                h.observe(1us);
            }
        });
    for (auto &t : threads) t.join();
    CHECK(c.value() == 240000);
    CHECK(h.snapshot().count == 240000);
}

TEST_CASE("collect hooks run before each snapshot until their handle is gone", "[metrics][registry]") {
    Registry r;
    auto &g = r.gauge("t_volumes", "Volumes.");
    int volumes = 4;
    {
        CollectHook hook = r.on_collect([&] { g.set(volumes); });
        CHECK(family(r.collect(), "t_volumes").samples.at(0).value == 4);
        volumes = 5;
        CHECK(family(r.collect(), "t_volumes").samples.at(0).value == 5);
    }
    volumes = 6;
    CHECK(family(r.collect(), "t_volumes").samples.at(0).value == 5);
}

// Not run by default (hidden tag): the cost of what every FUSE operation pays,
// for docs/metrics.md. `unit_metrics "[.bench]" -s`
TEST_CASE("bench: the per-operation cost of counting", "[.bench]") {
    Registry r;
    auto &h = r.histogram_family("t_seconds", "T.", {"op"}).with({"read"});
    auto &c = r.counter("t_bytes_total", "B.");
    constexpr int kOps = 5'000'000;
    for (int threads : {1, 4}) {
        const auto t0 = std::chrono::steady_clock::now();
        std::vector<std::thread> pool;
        for (int t = 0; t < threads; ++t)
            pool.emplace_back([&] {
                for (int i = 0; i < kOps; ++i) {
                    const auto start = std::chrono::steady_clock::now();  // what OpTimer does
                    c.inc(4096);
                    h.observe(std::chrono::steady_clock::now() - start);
                }
            });
        for (auto &t : pool) t.join();
        const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
        WARN(threads << " thread(s): " << ns / kOps << " ns wall per operation per thread, "
                     << ns / (static_cast<double>(kOps) * threads)
                     << " ns wall per operation overall (2 clock reads, 3 relaxed adds)");
    }
    CHECK(h.snapshot().count == 5ull * kOps);
}
