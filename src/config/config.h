// The declarative description of one volume and its mount: plain structs, a
// YAML loader whose every diagnostic names file:line:column (1-based) and the
// key path, and the parser for our own `-o` mount options.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/errors.h"

namespace cmkfs::config {

// Which key provider wraps the volume key.
struct ProviderConfig {
    // "local", "pkcs11", "azure-keyvault", "exec", ... or an absolute path to a .so.
    std::optional<std::string> name;
    // Non-secret key=value strings handed to the plugin as they are.
    std::map<std::string, std::string> options;
    bool operator==(const ProviderConfig &) const = default;
};

struct KeyConfig {
    // Key id of the customer-managed key; version-less means "latest" (auto-rotation).
    std::optional<std::string> key_encryption_key;
    // The identity the provider authenticates as.
    std::optional<std::string> identity;
    bool operator==(const KeyConfig &) const = default;
};

inline constexpr std::chrono::seconds kMinCheckInterval{1};

struct RevocationConfig {
    // How often the key is checked with the provider; at least kMinCheckInterval.
    std::chrono::seconds check_interval{30};
    // How long an unavailable provider (network, timeout, 5xx) is tolerated before locking.
    std::chrono::seconds unavailable_grace{300};
    bool operator==(const RevocationConfig &) const = default;
};

struct LoggingConfig {
    std::string level = "info";  // debug | info | warn | error
    // Daemon log file; when unset a background mount logs to syslog.
    std::optional<std::string> file;
    // Also send the log to syslog, whatever else is chosen.
    bool syslog = false;
    // Audit log of every wrap/unwrap/check (written by the keys layer).
    std::optional<std::string> audit_file;
    bool operator==(const LoggingConfig &) const = default;
};

inline constexpr unsigned kMaxThreads = 64;

struct MountConfig {
    std::optional<std::string> backing;
    std::optional<std::string> mountpoint;
    std::vector<std::string> fuse_options;  // passed to libfuse as they are
    bool allow_other = false;
    bool foreground = false;
    bool wait_for_key = false;  // mount locked and wait when the key is unreachable at start
    unsigned threads = 0;       // 0 = libfuse default; at most kMaxThreads
    // The kernel's writeback cache (docs/performance.md): faster small writes,
    // drained under the key before a lock; the kernel owns mtimes and the
    // daemon keeps them (store/content.h). Never in shared-storage mode or
    // with one request thread.
    bool writeback_cache = true;
    bool operator==(const MountConfig &) const = default;
};

// `cmkfs volume-plugin`: where Docker volumes live and what `docker volume
// create -d cmkfs` assumes when an -o option is left out.
struct VolumePluginConfig {
    // One directory per volume: ROOT/NAME/store is the cmkfs store.
    std::string root = "/var/lib/cmkfs/volumes";
    // Mountpoints and the plugin's record of Docker's mount IDs; lost at
    // reboot together with the mounts it describes.
    std::string state_dir = "/run/cmkfs/volume-plugin";
    // Where dockerd finds the plugin (it looks in /run/docker/plugins).
    std::string socket = "/run/docker/plugins/cmkfs.sock";
    // Values for the create options (kVolumeCreateOptions) a volume does not name.
    std::map<std::string, std::string> defaults;
    // `docker volume rm` deletes the ciphertext too (else it is kept aside).
    bool remove_on_rm = false;
    // The plugin's own /metrics (volumes, mounts), like metrics.listen of a
    // mount; not metrics.listen itself, which every volume's mount daemon reads.
    std::optional<std::string> metrics_listen;
    bool operator==(const VolumePluginConfig &) const = default;
};

// The `-o` options of `docker volume create -d cmkfs` (and keys of
// volume_plugin.defaults).
inline constexpr std::string_view kVolumeCreateOptions[] = {"key-encryption-key", "identity", "provider", "vault",
                                                            "remove-on-rm"};
bool is_volume_create_option(std::string_view name);

struct MetricsConfig {
    // Where to serve /metrics (metrics/listen_address.h: 127.0.0.1:PORT,
    // [::1]:PORT or unix:/PATH). Unset: no endpoint (the default).
    std::optional<std::string> listen;
    bool operator==(const MetricsConfig &) const = default;
};

struct Config {
    std::string source;  // the file it was read from, or "" when built otherwise
    ProviderConfig provider;
    KeyConfig key;
    RevocationConfig revocation;
    LoggingConfig logging;
    MountConfig mount;
    VolumePluginConfig volume_plugin;
    MetricsConfig metrics;
    // How this host is named to the other hosts of a shared store (messages
    // only); unset: $CMKFS_HOST_NAME, else gethostname().
    std::optional<std::string> host_name;
    bool operator==(const Config &) const = default;
};

// A configuration the user must fix. what() is
//   "<file>:<line>:<column>: <key.path>: <expected>, got <actual>"
// or, without a position (line() == 0), "<file>: <key.path>: <expected>, got <actual>";
// or "<file>: <detail>" when there is no key either (e.g. unreadable file).
class ConfigError : public cmkfs::UsageError {
public:
    ConfigError(std::string file, int line, int column, std::string key_path,
                std::string detail);
    ConfigError(std::string file, std::string detail);

    const std::string &file() const noexcept { return file_; }
    int line() const noexcept { return line_; }      // 1-based; 0 = no position
    int column() const noexcept { return column_; }  // 1-based; 0 = no position
    const std::string &key_path() const noexcept { return key_path_; }
    const std::string &detail() const noexcept { return detail_; }  // "<expected>, got <actual>"

private:
    std::string file_;
    int line_ = 0;
    int column_ = 0;
    std::string key_path_;
    std::string detail_;
};

// Reads and validates a YAML config file; cfg.source is set to `path`.
Config load_config_file(const std::string &path);
// Same, from text; `source_name` is used in messages and stored in cfg.source.
Config parse_config(const std::string &yaml_text, const std::string &source_name);
// YAML text that parse_config reads back into an equal Config (source aside).
std::string to_yaml(const Config &cfg);

// "30s", "5m", "1h", "1h30m", "1h30m15s", or a plain integer (seconds). Units
// appear at most once, in the order h, m, s. Throws std::invalid_argument.
std::chrono::seconds parse_duration(std::string_view text);
// The shortest form parse_duration reads back: "0s", "45s", "5m", "1h30m".
std::string format_duration(std::chrono::seconds d);

// Log level names accepted in the config and by -o log_level.
bool is_log_level(std::string_view name);

// fsname= and subtype= are cmkfs's to set (tools find a mount by them):
// true for such an option (one item, unescaped), and the first one's name in
// a comma-separated list.
bool is_reserved_fuse_option(std::string_view option);
std::optional<std::string> reserved_fuse_option_in(std::string_view options);

// Applies one of our own `-o` options to cfg and returns true:
//   check_interval=DUR, unavailable_grace=DUR, allow_other, log_level=L,
//   metrics=ADDR, config=PATH (the caller reads the file first; ignored here).
// Returns false for anything else, which the caller passes on to FUSE.
// Throws ConfigError (file "-o") for a bad value of one of ours, and
// UsageError for fsname= or subtype=.
bool apply_dash_o(Config &cfg, std::string_view option);
// Splits a comma-separated -o argument ("\," escapes a comma), applies ours,
// and returns the rest, in order, for FUSE.
std::vector<std::string> apply_dash_o_list(Config &cfg, std::string_view options);

// One item of a comma-separated -o argument: `raw` as given, escapes kept (what
// FUSE must see), `text` with "\," and "\\" unescaped (what we interpret).
struct DashOItem {
    std::string raw;
    std::string text;
};
std::vector<DashOItem> split_dash_o(std::string_view options);

// Removes the options that only mount(8) and systemd act on (rw, defaults,
// auto, noauto, user, users, nouser, owner, group, _netdev, nofail, x-*,
// comment=*) from a -o argument, keeping the rest as given, comma-joined.
std::string drop_mount_tool_options(std::string_view options);

}  // namespace cmkfs::config
