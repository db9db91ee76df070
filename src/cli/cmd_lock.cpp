// cmkfs lock MOUNTPOINT / cmkfs unlock MOUNTPOINT: the operator's emergency
// lock, which holds until unlock; unlock re-checks the key first.
#include <iostream>

#include "cli/command_error.h"
#include "cli/commands.h"
#include "cli/mount_table.h"
#include "daemon/control_socket.h"

namespace cmkfs::cli {

namespace {
void send(const std::string &target, const std::string &op) {
    auto mount = find_cmkfs_mount(target);
    if (!mount) throw CommandError(kNotMounted, target + " is not a cmkfs mount");
    auto reply = daemon::control_request(mount->mountpoint, {{"op", op}});
    if (!reply.value("ok", false)) throw CommandError(kFailure, reply.value("error", op + " failed"));
    const auto &status = reply.at("status");
    std::cout << status.dump(2) << "\n";
    if (op == "unlock" && status.value("state", "") != "unlocked")
        throw CommandError(kKeyAccessDenied, "still locked: " + status.value("reason", ""));
}
}  // namespace

void add_lock_commands(CLI::App &app) {
    auto target = std::make_shared<std::string>();
    CLI::App *lock = app.add_subcommand("lock", "Emergency lock: EACCES for all data until `cmkfs unlock`");
    lock->add_option("MOUNTPOINT", *target, "The mountpoint")->required();
    lock->callback([target] { send(*target, "lock"); });
    auto unlock_target = std::make_shared<std::string>();
    CLI::App *unlock = app.add_subcommand("unlock", "Lift an emergency lock after re-checking the key");
    unlock->add_option("MOUNTPOINT", *unlock_target, "The mountpoint")->required();
    unlock->callback([unlock_target] { send(*unlock_target, "unlock"); });
}

}  // namespace cmkfs::cli
