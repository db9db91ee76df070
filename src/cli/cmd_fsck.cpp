// cmkfs fsck BACKING: verifies that every header, name and block authenticates.
#include <iostream>

#include "cli/command_error.h"
#include "cli/commands.h"
#include "cli/progress_display.h"
#include "cli/volume_access.h"
#include "store/fsck.h"
#include "store/keyring.h"

namespace cmkfs::cli {

namespace {

struct FsckArgs {
    std::string backing;
    std::string config_path;
};

void run_fsck(const FsckArgs &args) {
    config::Config cfg = load_config_or_default(args.config_path);
    OpenedVolume opened = open_volume_with_provider(absolute_path(args.backing), cfg);
    const store::StoreLock in_use = lock_store_offline(*opened.volume, "fsck");
    store::Keyring keyring;
    keyring.unlock(opened.volume->unlock(*opened.provider));
    auto access = keyring.access();

    ProgressDisplay display("checked", /*lines_without_tty=*/false);
    auto report = store::check_volume(*opened.volume, access, [&](const store::FsckProgress &p) {
        display.update({p.files, 0, p.directories, p.bytes, 0});
    });
    display.clear();
    for (const auto &p : report.problems)
        std::cout << "BAD " << (p.path.empty() ? "/" : p.path) << ": " << p.what << " (backing " << p.backing
                  << ")\n";
    std::cout << "checked " << report.totals.files << " files, " << report.totals.directories << " directories, "
              << report.totals.bytes << " bytes: " << report.problems.size() << " problem(s)\n";
    if (!report.problems.empty())
        throw CommandError(kIntegrityErrors, std::to_string(report.problems.size()) + " integrity problem(s) found");
}

}  // namespace

void add_fsck_command(CLI::App &app) {
    auto args = std::make_shared<FsckArgs>();
    CLI::App *cmd = app.add_subcommand("fsck", "Verify every header, name and block of a store (unmounted)");
    cmd->add_option("BACKING", args->backing, "Backing directory")->required();
    cmd->add_option("--config", args->config_path, "YAML config file");
    cmd->callback([args] { run_fsck(*args); });
}

}  // namespace cmkfs::cli
