// Config → YAML, in the shape parse_config reads (unset values are left out).
#include <yaml-cpp/yaml.h>

#include "config/config.h"

namespace cmkfs::config {

namespace {
void optional(YAML::Emitter &out, const char *key, const std::optional<std::string> &value) {
    if (value) out << YAML::Key << key << YAML::Value << *value;
}
}  // namespace

std::string to_yaml(const Config &cfg) {
    YAML::Emitter out;
    out << YAML::BeginMap;

    out << YAML::Key << "volume" << YAML::Value << YAML::BeginMap;
    optional(out, "backing", cfg.mount.backing);
    optional(out, "mountpoint", cfg.mount.mountpoint);
    out << YAML::EndMap;

    out << YAML::Key << "provider" << YAML::Value << YAML::BeginMap;
    optional(out, "name", cfg.provider.name);
    out << YAML::Key << "options" << YAML::Value << YAML::BeginMap;
    for (const auto &[k, v] : cfg.provider.options) out << YAML::Key << k << YAML::Value << v;
    out << YAML::EndMap << YAML::EndMap;

    out << YAML::Key << "key" << YAML::Value << YAML::BeginMap;
    optional(out, "key_encryption_key", cfg.key.key_encryption_key);
    optional(out, "identity", cfg.key.identity);
    out << YAML::EndMap;

    out << YAML::Key << "revocation" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "check_interval" << YAML::Value << format_duration(cfg.revocation.check_interval);
    out << YAML::Key << "unavailable_grace" << YAML::Value
        << format_duration(cfg.revocation.unavailable_grace);
    out << YAML::EndMap;

    out << YAML::Key << "logging" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "level" << YAML::Value << cfg.logging.level;
    optional(out, "file", cfg.logging.file);
    out << YAML::Key << "syslog" << YAML::Value << cfg.logging.syslog;
    optional(out, "audit_file", cfg.logging.audit_file);
    out << YAML::EndMap;

    out << YAML::Key << "fuse" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "options" << YAML::Value << YAML::BeginSeq;
    for (const auto &o : cfg.mount.fuse_options) out << o;
    out << YAML::EndSeq;
    out << YAML::Key << "allow_other" << YAML::Value << cfg.mount.allow_other;
    out << YAML::Key << "foreground" << YAML::Value << cfg.mount.foreground;
    out << YAML::Key << "wait_for_key" << YAML::Value << cfg.mount.wait_for_key;
    out << YAML::Key << "threads" << YAML::Value << cfg.mount.threads;
    out << YAML::EndMap;

    out << YAML::Key << "volume_plugin" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "root" << YAML::Value << cfg.volume_plugin.root;
    out << YAML::Key << "state_dir" << YAML::Value << cfg.volume_plugin.state_dir;
    out << YAML::Key << "socket" << YAML::Value << cfg.volume_plugin.socket;
    out << YAML::Key << "defaults" << YAML::Value << YAML::BeginMap;
    for (const auto &[k, v] : cfg.volume_plugin.defaults) out << YAML::Key << k << YAML::Value << v;
    out << YAML::EndMap;
    out << YAML::Key << "remove_on_rm" << YAML::Value << cfg.volume_plugin.remove_on_rm;
    optional(out, "metrics_listen", cfg.volume_plugin.metrics_listen);
    out << YAML::EndMap;

    out << YAML::Key << "metrics" << YAML::Value << YAML::BeginMap;
    optional(out, "listen", cfg.metrics.listen);
    out << YAML::EndMap;

    out << YAML::EndMap;
    return std::string(out.c_str()) + "\n";
}

}  // namespace cmkfs::config
