// Reading a mount's metrics in tests: scrape an endpoint, or `cmkfs stats`,
// and look samples up by name and labels.
#pragma once

#include <catch2/catch.hpp>

#include <optional>
#include <string>

#include "metrics/exposition.h"
#include "support/http_get.h"
#include "support/process.h"

namespace cmkfs::test {

// The parsed exposition, checking the reply is a well-formed 0.0.4 scrape.
inline metrics::ParsedExposition scrape(const std::string &address) {
    const HttpReply r = http_get(address, "/metrics");
    INFO(r.headers << r.body.substr(0, 2000));
    REQUIRE(r.status == 200);
    REQUIRE(r.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
    return metrics::parse_exposition(r.body);
}

inline metrics::ParsedExposition stats(const std::string &mountpoint) {
    const CommandResult r = cli({"stats", mountpoint, "--output", "prometheus"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return metrics::parse_exposition(r.out);
}

// The value of the sample `name` whose labels include every pair of `labels`.
inline std::optional<double> value_of(const metrics::ParsedExposition &p, const std::string &name,
                                      const metrics::Labels &labels = {}) {
    for (const auto &s : p.samples) {
        if (s.name != name) continue;
        bool all = true;
        for (const auto &want : labels) {
            bool found = false;
            for (const auto &have : s.labels) found = found || have == want;
            all = all && found;
        }
        if (all) return s.value;
    }
    return std::nullopt;
}

inline double value_or_zero(const metrics::ParsedExposition &p, const std::string &name,
                            const metrics::Labels &labels = {}) {
    return value_of(p, name, labels).value_or(0);
}

inline double op_count(const metrics::ParsedExposition &p, const std::string &op) {
    return value_or_zero(p, "cmkfs_fuse_operation_duration_seconds_count", {{"op", op}});
}

}  // namespace cmkfs::test
