// cmkfs encryption show BACKING|MOUNTPOINT [--output json|table]
#include <iostream>

#include "cli/command_error.h"
#include "cli/commands.h"
#include "cli/control_status.h"
#include "cli/encryption_status.h"
#include "cli/mount_table.h"
#include "cli/volume_access.h"
#include "daemon/control_socket.h"
#include "format/volume_header.h"
#include "keys/key_provider.h"
#include "store/trust.h"
#include "util/errors.h"

namespace cmkfs::cli {

namespace {

struct ShowArgs {
    std::string target;
    std::string output = "json";
    std::string config_path;
};

// A store that is not mounted: ask the provider now whether the key opens it.
KeyState check_now(const store::Volume &volume, keys::KeyProvider &provider) {
    KeyState s;
    s.last_check = format::utc_now_rfc3339();
    try {
        (void)volume.unlock(provider);
        s.state = "accessible";
    } catch (const keys::ProviderError &e) {
        s.state = keys::to_string(e.status());
        s.reason = e.what();
    } catch (const store::TrustError &) {
        throw;  // not this host's key: a refusal (exit 5), not a state
    } catch (const IntegrityError &e) {
        s.state = "corrupt";
        s.reason = e.what();
    }
    return s;
}

void run_show(const ShowArgs &args) {
    const nlohmann::json status = encryption_status_of(args.target, load_config_or_default(args.config_path));
    if (args.output == "table") std::cout << encryption_status_table(status);
    else std::cout << status.dump(2) << "\n";
}

}  // namespace

nlohmann::json encryption_status_of(const std::string &target, const config::Config &cfg) {
    nlohmann::json status;
    if (auto mount = find_cmkfs_mount(target)) {
        // Mounted: the daemon's live state, the header as the daemon left it.
        auto reply = daemon::control_request(mount->mountpoint, {{"op", "status"}});
        if (!reply.value("ok", false)) throw CommandError(kFailure, reply.value("error", "control request failed"));
        KeyState state = key_state_from_json(reply.at("status"));
        status = encryption_status_json(open_volume(mount->backing)->header(), &state);
        status["mountpoint"] = mount->mountpoint;
        // The key the daemon serves with, not what the (untrusted) backing
        // header says now.
        if (const auto settings = reply.find("keySettings"); settings != reply.end() && settings->is_object()) {
            auto &kv = status["keyVaultProperties"];
            kv["keyIdentifier"] = settings->value("keyId", "");
            kv["versionedKeyIdentifier"] = settings->value("versionedKeyId", "");
            kv["identity"] = settings->value("identity", "");
            kv["keyRotationEnabled"] = kv["keyIdentifier"] != kv["versionedKeyIdentifier"];
            const std::string last = settings->value("lastRotation", "");
            kv["lastKeyRotationTimestamp"] = last.empty() ? nlohmann::json(nullptr) : nlohmann::json(last);
        }
    } else {
        OpenedVolume opened = open_volume_with_provider(target, cfg);
        KeyState state = check_now(*opened.volume, *opened.provider);
        status = encryption_status_json(opened.volume->header(), &state);
    }
    return status;
}

void add_encryption_command(CLI::App &app) {
    CLI::App *enc = app.add_subcommand("encryption", "Show and manage a store's encryption");
    enc->require_subcommand(1);
    auto args = std::make_shared<ShowArgs>();
    CLI::App *show = enc->add_subcommand("show", "Show encryption status (JSON like az acr encryption show)");
    show->add_option("TARGET", args->target, "Backing directory or mountpoint")->required();
    show->add_option("--output", args->output, "json or table")->check(CLI::IsMember({"json", "table"}));
    show->add_option("--config", args->config_path, "YAML config file");
    show->callback([args] { run_show(*args); });
    add_rotate_key_command(*enc);
}

}  // namespace cmkfs::cli
