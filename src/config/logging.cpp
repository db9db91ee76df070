#include "config/logging.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>
#include <syslog.h>

#include <memory>
#include <vector>

namespace cmkfs::config {

namespace {
constexpr const char *kPattern = "%Y-%m-%d %H:%M:%S.%e [%l] [tid %t] %v";
constexpr const char *kSyslogPattern = "[%l] [tid %t] %v";  // syslog adds the time itself

spdlog::level::level_enum level_from_name(std::string_view name) {
    if (name == "debug") return spdlog::level::debug;
    if (name == "info") return spdlog::level::info;
    if (name == "warn") return spdlog::level::warn;
    if (name == "error") return spdlog::level::err;
    throw ConfigError("log level", "expected one of debug, info, warn, error, got \"" +
                                       std::string(name) + "\"");
}

spdlog::sink_ptr syslog_sink() {
    auto sink = std::make_shared<spdlog::sinks::syslog_sink_mt>("cmkfs", LOG_PID, LOG_DAEMON, true);
    sink->set_pattern(kSyslogPattern);
    return sink;
}
}  // namespace

void setup_logging(const LoggingConfig &cfg, bool foreground) {
    const auto level = level_from_name(cfg.level);
    std::vector<spdlog::sink_ptr> sinks;
    bool to_syslog = cfg.syslog;
    if (foreground) {
        sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    } else if (cfg.file) {
        try {
            sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(*cfg.file));
        } catch (const spdlog::spdlog_ex &e) {
            throw ConfigError(*cfg.file, 0, 0, "logging.file",
                              std::string("expected a writable file, got ") + e.what());
        }
    } else {
        to_syslog = true;
    }
    for (auto &sink : sinks) sink->set_pattern(kPattern);
    if (to_syslog) sinks.push_back(syslog_sink());

    auto logger = std::make_shared<spdlog::logger>("cmkfs", sinks.begin(), sinks.end());
    logger->set_level(level);
    logger->flush_on(spdlog::level::info);  // low volume; a crash must not lose the last lines
    spdlog::set_default_logger(std::move(logger));
}

void set_log_level(std::string_view level) {
    spdlog::default_logger()->set_level(level_from_name(level));
}

}  // namespace cmkfs::config
