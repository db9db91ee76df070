// cmkfs mount [BACKING [MOUNTPOINT]] [-f] [-o OPTIONS] [--config FILE] [--wait-for-key]
// Unwraps the volume key through the provider and serves the store with FUSE.
#include <openssl/crypto.h>
#include <sys/stat.h>

#include <iostream>
#include <optional>

#include <spdlog/spdlog.h>

#include "cli/command_error.h"
#include "cli/commands.h"
#include "cli/control_rotation.h"
#include "cli/control_status.h"
#include "cli/daemonize.h"
#include "cli/error_report.h"
#include "cli/mount_conflicts.h"
#include "cli/volume_access.h"
#include "config/logging.h"
#include "crypto/secure_bytes.h"
#include "custody/audit_log.h"
#include "custody/custodian.h"
#include "daemon/control_protocol.h"
#include "daemon/control_socket.h"
#include "daemon/key_metrics.h"
#include "fs/cache_invalidator.h"
#include "fs/filesystem.h"
#include "fs/session.h"
#include "fs/writeback_drain.h"
#include "keys/key_provider.h"
#include "keys/timed_provider.h"
#include "metrics/exposition.h"
#include "metrics/fs_metrics.h"
#include "metrics/http_server.h"
#include "store/keyring.h"
#include "store/shared_locks.h"
#include "util/errors.h"
#include "util/fd_limit.h"

namespace cmkfs::cli {

namespace {

struct MountArgs {
    std::string backing;
    std::string mountpoint;
    bool foreground = false;
    bool debug = false;
    bool wait_for_key = false;
    std::vector<std::string> options;
    std::string config_path;
};

// Our own -o options go into the config; the rest go to FUSE after the
// config's fuse.options. A config=FILE option is read first so that the other
// -o options override it. BACKING and MOUNTPOINT default to the config's
// volume.backing and volume.mountpoint (systemd units and fstab lines name
// only the config).
config::Config resolve_config(MountArgs &args, std::vector<std::string> &fuse_options) {
    std::string path = args.config_path;
    for (const auto &list : args.options)
        for (const auto &item : config::split_dash_o(list))
            if (item.text.rfind("config=", 0) == 0) path = item.text.substr(7);
    config::Config cfg = load_config_or_default(path);
    fuse_options = cfg.mount.fuse_options;
    for (const auto &list : args.options)
        for (auto &opt : config::apply_dash_o_list(cfg, list)) fuse_options.push_back(std::move(opt));
    if (args.foreground) cfg.mount.foreground = true;
    if (args.wait_for_key) cfg.mount.wait_for_key = true;
    if (args.backing.empty()) args.backing = cfg.mount.backing.value_or("");
    if (args.mountpoint.empty()) args.mountpoint = cfg.mount.mountpoint.value_or("");
    if (args.backing.empty()) throw UsageError("mount: BACKING is required (or volume.backing in the config)");
    if (args.mountpoint.empty())
        throw UsageError("mount: MOUNTPOINT is required (or volume.mountpoint in the config)");
    return cfg;
}

void check_directory(const std::string &path, const char *what) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        throw CommandError(what[0] == 'b' ? kBackingError : kMountFailed,
                           SystemError(errno, std::string(what) + " " + path).what());
    if (!S_ISDIR(st.st_mode))
        throw CommandError(what[0] == 'b' ? kBackingError : kMountFailed,
                           std::string(what) + " " + path + " is not a directory");
}

std::string exposition() { return metrics::write_exposition(metrics::registry().collect()); }

// The control socket reads the key state from the custodian, its one source
// of truth, at each request: it needs no observer.
nlohmann::json handle_control(const nlohmann::json &request, custody::Custodian &custodian) {
    const std::string op = daemon::control_op(request);
    if (op == "rotate-key") return handle_rotate_request(request, custodian);
    if (op == "stats") return {{"ok", true}, {"metrics", exposition()}};
    if (op == "lock") custodian.emergency_lock();
    else if (op == "unlock") custodian.unlock_by_operator();
    else if (op != "status") return {{"ok", false}, {"error", "unknown operation '" + op + "'"}};
    // The key settings this daemon serves with: the backing's header may say
    // otherwise (a substituted header this daemon refused, FORMAT.md §13.3).
    const format::VolumeHeader header = custodian.header();
    return {{"ok", true},
            {"status", monitor_status_json(custodian.status())},
            {"keySettings",
             {{"keyId", header.key_id},
              {"versionedKeyId", header.versioned_key_id},
              {"identity", header.identity},
              {"lastRotation", header.last_rotation}}}};
}

void serve(const MountArgs &args, const config::Config &cfg, const std::vector<std::string> &fuse_options,
           Daemonizer *daemon) {
    config::setup_logging(cfg.logging, cfg.mount.foreground);
    const std::string backing = absolute_path(args.backing);
    const std::string mountpoint = absolute_path(args.mountpoint);
    check_directory(backing, "backing directory");
    check_directory(mountpoint, "mountpoint");

    const uint64_t fd_limit = raise_open_file_limit();
    spdlog::debug("open-file limit {} (one descriptor per inode the kernel caches)", fd_limit);
    OpenedVolume opened = open_volume_with_provider(backing, cfg);
    refuse_mount_target(opened.volume->root_fd(), backing, mountpoint);
    // The store lock next: across hosts it is what says who holds the store
    // (and in which mode); the claims then keep this host to one mount.
    const store::StoreLock in_use = lock_store_for_mount(*opened.volume, mountpoint);  // held while serving
    const auto claims = claim_mount(opened.volume->root_fd(), backing, mountpoint,
                                    opened.volume->header().shared_storage);  // held while serving
    store::Keyring keyring;
    custody::AuditLog audit(cfg.logging.audit_file.value_or(""), mountpoint, opened.volume->header().volume_id);
    // Metrics are always counted (a relaxed add per event); only the
    // endpoint is optional. `cmkfs stats` reads them over the control socket.
    metrics::register_filesystem_metrics();
    daemon::KeyMetrics key_metrics;
    auto provider = std::make_shared<keys::TimedProvider>(std::move(opened.provider),
                                                          key_metrics.provider_call_observer());
    // Shared storage: another host's change must show after close-to-open, so
    // the kernel keeps no entries or attributes (file pages are dropped on
    // every open already), content operations lock the backing file, names
    // are made under a lock across hosts (store/tree_lock.h), and every key
    // check reads the header again for another host's rotation.
    const bool shared = opened.volume->header().shared_storage;
    store::enable_shared_storage_locks(shared);
    fs::FsOptions fs_options;
    if (shared) fs_options.attr_timeout = fs_options.entry_timeout = 0.0;
    if (shared) spdlog::info("shared-storage mode: no kernel entry/attribute caching, byte-range locks on files");
    custody::CustodyOptions custody_options;
    custody_options.policy = {cfg.revocation.check_interval, cfg.revocation.unavailable_grace};
    custody_options.reread_header_each_check = shared;
    custody::Custodian custodian(*opened.volume, provider, keyring, custody_options, audit);
    // The filesystem exists before the first unlock so that its observers
    // are registered first: a lock drains and drops the kernel caches, then
    // it is counted.
    // One request thread could not serve the WRITEs an lseek waits for; and
    // in shared mode the kernel must not hold writes (nor trust its own file
    // size, which a writeback cache does) while another host reads.
    fs_options.writeback_cache = cfg.mount.writeback_cache && cfg.mount.threads != 1 && !shared;
    // Shared mode: every read and write reaches the daemon, under the byte-
    // range locks, so a block is one whole version within a host too (a
    // reader copying a cached page while a local writer fills it could see
    // half of each).
    fs_options.direct_io = shared;
    fs_options.killpriv_v2 = !shared;
    fs::Filesystem filesystem(*opened.volume, keyring, fs_options);
    // A lock: the kernel writes its dirty pages back under the key first
    // (writeback cache; before_wipe), then the keys are wiped, then every
    // kernel cache is dropped (key_locked). The drain registers first so that
    // no other observer's before_wipe runs with dirty pages still pending.
    fs::WritebackDrain writeback_drain(filesystem, keyring);
    custodian.add_observer(writeback_drain);
    fs::KernelCacheInvalidator cache_invalidator(filesystem);
    custodian.add_observer(cache_invalidator);
    custodian.add_observer(key_metrics);
    // Stops the checks before the observers go away, also when serve() throws.
    struct StopChecks {
        custody::Custodian &custodian;
        ~StopChecks() { custodian.stop(); }
    } stop_checks{custodian};
    const metrics::CollectHook key_state_hook =
        metrics::registry().on_collect([&] { key_metrics.refresh_state(!custodian.locked()); });
    custodian.set_provider_decorator([&key_metrics](std::shared_ptr<keys::KeyProvider> other) {
        return std::make_shared<keys::TimedProvider>(std::move(other), key_metrics.provider_call_observer());
    });
    bool unlocked = false;
    try {
        unlocked = custodian.unlock_at_mount(cfg.mount.wait_for_key);
    } catch (const keys::ProviderError &e) {
        if (!keys::is_revocation(e.status())) throw;
        throw keys::ProviderError(e.status(), std::string(e.what()) +
                                                  " (not mounted; --wait-for-key mounts locked and unlocks "
                                                  "when access is granted)");
    }
    if (!unlocked) spdlog::warn("mounting locked until the key is accessible: {}", custodian.status().reason);

    // Bound before the mount appears: an address in use fails the mount
    // instead of leaving a mount nobody can watch.
    std::unique_ptr<metrics::HttpServer> metrics_server;
    if (cfg.metrics.listen) {
        try {
            metrics_server = std::make_unique<metrics::HttpServer>(
                metrics::parse_listen_address(*cfg.metrics.listen), exposition);
        } catch (const Error &e) {
            throw CommandError(kMountFailed, std::string(e.what()) + " (metrics.listen / -o metrics)");
        }
        spdlog::info("metrics: serving http://{}/metrics", metrics_server->address());
    }

    std::unique_ptr<daemon::ControlServer> control;

    fs::SessionOptions session;
    session.mountpoint = mountpoint;
    session.fsname = backing;
    session.fuse_options = fuse_options;
    session.allow_other = cfg.mount.allow_other;
    session.max_threads = cfg.mount.threads;
    session.debug = args.debug;
    fs::run_session(filesystem, session, [&] {
        control = std::make_unique<daemon::ControlServer>(
            daemon::control_socket_path(mountpoint),
            [&](const nlohmann::json &request) { return handle_control(request, custodian); });
        custodian.start();
        if (daemon != nullptr) daemon->succeeded();
    });
}

void run_mount(MountArgs args) {
    std::vector<std::string> fuse_options;
    config::Config cfg = resolve_config(args, fuse_options);
    if (cfg.mount.foreground) {
        serve(args, cfg, fuse_options, nullptr);
        return;
    }
    Daemonizer daemon = Daemonizer::fork_and_wait();
    // mlock does not survive fork: give the daemon its own locked secure heap
    // (nothing was allocated from the parent's yet).
    CRYPTO_secure_malloc_done();
    crypto::init_secure_heap();
    try {
        serve(args, cfg, fuse_options, &daemon);
    } catch (...) {
        std::string message;
        int code = exit_code_for_current_exception(message);
        spdlog::error("mount failed: {}", message);
        daemon.failed(code, message);
        // serve() has unwound: its threads are joined, so exit handlers run alone.
        std::exit(code);  // NOLINT(concurrency-mt-unsafe)
    }
}

}  // namespace

void add_mount_command(CLI::App &app) {
    auto args = std::make_shared<MountArgs>();
    CLI::App *cmd = app.add_subcommand("mount", "Mount the store in BACKING at MOUNTPOINT");
    cmd->add_option("BACKING", args->backing, "Backing directory of the store (default: volume.backing)");
    cmd->add_option("MOUNTPOINT", args->mountpoint, "Where the plain files appear (default: volume.mountpoint)");
    cmd->add_flag("-f,--foreground", args->foreground, "Stay in the foreground, log to stderr");
    cmd->add_flag("-d,--debug", args->debug, "FUSE debug output (implies nothing about keys; they are never logged)");
    cmd->add_flag("--wait-for-key", args->wait_for_key, "Mount locked when the key is not accessible yet");
    cmd->add_option("-o", args->options,
                    "Mount options: check_interval=DUR, unavailable_grace=DUR, allow_other, log_level=L, "
                    "metrics=ADDR (127.0.0.1:PORT, [::1]:PORT, unix:/PATH), config=FILE, "
                    "[no_]writeback_cache (on by default), or FUSE options");
    cmd->add_option("--config", args->config_path, "YAML config file");
    cmd->callback([args] { run_mount(*args); });
}

}  // namespace cmkfs::cli
