// The diagnostic log (spdlog's default logger). The audit log is separate (keys layer).
#pragma once

#include <string_view>

#include "config/config.h"

namespace cmkfs::config {

// Replaces spdlog's default logger:
//   foreground      → stderr (colored when a terminal)
//   background      → cfg.file if set, else syslog (ident "cmkfs", LOG_DAEMON)
//   cfg.syslog      → syslog as well, whatever the above chose
// Lines carry time, level and thread id. Throws ConfigError for a bad level or
// a log file that cannot be opened. Safe to call again (e.g. after daemonizing).
void setup_logging(const LoggingConfig &cfg, bool foreground);

// Sets the default logger's level: debug | info | warn | error; throws ConfigError otherwise.
void set_log_level(std::string_view level);

}  // namespace cmkfs::config
