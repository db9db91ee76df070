// One file per subcommand; each registers itself on the root CLI11 app.
// A command's callback throws on failure; main() maps exceptions to exit codes.
#pragma once

#include <CLI/CLI.hpp>

namespace cmkfs::cli {

void add_init_command(CLI::App &app);
void add_mount_command(CLI::App &app);
void add_umount_command(CLI::App &app);
void add_encryption_command(CLI::App &app);
void add_rotate_key_command(CLI::App &encryption);  // under `encryption`
void add_fsck_command(CLI::App &app);
void add_vault_command(CLI::App &app);
void add_provider_command(CLI::App &app);
void add_lock_commands(CLI::App &app);
void add_reencrypt_command(CLI::App &app);
void add_volume_plugin_command(CLI::App &app);
void add_trust_command(CLI::App &app);
void add_upgrade_command(CLI::App &app);  // cmd_reencrypt.cpp
void add_stats_command(CLI::App &app);
void add_shared_storage_command(CLI::App &app);

}  // namespace cmkfs::cli
