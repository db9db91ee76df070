// Our own `-o` mount options; everything else belongs to FUSE.
#include <optional>
#include <stdexcept>

#include "config/config.h"
#include "metrics/listen_address.h"
#include "util/errors.h"

namespace cmkfs::config {

namespace {
const std::string kSource = "-o";

[[noreturn]] void bad(std::string_view name, const std::string &expected, std::string_view got) {
    throw ConfigError(kSource, 0, 0, std::string(name), expected + ", got \"" + std::string(got) + "\"");
}

std::chrono::seconds duration_value(std::string_view name, std::string_view value,
                                    std::chrono::seconds min) {
    std::chrono::seconds d{};
    try {
        d = parse_duration(value);
    } catch (const std::invalid_argument &) {
        bad(name, "expected a duration such as 30s, 5m or 1h30m", value);
    }
    if (d < min) bad(name, "expected a duration of at least " + format_duration(min), value);
    return d;
}
}  // namespace

bool is_reserved_fuse_option(std::string_view option) {
    const std::string_view name = option.substr(0, option.find('='));
    return name == "fsname" || name == "subtype";
}

std::optional<std::string> reserved_fuse_option_in(std::string_view options) {
    for (const auto &item : split_dash_o(options))
        if (is_reserved_fuse_option(item.text)) return item.text.substr(0, item.text.find('='));
    return std::nullopt;
}

bool apply_dash_o(Config &cfg, std::string_view option) {
    const size_t eq = option.find('=');
    const std::string_view name = option.substr(0, eq);
    const bool has_value = eq != std::string_view::npos;
    const std::string_view value = has_value ? option.substr(eq + 1) : std::string_view();

    // cmkfs names the mount (source = backing directory, type fuse.cmkfs);
    // umount, lock and `encryption show` find a mount by those.
    if (is_reserved_fuse_option(option))
        throw UsageError("-o " + std::string(name) +
                         "= is not allowed: cmkfs sets the mount's fsname and subtype itself");

    if (name == "allow_other" || name == "writeback_cache" || name == "no_writeback_cache") {
        if (has_value) bad(name, "expected " + std::string(name) + " without a value", option);
        if (name == "allow_other") cfg.mount.allow_other = true;
        else cfg.mount.writeback_cache = name == "writeback_cache";
        return true;
    }
    const bool ours = name == "check_interval" || name == "unavailable_grace" ||
                      name == "log_level" || name == "metrics" || name == "config";
    if (!ours) return false;
    if (!has_value || value.empty()) bad(name, "expected " + std::string(name) + "=VALUE", option);

    if (name == "check_interval") {
        cfg.revocation.check_interval = duration_value(name, value, kMinCheckInterval);
    } else if (name == "unavailable_grace") {
        cfg.revocation.unavailable_grace = duration_value(name, value, std::chrono::seconds(0));
    } else if (name == "log_level") {
        if (!is_log_level(value)) bad(name, "expected one of debug, info, warn, error", value);
        cfg.logging.level = std::string(value);
    } else if (name == "metrics") {
        try {
            metrics::parse_listen_address(value);
        } catch (const metrics::ListenAddressError &e) {
            bad(name, "expected " + e.expected(), value);
        }
        cfg.metrics.listen = std::string(value);
    }
    // config=PATH was read by the caller before the other options were applied.
    return true;
}

std::vector<DashOItem> split_dash_o(std::string_view options) {
    std::vector<DashOItem> items;
    DashOItem item;
    auto flush = [&] {
        if (!item.raw.empty()) items.push_back(std::move(item));
        item = DashOItem{};
    };
    for (size_t i = 0; i < options.size(); ++i) {
        const char c = options[i];
        if (c == ',') {
            flush();
            continue;
        }
        item.raw += c;
        if (c == '\\' && i + 1 < options.size()) {
            item.raw += options[++i];
            item.text += options[i];
            continue;
        }
        item.text += c;
    }
    flush();
    return items;
}

std::vector<std::string> apply_dash_o_list(Config &cfg, std::string_view options) {
    std::vector<std::string> for_fuse;
    for (auto &item : split_dash_o(options))
        if (!apply_dash_o(cfg, item.text)) for_fuse.push_back(std::move(item.raw));
    return for_fuse;
}

}  // namespace cmkfs::config
