// The config file schema: one small reader per top-level section.
#include "config/config.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <sstream>

#include "config/yaml_guard.h"
#include "config/yaml_reader.h"
#include "metrics/listen_address.h"
#include "util/errors.h"
#include "util/file_io.h"

namespace cmkfs::config {

namespace {
using detail::Entry;
using detail::YamlReader;

// A built-in provider name, or an absolute path to a plugin.
bool is_provider_name(const std::string &name) {
    if (name.front() == '/') return true;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    });
}

void read_volume(const YamlReader &r, const Entry &section, MountConfig &m) {
    r.for_each_key(section, {"backing", "mountpoint"}, [&](const std::string &key, const Entry &e) {
        (key == "backing" ? m.backing : m.mountpoint) = r.optional_string(e);
    });
}

void read_provider(const YamlReader &r, const Entry &section, ProviderConfig &p) {
    r.for_each_key(section, {"name", "options"}, [&](const std::string &key, const Entry &e) {
        if (key == "options") {
            p.options = r.string_map(e);
            return;
        }
        p.name = r.optional_string(e);
        if (p.name && !is_provider_name(*p.name)) {
            r.fail(e, "expected a provider name (local, pkcs11, azure-keyvault, exec) "
                      "or an absolute path to a plugin");
        }
    });
}

void read_key(const YamlReader &r, const Entry &section, KeyConfig &k) {
    r.for_each_key(section, {"key_encryption_key", "identity"},
                   [&](const std::string &key, const Entry &e) {
                       (key == "identity" ? k.identity : k.key_encryption_key) = r.optional_string(e);
                   });
}

void read_revocation(const YamlReader &r, const Entry &section, RevocationConfig &rc) {
    r.for_each_key(section, {"check_interval", "unavailable_grace"},
                   [&](const std::string &key, const Entry &e) {
                       if (key == "check_interval") {
                           rc.check_interval = r.duration(e, kMinCheckInterval);
                       } else {
                           rc.unavailable_grace = r.duration(e, std::chrono::seconds(0));
                       }
                   });
}

void read_logging(const YamlReader &r, const Entry &section, LoggingConfig &l) {
    r.for_each_key(section, {"level", "file", "syslog", "audit_file"},
                   [&](const std::string &key, const Entry &e) {
                       if (key == "level") {
                           l.level = r.string(e);
                           if (!is_log_level(l.level)) r.fail(e, "expected one of debug, info, warn, error");
                       } else if (key == "syslog") {
                           l.syslog = r.boolean(e);
                       } else {
                           (key == "file" ? l.file : l.audit_file) = r.optional_string(e);
                       }
                   });
}

void read_fuse(const YamlReader &r, const Entry &section, MountConfig &m) {
    r.for_each_key(section, {"options", "allow_other", "foreground", "wait_for_key", "threads", "writeback_cache"},
                   [&](const std::string &key, const Entry &e) {
                       if (key == "options") {
                           m.fuse_options = r.string_list(e);
                           for (const auto &option : m.fuse_options)
                               if (auto name = reserved_fuse_option_in(option))
                                   r.fail(e, "FUSE options without " + *name +
                                                 "= (cmkfs sets the mount's fsname and subtype itself)");
                       } else if (key == "threads") {
                           m.threads = r.integer(e, kMaxThreads);
                       } else {
                           bool &flag = key == "allow_other"       ? m.allow_other
                                        : key == "foreground"      ? m.foreground
                                        : key == "writeback_cache" ? m.writeback_cache
                                                                   : m.wait_for_key;
                           flag = r.boolean(e);
                       }
                   });
}

// A metrics endpoint's address (metrics/listen_address.h), or unset for null.
std::optional<std::string> listen_address(const YamlReader &r, const Entry &e) {
    std::optional<std::string> listen = r.optional_string(e);
    if (!listen) return listen;
    try {
        metrics::parse_listen_address(*listen);
    } catch (const metrics::ListenAddressError &err) {
        r.fail(e, "expected " + err.expected());
    }
    return listen;
}

void read_volume_plugin(const YamlReader &r, const Entry &section, VolumePluginConfig &v) {
    r.for_each_key(section, {"root", "state_dir", "socket", "defaults", "remove_on_rm", "metrics_listen"},
                   [&](const std::string &key, const Entry &e) {
                       if (key == "metrics_listen") {
                           v.metrics_listen = listen_address(r, e);
                       } else if (key == "defaults") {
                           // The names of kVolumeCreateOptions (for_each_key takes a braced list).
                           r.for_each_key(e, {"key-encryption-key", "identity", "provider", "vault", "remove-on-rm"},
                                          [&](const std::string &name, const Entry &value) {
                                              v.defaults[name] = r.string(value);
                                          });
                       } else if (key == "remove_on_rm") {
                           v.remove_on_rm = r.boolean(e);
                       } else {
                           std::string &path = key == "root" ? v.root : key == "state_dir" ? v.state_dir : v.socket;
                           path = r.string(e);
                           if (path.front() != '/') r.fail(e, "expected an absolute path");
                       }
                   });
}

void read_metrics(const YamlReader &r, const Entry &section, MetricsConfig &m) {
    r.for_each_key(section, {"listen"}, [&](const std::string &, const Entry &e) { m.listen = listen_address(r, e); });
}

}  // namespace

bool is_volume_create_option(std::string_view name) {
    return std::find(std::begin(kVolumeCreateOptions), std::end(kVolumeCreateOptions), name) !=
           std::end(kVolumeCreateOptions);
}

bool is_log_level(std::string_view name) {
    return name == "debug" || name == "info" || name == "warn" || name == "error";
}

Config parse_config(const std::string &yaml_text, const std::string &source_name) {
    const YAML::Node root = detail::load_bounded_document(yaml_text, source_name);
    const YamlReader r(source_name);
    Config cfg;
    cfg.source = source_name;
    const Entry top{root, "", YAML::Mark()};  // an empty document is all defaults
    r.for_each_key(top, {"volume", "provider", "key", "revocation", "logging", "fuse", "volume_plugin", "metrics",
                         "host_name"},
                   [&](const std::string &key, const Entry &section) {
                       if (key == "volume") read_volume(r, section, cfg.mount);
                       if (key == "provider") read_provider(r, section, cfg.provider);
                       if (key == "key") read_key(r, section, cfg.key);
                       if (key == "revocation") read_revocation(r, section, cfg.revocation);
                       if (key == "logging") read_logging(r, section, cfg.logging);
                       if (key == "fuse") read_fuse(r, section, cfg.mount);
                       if (key == "volume_plugin") read_volume_plugin(r, section, cfg.volume_plugin);
                       if (key == "metrics") read_metrics(r, section, cfg.metrics);
                       if (key == "host_name") cfg.host_name = r.string(section);
                   });
    return cfg;
}

Config load_config_file(const std::string &path) {
    std::string text;
    try {
        text = read_text_file(path);
    } catch (const SystemError &e) {
        // read_text_file refuses a FIFO, device or directory (EIO) and a file
        // over its bound (EFBIG): a config must not hang us or exhaust memory.
        const int err = e.error_number();
        const std::string why = err == EIO     ? "not a regular file"
                                : err == EFBIG ? "larger than " + std::to_string(kMaxSmallFileSize) +
                                                     " bytes, the limit for a config file"
                                               : errno_text(err);
        throw ConfigError(path, "cannot read: " + why);
    }
    return parse_config(text, path);
}

}  // namespace cmkfs::config
