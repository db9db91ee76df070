#include <catch2/catch.hpp>

#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "config/config.h"
#include "config/logging.h"

using namespace cmkfs::config;

namespace {
struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/cmkfs-logging-test-XXXXXX";
        REQUIRE(mkdtemp(tmpl) != nullptr);
        path = tmpl;
    }
    ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

std::string slurp(const std::string &path) {
    spdlog::default_logger()->flush();
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}
}  // namespace

TEST_CASE("background logging with a file writes time, level and thread id", "[config][logging]") {
    TempDir dir;
    LoggingConfig cfg;
    cfg.file = dir.path + "/cmkfs.log";
    setup_logging(cfg, false);
    spdlog::info("hello {}", 42);
    spdlog::debug("not at info");
    const std::string text = slurp(*cfg.file);
    CHECK(text.find("[info] [tid ") != std::string::npos);
    CHECK(text.find("hello 42") != std::string::npos);
    CHECK(text.find("not at info") == std::string::npos);
    CHECK(text.size() > 24);
    CHECK(text[4] == '-');  // starts with a date

    set_log_level("debug");
    spdlog::debug("now at debug");
    CHECK(slurp(*cfg.file).find("[debug]") != std::string::npos);

    set_log_level("error");
    spdlog::warn("hidden warning");
    CHECK(slurp(*cfg.file).find("hidden warning") == std::string::npos);
    setup_logging(LoggingConfig{}, true);  // leave stderr logging for other tests
}

TEST_CASE("set_log_level rejects unknown names", "[config][logging]") {
    setup_logging(LoggingConfig{}, true);
    CHECK_THROWS_WITH(set_log_level("verbose"),
                      "log level: expected one of debug, info, warn, error, got \"verbose\"");
    CHECK_THROWS_AS(set_log_level("warning"), ConfigError);
    CHECK_THROWS_AS(set_log_level(""), ConfigError);
    CHECK(spdlog::default_logger()->level() == spdlog::level::info);
    CHECK_NOTHROW(set_log_level("warn"));
    CHECK(spdlog::default_logger()->level() == spdlog::level::warn);
}

TEST_CASE("setup_logging rejects a bad level and an unwritable file", "[config][logging]") {
    LoggingConfig bad_level;
    bad_level.level = "loud";
    CHECK_THROWS_AS(setup_logging(bad_level, true), ConfigError);

    TempDir dir;
    std::ofstream(dir.path + "/plain") << "x";
    LoggingConfig bad_file;
    bad_file.file = dir.path + "/plain/cmkfs.log";  // parent is a regular file
    CHECK_THROWS_WITH(setup_logging(bad_file, false),
                      Catch::StartsWith(*bad_file.file + ": logging.file: expected a writable file, got "));
}

TEST_CASE("background logging without a file goes to syslog", "[config][logging]") {
    LoggingConfig cfg;
    cfg.level = "warn";
    setup_logging(cfg, false);
    REQUIRE(spdlog::default_logger()->sinks().size() == 1);
    CHECK(spdlog::default_logger()->level() == spdlog::level::warn);
    cfg.syslog = true;
    setup_logging(cfg, true);
    CHECK(spdlog::default_logger()->sinks().size() == 2);  // stderr + syslog
    setup_logging(LoggingConfig{}, true);
}
