// cmkfs umount MOUNTPOINT | --config FILE: unmounts a cmkfs mount; the daemon
// then exits. --config names the mount by its volume.mountpoint (systemd's
// ExecStop knows only the config).
#include <sys/mount.h>

#include <cerrno>

#include "cli/command_error.h"
#include "cli/commands.h"
#include "cli/mount_table.h"
#include "cli/volume_access.h"
#include "util/errors.h"

namespace cmkfs::cli {

namespace {
void run_umount(std::string mountpoint, const std::string &config_path, bool lazy) {
    if (mountpoint.empty() && !config_path.empty())
        mountpoint = load_config_or_default(config_path).mount.mountpoint.value_or("");
    if (mountpoint.empty()) throw UsageError("umount: MOUNTPOINT is required (or --config with volume.mountpoint)");
    auto mount = find_cmkfs_mount(mountpoint);
    if (!mount) throw CommandError(kNotMounted, mountpoint + " is not a cmkfs mount");
    if (::umount2(mount->mountpoint.c_str(), lazy ? MNT_DETACH : 0) != 0)
        throw CommandError(kFailure, SystemError(errno, "unmount " + mount->mountpoint).what());
}
}  // namespace

void add_umount_command(CLI::App &app) {
    auto mountpoint = std::make_shared<std::string>();
    auto config_path = std::make_shared<std::string>();
    auto lazy = std::make_shared<bool>(false);
    CLI::App *cmd = app.add_subcommand("umount", "Unmount a cmkfs mount");
    cmd->add_option("MOUNTPOINT", *mountpoint, "The mountpoint (default: volume.mountpoint of --config)");
    cmd->add_option("--config", *config_path, "YAML config file naming the mountpoint");
    cmd->add_flag("-l,--lazy", *lazy, "Detach now, clean up when no longer busy");
    cmd->callback([mountpoint, config_path, lazy] { run_umount(*mountpoint, *config_path, *lazy); });
}

}  // namespace cmkfs::cli
