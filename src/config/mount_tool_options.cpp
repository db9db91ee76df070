// Options in an fstab line or a `mount -o` list that mount(8) and systemd act
// on themselves. mount(8) hands some of them to the mount helper anyway; FUSE
// would refuse them, so they stop here.
#include <array>

#include "config/config.h"

namespace cmkfs::config {

namespace {
bool is_mount_tool_option(std::string_view option) {
    static constexpr std::array<std::string_view, 11> kNames = {
        "rw", "defaults", "auto", "noauto", "user", "users", "nouser", "owner", "group", "_netdev", "nofail"};
    const std::string_view name = option.substr(0, option.find('='));
    for (auto known : kNames)
        if (name == known) return true;
    // x-* and X-* are userspace-only by definition (x-systemd.*, x-mount.mkdir, ...);
    // comment= carries text for tools; user=NAME is what mount(8) records for user mounts.
    return name.rfind("x-", 0) == 0 || name.rfind("X-", 0) == 0 || name == "comment";
}
}  // namespace

std::string drop_mount_tool_options(std::string_view options) {
    std::string kept;
    for (const auto &item : split_dash_o(options)) {
        if (is_mount_tool_option(item.text)) continue;
        if (!kept.empty()) kept += ',';
        kept += item.raw;
    }
    return kept;
}

}  // namespace cmkfs::config
