// cmkfs reencrypt BACKING: re-encrypts every file, name, symlink target and
// xattr under a fresh volume key, offline, resumable (store/reencrypt.h).
// cmkfs upgrade BACKING: the same run, on a store of an older format version
// only (the re-encryption writes the current format).
#include <iostream>
#include <optional>

#include "cli/command_error.h"
#include "cli/commands.h"
#include "cli/progress_display.h"
#include "cli/volume_access.h"
#include "store/reencrypt.h"
#include "store/store_lock.h"
#include "util/errors.h"

namespace cmkfs::cli {

namespace {

struct ReencryptArgs {
    std::string backing;
    std::string config_path;
    bool upgrade = false;
};

ProgressSample sample_of(const store::ReencryptProgress &p) {
    return {p.done.files, p.total.files, p.done.directories, p.done.bytes, p.total.bytes};
}

void run_reencrypt(const ReencryptArgs &args) {
    const std::string backing = absolute_path(args.backing);
    config::Config cfg = load_config_or_default(args.config_path);
    OpenedVolume opened = open_volume_with_provider(backing, cfg);

    ProgressDisplay display((args.upgrade ? "upgrade " : "re-encrypt ") + backing, /*lines_without_tty=*/true);
    std::optional<store::ReencryptProgress::Phase> phase;
    store::ReencryptSummary summary;
    try {
        summary = store::reencrypt_volume(*opened.volume, *opened.provider, [&](const store::ReencryptProgress &p) {
            if (p.phase != phase) {
                phase = p.phase;
                display.restart(p.phase == store::ReencryptProgress::Phase::verify ? "verifying" : "re-encrypting");
            }
            display.update(sample_of(p));
        }, args.upgrade);
    } catch (const store::StoreBusy &e) {
        // Every host's mount holds the store lock: the refusal names them all.
        throw CommandError(kBackingError, offline_refusal(backing, e, args.upgrade ? "upgrade" : "reencrypt"));
    } catch (const Error &e) {
        if (e.error_number() == EBUSY) throw CommandError(kBackingError, e.what());
        if (e.error_number() == EALREADY) throw CommandError(kUsage, e.what());
        throw;
    }
    display.clear();
    if (summary.header_only) {
        std::cout << "upgraded " << backing << " to format version " << opened.volume->header().format_version
                  << " (header only: the data format is unchanged, the volume key is the same)\n";
        return;
    }
    const auto &c = summary.counts;
    std::cout << (summary.resumed ? "resumed and finished" : args.upgrade ? "upgraded" : "re-encrypted") << " "
              << backing;
    if (args.upgrade) std::cout << " to format version " << opened.volume->header().format_version;
    std::cout << ": " << c.files << " files (" << c.converted << " converted by this run), " << c.directories << " directories, "
              << human_bytes(static_cast<double>(c.bytes)) << " in " << human_duration(display.elapsed()) << "\n";
}

}  // namespace

void add_reencrypt_command(CLI::App &app) {
    auto args = std::make_shared<ReencryptArgs>();
    CLI::App *cmd = app.add_subcommand(
        "reencrypt", "Re-encrypt every file under a fresh volume key (unmounted; run again to resume)");
    cmd->add_option("BACKING", args->backing, "Backing directory of the store")->required();
    cmd->add_option("--config", args->config_path, "YAML config file");
    cmd->callback([args] { run_reencrypt(*args); });
}

void add_upgrade_command(CLI::App &app) {
    auto args = std::make_shared<ReencryptArgs>();
    args->upgrade = true;
    CLI::App *cmd = app.add_subcommand(
        "upgrade", "Move a store of an older format version to the current one, under a fresh volume key "
                   "(unmounted; run again to resume)");
    cmd->add_option("BACKING", args->backing, "Backing directory of the store")->required();
    cmd->add_option("--config", args->config_path, "YAML config file");
    cmd->callback([args] { run_reencrypt(*args); });
}

}  // namespace cmkfs::cli
