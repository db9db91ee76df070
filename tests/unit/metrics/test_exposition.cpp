// The text exposition format 0.0.4: exact layout, escaping, and a round trip
// through the reader.
#include <catch2/catch.hpp>

#include <cmath>

#include "metrics/exposition.h"

using namespace cmkfs::metrics;
using namespace std::chrono_literals;

TEST_CASE("exposition: HELP, TYPE and samples, exactly", "[metrics][exposition]") {
    Registry r;
    r.counter_family("cmkfs_key_checks_total", "Key checks, by result.", {"result"}).with({"ok"}).inc(7);
    r.gauge("cmkfs_open_files", "Open files.").set(2);
    r.histogram_family("cmkfs_op_seconds", "Latency.", {"op"}, {0.005, 0.5}).with({"read"}).observe(1ms);
    r.counter_family("cmkfs_empty_total", "Nothing yet.", {"x"});
    CHECK(write_exposition(r.collect()) ==
          "# HELP cmkfs_key_checks_total Key checks, by result.\n"
          "# TYPE cmkfs_key_checks_total counter\n"
          "cmkfs_key_checks_total{result=\"ok\"} 7\n"
          "# HELP cmkfs_open_files Open files.\n"
          "# TYPE cmkfs_open_files gauge\n"
          "cmkfs_open_files 2\n"
          "# HELP cmkfs_op_seconds Latency.\n"
          "# TYPE cmkfs_op_seconds histogram\n"
          "cmkfs_op_seconds_bucket{op=\"read\",le=\"0.005\"} 1\n"
          "cmkfs_op_seconds_bucket{op=\"read\",le=\"0.5\"} 1\n"
          "cmkfs_op_seconds_bucket{op=\"read\",le=\"+Inf\"} 1\n"
          "cmkfs_op_seconds_sum{op=\"read\"} 0.001\n"
          "cmkfs_op_seconds_count{op=\"read\"} 1\n"
          "# HELP cmkfs_empty_total Nothing yet.\n"
          "# TYPE cmkfs_empty_total counter\n");
}

TEST_CASE("exposition: label values and HELP are escaped", "[metrics][exposition]") {
    Registry r;
    r.gauge_family("t_state", "Line one\nback\\slash \"quotes\" stay", {"key_id"})
        .with({"a\"b\\c\nd"})
        .set(1);
    const std::string text = write_exposition(r.collect());
    CHECK(text ==
          "# HELP t_state Line one\\nback\\\\slash \"quotes\" stay\n"
          "# TYPE t_state gauge\n"
          "t_state{key_id=\"a\\\"b\\\\c\\nd\"} 1\n");
    const ParsedExposition parsed = parse_exposition(text);
    REQUIRE(parsed.samples.size() == 1);
    CHECK(parsed.samples[0].labels.at(0).second == "a\"b\\c\nd");
    CHECK(parsed.help.at("t_state") == "Line one\nback\\slash \"quotes\" stay");
}

TEST_CASE("exposition: values", "[metrics][exposition]") {
    CHECK(format_value(0) == "0");
    CHECK(format_value(12345678901234) == "12345678901234");
    CHECK(format_value(-3) == "-3");
    CHECK(format_value(0.25) == "0.25");
    CHECK(format_value(INFINITY) == "+Inf");
    CHECK(format_value(-INFINITY) == "-Inf");
    CHECK(format_value(NAN) == "NaN");
}

TEST_CASE("exposition: what is written reads back to the same samples", "[metrics][exposition]") {
    Registry r;
    auto &h = r.histogram_family("t_seconds", "T.", {"op", "kind"});
    h.with({"read", "a,b"}).observe(3ms);
    h.with({"write", "}{"}).observe(40s);
    r.counter("t_bytes_total", "B.").inc(1u << 20);
    const auto families = r.collect();
    const ParsedExposition parsed = parse_exposition(write_exposition(families));
    std::vector<Sample> expected;
    for (const auto &f : families) {
        CHECK(parsed.type.at(f.name) == to_string(f.type));
        for (const auto &s : f.samples) expected.push_back(s);
    }
    REQUIRE(parsed.samples.size() == expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
        INFO(expected[i].name);
        CHECK(parsed.samples[i].name == expected[i].name);
        CHECK(parsed.samples[i].labels == expected[i].labels);
        CHECK(parsed.samples[i].value == Approx(expected[i].value));
    }
    // Histogram invariants a scraper relies on: buckets ascend, +Inf == _count.
    double last = 0;
    for (const auto &s : parsed.samples) {
        if (s.name != "t_seconds_bucket" || s.labels[0].second != "read") continue;
        CHECK(s.value >= last);
        last = s.value;
    }
    CHECK(last == 1);
}

TEST_CASE("exposition reader: malformed input is refused with a line number", "[metrics][exposition]") {
    auto error_of = [](const std::string &text) -> std::string {
        try {
            parse_exposition(text);
        } catch (const std::invalid_argument &e) {
            return e.what();
        }
        return "accepted";
    };
    CHECK(error_of("a 1\nb{x=\"1} 2\n").rfind("line 2: ", 0) == 0);
    CHECK(error_of("a{x=1} 1\n").rfind("line 1: ", 0) == 0);
    CHECK(error_of("a one\n").rfind("line 1: invalid value", 0) == 0);
    CHECK(error_of("a 1").rfind("line 1: missing final newline", 0) == 0);
    CHECK(error_of("9a 1\n").rfind("line 1: invalid metric name", 0) == 0);
    CHECK(error_of("a{x=\"\\q\"} 1\n").rfind("line 1: unknown escape", 0) == 0);
    CHECK(error_of("a 1 1700000000000\n# comment\n\n") == "accepted");
}
