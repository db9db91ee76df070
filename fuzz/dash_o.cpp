// `-o` option lists (command line, fstab, the mount helper) and the
// durations inside them: our options are applied to a Config, the rest is
// passed on to FUSE as given; a bad value of ours is a ConfigError, and
// fsname=/subtype= (cmkfs names its mounts itself) a UsageError.
#include <cstdint>
#include <stdexcept>
#include <string>

#include "config/config.h"
#include "fuzz_support.h"
#include "util/errors.h"

using namespace cmkfs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string_view text = fuzz::as_text(data, size);

    config::Config cfg;
    try {
        for (const auto &rest : config::apply_dash_o_list(cfg, text)) FUZZ_CHECK(!rest.empty());
        FUZZ_CHECK(cfg.revocation.check_interval >= config::kMinCheckInterval);
        FUZZ_CHECK(config::is_log_level(cfg.logging.level));
    } catch (const config::ConfigError &e) {
        FUZZ_CHECK(e.file() == "-o");
    } catch (const UsageError &) {
        // Documented for fsname= and subtype= only.
        FUZZ_CHECK(config::reserved_fuse_option_in(text).has_value());
    }
    // Splitting keeps every byte except the separating commas.
    size_t kept = 0;
    for (const auto &item : config::split_dash_o(text)) {
        FUZZ_CHECK(!item.raw.empty() && item.text.size() <= item.raw.size());
        kept += item.raw.size();
    }
    FUZZ_CHECK(kept <= text.size());
    (void)config::drop_mount_tool_options(text);

    try {
        const auto d = config::parse_duration(text);
        FUZZ_CHECK(d.count() >= 0);
        FUZZ_CHECK(config::parse_duration(config::format_duration(d)) == d);
    } catch (const std::invalid_argument &) {
    }
    return 0;
}
