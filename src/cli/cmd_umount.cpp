// cmkfs umount MOUNTPOINT: unmounts a cmkfs mount; the daemon then exits.
#include <sys/mount.h>

#include <cerrno>

#include "cli/command_error.h"
#include "cli/commands.h"
#include "cli/mount_table.h"
#include "util/errors.h"

namespace cmkfs::cli {

namespace {
void run_umount(const std::string &mountpoint, bool lazy) {
    auto mount = find_cmkfs_mount(mountpoint);
    if (!mount) throw CommandError(kNotMounted, mountpoint + " is not a cmkfs mount");
    if (::umount2(mount->mountpoint.c_str(), lazy ? MNT_DETACH : 0) != 0)
        throw CommandError(kFailure, SystemError(errno, "unmount " + mount->mountpoint).what());
}
}  // namespace

void add_umount_command(CLI::App &app) {
    auto mountpoint = std::make_shared<std::string>();
    auto lazy = std::make_shared<bool>(false);
    CLI::App *cmd = app.add_subcommand("umount", "Unmount a cmkfs mount");
    cmd->add_option("MOUNTPOINT", *mountpoint, "The mountpoint")->required();
    cmd->add_flag("-l,--lazy", *lazy, "Detach now, clean up when no longer busy");
    cmd->callback([mountpoint, lazy] { run_umount(*mountpoint, *lazy); });
}

}  // namespace cmkfs::cli
