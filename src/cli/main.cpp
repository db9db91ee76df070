// cmkfs: the one executable. Subcommands live one per file (commands.h); this
// file only assembles them and is the single place where errors become exit
// codes and one-line messages.
#include <sys/prctl.h>
#include <sys/resource.h>

#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/error_report.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/mount_helper.h"
#include "crypto/secure_bytes.h"

#ifndef CMKFS_VERSION
#define CMKFS_VERSION "unknown"
#endif


using namespace cmkfs;
using namespace cmkfs::cli;

int main(int argc, char **argv) {
    // Key material must never reach a core dump or another process' ptrace.
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    const rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    crypto::init_secure_heap();

    CLI::App app{"cmkfs: an encrypting FUSE filesystem with customer-managed keys"};
    app.set_version_flag("--version", "cmkfs " CMKFS_VERSION);
    app.require_subcommand(1);
    add_init_command(app);
    add_mount_command(app);
    add_umount_command(app);
    add_encryption_command(app);
    add_fsck_command(app);
    add_vault_command(app);
    add_provider_command(app);
    add_lock_commands(app);
    add_reencrypt_command(app);
    add_volume_plugin_command(app);
    add_trust_command(app);
    add_upgrade_command(app);
    add_stats_command(app);
    add_shared_storage_command(app);

    try {
        std::vector<std::string> args = command_line_for(argc, argv);
        if (args.empty()) return kOk;
        std::vector<char *> args_c;
        for (auto &arg : args) args_c.push_back(arg.data());
        app.parse(static_cast<int>(args_c.size()), args_c.data());
        return kOk;
    } catch (const CLI::ParseError &e) {
        int rc = app.exit(e);
        return rc == 0 ? kOk : kUsage;
    } catch (...) {
        std::string message;
        int code = exit_code_for_current_exception(message);
        std::fprintf(stderr, "cmkfs: %s\n", message.c_str());
        return code;
    }
}
