#include <catch2/catch.hpp>

#include "config/config.h"
#include "util/errors.h"

using cmkfs::config::apply_dash_o;
using cmkfs::config::apply_dash_o_list;
using cmkfs::config::Config;
using cmkfs::config::ConfigError;
using cmkfs::config::is_reserved_fuse_option;
using cmkfs::config::reserved_fuse_option_in;
using std::chrono::seconds;

TEST_CASE("-o: our options change the config and are consumed", "[config][dash_o]") {
    Config cfg;
    CHECK(apply_dash_o(cfg, "check_interval=1s"));
    CHECK(cfg.revocation.check_interval == seconds(1));
    CHECK(apply_dash_o(cfg, "unavailable_grace=1h30m"));
    CHECK(cfg.revocation.unavailable_grace == seconds(5400));
    CHECK(apply_dash_o(cfg, "unavailable_grace=0"));
    CHECK(cfg.revocation.unavailable_grace == seconds(0));
    CHECK_FALSE(cfg.mount.allow_other);
    CHECK(apply_dash_o(cfg, "allow_other"));
    CHECK(cfg.mount.allow_other);
    CHECK(cfg.mount.writeback_cache);  // on by default (config.h)
    CHECK(apply_dash_o(cfg, "no_writeback_cache"));
    CHECK_FALSE(cfg.mount.writeback_cache);
    CHECK(apply_dash_o(cfg, "writeback_cache"));
    CHECK(cfg.mount.writeback_cache);
    CHECK_THROWS_AS(apply_dash_o(cfg, "no_writeback_cache=1"), ConfigError);
    CHECK(apply_dash_o(cfg, "log_level=debug"));
    CHECK(cfg.logging.level == "debug");
    CHECK(apply_dash_o(cfg, "metrics=127.0.0.1:9464"));
    CHECK(cfg.metrics.listen == "127.0.0.1:9464");
    CHECK(apply_dash_o(cfg, "metrics=unix:/run/cmkfs/m.sock"));
    CHECK(cfg.metrics.listen == "unix:/run/cmkfs/m.sock");
    const Config before = cfg;
    CHECK(apply_dash_o(cfg, "config=/etc/cmkfs/x.yaml"));
    CHECK(cfg == before);
}

TEST_CASE("-o: other options are left for FUSE", "[config][dash_o]") {
    Config cfg;
    const Config before = cfg;
    for (const char *opt : {"default_permissions", "ro", "max_read=131072", "blksize=4096",
                            "allow_root", "check_interval_x=5s", "auto_unmount"}) {
        INFO(opt);
        CHECK_FALSE(apply_dash_o(cfg, opt));
    }
    CHECK(cfg == before);
}

TEST_CASE("-o: bad values of our options are errors from \"-o\"", "[config][dash_o]") {
    Config cfg;
    auto error_of = [&](const char *opt) -> std::string {
        try {
            apply_dash_o(cfg, opt);
        } catch (const ConfigError &e) {
            CHECK(e.file() == "-o");
            CHECK(e.line() == 0);
            return e.what();
        }
        FAIL("no ConfigError for " << opt);
        return "";
    };
    CHECK(error_of("check_interval=0s") ==
          "-o: check_interval: expected a duration of at least 1s, got \"0s\"");
    CHECK(error_of("check_interval=soon") ==
          "-o: check_interval: expected a duration such as 30s, 5m or 1h30m, got \"soon\"");
    CHECK(error_of("check_interval") ==
          "-o: check_interval: expected check_interval=VALUE, got \"check_interval\"");
    CHECK(error_of("unavailable_grace=") ==
          "-o: unavailable_grace: expected unavailable_grace=VALUE, got \"unavailable_grace=\"");
    CHECK(error_of("log_level=verbose") ==
          "-o: log_level: expected one of debug, info, warn, error, got \"verbose\"");
    CHECK(error_of("metrics=192.168.1.5:9464").find("-o: metrics: expected a loopback address") == 0);
    CHECK(error_of("metrics=9464").find("-o: metrics: expected 127.0.0.1:PORT") == 0);
    CHECK(error_of("metrics=") == "-o: metrics: expected metrics=VALUE, got \"metrics=\"");
    CHECK(error_of("allow_other=1") ==
          "-o: allow_other: expected allow_other without a value, got \"allow_other=1\"");
    CHECK(cfg == Config{});  // nothing applied by a failing option
}

TEST_CASE("-o list: splits on commas, applies ours, returns the rest in order", "[config][dash_o]") {
    Config cfg;
    const auto rest = apply_dash_o_list(
        cfg, "ro,check_interval=2s,x-note=a\\,b,allow_other,,config=/x.yaml,max_read=4096,log_level=warn");
    CHECK(rest == std::vector<std::string>{"ro", "x-note=a\\,b", "max_read=4096"});
    CHECK(cfg.revocation.check_interval == seconds(2));
    CHECK(cfg.mount.allow_other);
    CHECK(cfg.logging.level == "warn");
    CHECK(apply_dash_o_list(cfg, "").empty());
    CHECK_THROWS_AS(apply_dash_o_list(cfg, "ro,check_interval=0"), ConfigError);
}

TEST_CASE("-o: fsname= and subtype= are cmkfs's, refused as usage errors", "[config][dash_o]") {
    Config cfg;
    for (const char *opt : {"fsname=foo", "subtype=bar", "fsname", "subtype="}) {
        INFO(opt);
        CHECK(is_reserved_fuse_option(opt));
        CHECK_THROWS_WITH(apply_dash_o(cfg, opt), Catch::Matchers::Contains("is not allowed"));
    }
    CHECK_THROWS_AS(apply_dash_o_list(cfg, "ro,fsname=a\\,allow_other"), cmkfs::UsageError);
    CHECK_FALSE(is_reserved_fuse_option("fsnamex=1"));
    CHECK(reserved_fuse_option_in("ro,subtype=x") == std::optional<std::string>("subtype"));
    CHECK_FALSE(reserved_fuse_option_in("ro,x-fsname=1").has_value());
    CHECK(cfg == Config{});
}
