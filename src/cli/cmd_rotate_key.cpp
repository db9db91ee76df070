// cmkfs encryption rotate-key BACKING|MOUNTPOINT --key-encryption-key NEWKID
//   [--identity ID] [--provider P] [--provider-option K=V ...] [--vault DIR] [--config FILE]
// Re-wraps the volume key under another key (version), identity or provider.
// A mounted store (named by its mountpoint or its backing directory) is
// rotated by its daemon, with the volume key it holds, without pausing I/O;
// an unmounted one here, after unwrapping with the current key.
#include <iostream>

#include "cli/command_error.h"
#include "cli/commands.h"
#include "cli/control_rotation.h"
#include "cli/encryption_status.h"
#include "cli/mount_table.h"
#include "cli/volume_access.h"
#include "config/logging.h"
#include "custody/audit_log.h"
#include "custody/audited_rotation.h"
#include "daemon/control_socket.h"
#include "store/rotation.h"
#include "util/errors.h"

namespace cmkfs::cli {

namespace {

struct RotateArgs {
    std::string target;
    std::string key_id;
    std::string identity;
    std::string provider;
    std::string vault;
    std::vector<std::string> provider_options;
    std::string config_path;
};

store::RotationRequest request_of(const RotateArgs &args) {
    store::RotationRequest r;
    r.key_id = args.key_id;
    if (!args.identity.empty()) r.identity = args.identity;
    if (!args.provider.empty()) r.provider = args.provider;
    if (!args.provider_options.empty() || !args.vault.empty()) {
        std::map<std::string, std::string> options;
        add_provider_args(options, args.provider_options, args.vault);
        r.provider_options = std::move(options);
    }
    return r;
}

nlohmann::json rotate_online(const CmkfsMount &mount, const store::RotationRequest &request) {
    auto reply = daemon::control_request(mount.mountpoint, rotation_request_json(request), 120000);
    if (!reply.value("ok", false))
        throw CommandError(static_cast<ExitCode>(reply.value("exitCode", static_cast<int>(kFailure))),
                           reply.value("error", "rotate-key failed"));
    nlohmann::json status = reply.at("encryption");
    status["mountpoint"] = mount.mountpoint;
    return status;
}

nlohmann::json rotate_offline(const std::string &backing, const store::RotationRequest &request,
                              const config::Config &cfg) {
    // Diagnostics to stderr (stdout carries the JSON), warnings only: the
    // outcome is the exit code and the one-line error; the audit trail goes
    // to logging.audit_file when the config names one.
    config::setup_logging(cfg.logging, /*foreground=*/true);
    config::set_log_level("warn");
    OpenedVolume opened = open_volume_with_provider(backing, cfg);
    store::Volume &volume = *opened.volume;
    const store::StoreLock in_use = lock_store_offline(volume, "offline rotate-key");  // no host mounts it
    const store::RotationTarget target = store::resolve_rotation_target(volume.header(), request);
    std::unique_ptr<keys::KeyProvider> loaded;
    keys::KeyProvider *provider = opened.provider.get();
    if (!store::same_provider(volume.header(), target)) {
        loaded = store::load_target_provider(target);
        provider = loaded.get();
    }
    custody::AuditLog audit(cfg.logging.audit_file.value_or(""), "", volume.header().volume_id);
    const format::VolumeHeader after = custody::audited_rotation(
        volume, [&] { return volume.unlock(*opened.provider); }, *provider, target, audit, "operator");
    return encryption_status_json(after, nullptr);
}

void run_rotate(const RotateArgs &args) {
    const store::RotationRequest request = request_of(args);
    nlohmann::json status;
    if (auto mount = find_cmkfs_mount(args.target)) {
        status = rotate_online(*mount, request);
    } else if (auto served = find_cmkfs_mount_of_backing(args.target)) {
        // Never change a mounted store's header behind its daemon's back.
        status = rotate_online(*served, request);
    } else {
        status = rotate_offline(absolute_path(args.target), request, load_config_or_default(args.config_path));
    }
    std::cout << status.dump(2) << "\n";
}

}  // namespace

void add_rotate_key_command(CLI::App &encryption) {
    auto args = std::make_shared<RotateArgs>();
    CLI::App *cmd = encryption.add_subcommand(
        "rotate-key", "Re-wrap the volume key under another key, key version, identity or provider");
    cmd->add_option("TARGET", args->target, "Backing directory or mountpoint")->required();
    cmd->add_option("--key-encryption-key", args->key_id,
                    "New key id; a version-less id follows the latest version")
        ->required();
    cmd->add_option("--identity", args->identity, "Identity for the new key (default: the current one)");
    cmd->add_option("--provider", args->provider, "Provider of the new key (default: the current one)");
    cmd->add_option("--provider-option", args->provider_options,
                    "Non-secret provider option KEY=VALUE for the new key (repeatable; replaces the "
                    "current options)");
    cmd->add_option("--vault", args->vault, "Local vault directory of the new key (provider local)");
    cmd->add_option("--config", args->config_path, "YAML config file (offline: audit file, provider options)");
    cmd->callback([args] { run_rotate(*args); });
}

}  // namespace cmkfs::cli
