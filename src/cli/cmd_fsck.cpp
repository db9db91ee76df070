// cmkfs fsck BACKING: verifies that every header, name and block authenticates.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "cli/command_error.h"
#include "cli/commands.h"
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
    store::Keyring keyring;
    keyring.unlock(opened.volume->unlock(*opened.provider));
    auto access = keyring.access();

    const bool tty = ::isatty(STDERR_FILENO) != 0;
    auto last = std::chrono::steady_clock::now();
    auto progress = [&](const store::FsckProgress &p) {
        if (!tty) return;
        auto now = std::chrono::steady_clock::now();
        if (now - last < std::chrono::milliseconds(100)) return;
        last = now;
        std::fprintf(stderr, "\rchecked %llu files, %llu directories, %.1f MiB",
                     static_cast<unsigned long long>(p.files), static_cast<unsigned long long>(p.directories),
                     static_cast<double>(p.bytes) / (1 << 20));
    };
    auto report = store::check_volume(*opened.volume, access, progress);
    if (tty) std::fprintf(stderr, "\r%60s\r", "");
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
