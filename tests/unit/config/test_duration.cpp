#include <catch2/catch.hpp>

#include <stdexcept>

#include "config/config.h"

using cmkfs::config::format_duration;
using cmkfs::config::parse_duration;
using std::chrono::seconds;

TEST_CASE("parse_duration reads units and plain seconds", "[config][duration]") {
    CHECK(parse_duration("30s") == seconds(30));
    CHECK(parse_duration("5m") == seconds(300));
    CHECK(parse_duration("1h") == seconds(3600));
    CHECK(parse_duration("1h30m") == seconds(5400));
    CHECK(parse_duration("1h30m15s") == seconds(5415));
    CHECK(parse_duration("2m5s") == seconds(125));
    CHECK(parse_duration("0s") == seconds(0));
    CHECK(parse_duration("0") == seconds(0));
    CHECK(parse_duration("45") == seconds(45));
    CHECK(parse_duration("90s") == seconds(90));
}

TEST_CASE("parse_duration rejects malformed text", "[config][duration]") {
    for (const char *bad : {"", "s", "m5", "5x", "5 m", " 5s", "5s ", "-5s", "+5s", "1.5h", "5ms",
                            "30m1h", "1h1h", "5s5", "1h30", "abc", "99999999999999999999"}) {
        INFO("input: \"" << bad << "\"");
        CHECK_THROWS_AS(parse_duration(bad), std::invalid_argument);
    }
}

TEST_CASE("parse_duration names the input in its message", "[config][duration]") {
    CHECK_THROWS_WITH(parse_duration("5x"), Catch::Contains("\"5x\"") && Catch::Contains("unit"));
}

TEST_CASE("format_duration is read back by parse_duration", "[config][duration]") {
    CHECK(format_duration(seconds(0)) == "0s");
    CHECK(format_duration(seconds(45)) == "45s");
    CHECK(format_duration(seconds(300)) == "5m");
    CHECK(format_duration(seconds(5400)) == "1h30m");
    CHECK(format_duration(seconds(3601)) == "1h1s");
    for (long s : {0L, 1L, 59L, 60L, 61L, 3599L, 3600L, 3661L, 86400L, 123456L}) {
        CHECK(parse_duration(format_duration(seconds(s))) == seconds(s));
    }
}
