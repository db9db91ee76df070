// cmkfs shared-storage enable|disable BACKING [--config FILE]
// Switches a store (offline, no host may mount it) between exclusive mode (one
// host mounts it at a time, the kernel caches freely) and shared-storage mode
// (several hosts mount it at once; README.md, "Shared storage").
// The setting lives in the authenticated volume header (format 3).
#include <iostream>

#include "cli/command_error.h"
#include "cli/commands.h"
#include "cli/volume_access.h"
#include "store/header_settings.h"
#include "store/keyring.h"
#include "util/errors.h"

namespace cmkfs::cli {

namespace {

struct SharedStorageArgs {
    std::string backing;
    std::string config_path;
};

void run_switch(const SharedStorageArgs &args, bool shared) {
    config::Config cfg = load_config_or_default(args.config_path);
    const std::string backing = absolute_path(args.backing);
    OpenedVolume opened = open_volume_with_provider(backing, cfg);
    const std::string what = std::string("shared-storage ") + (shared ? "enable" : "disable");
    const store::StoreLock alone = lock_store_offline(*opened.volume, what);
    opened.volume->reload_header();  // now that nothing else can change it
    store::Keyring keyring;
    keyring.unlock(opened.volume->unlock(*opened.provider));
    auto access = keyring.access();
    bool changed = false;
    try {
        changed = store::set_shared_storage(*opened.volume, access.keys(), shared);
    } catch (const UsageError &e) {
        throw CommandError(kUsage, e.what());
    }
    std::cout << backing << (changed ? " is now" : " was already") << " in "
              << (shared ? "shared-storage" : "exclusive") << " mode\n";
}

}  // namespace

void add_shared_storage_command(CLI::App &app) {
    CLI::App *cmd = app.add_subcommand(
        "shared-storage", "Switch a store between exclusive and shared-storage mode (unmounted on every host)");
    cmd->require_subcommand(1);
    for (bool shared : {true, false}) {
        auto args = std::make_shared<SharedStorageArgs>();
        CLI::App *sub = cmd->add_subcommand(
            shared ? "enable" : "disable",
            shared ? "Let several hosts mount the store at once (no kernel caching across opens, locking protocols)"
                   : "Back to one host at a time");
        sub->add_option("BACKING", args->backing, "Backing directory of the store")->required();
        sub->add_option("--config", args->config_path, "YAML config file");
        sub->callback([args, shared] { run_switch(*args, shared); });
    }
}

}  // namespace cmkfs::cli
