#include "cli/mount_table.h"

#include <sys/sysmacros.h>

#include <fstream>
#include <sstream>

#include "cli/volume_access.h"

namespace cmkfs::cli {

namespace {
// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(const std::string &s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size()) {
            out += static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}
}  // namespace

namespace {
// mountinfo's "major:minor".
dev_t device_of(const std::string &devno) {
    const auto colon = devno.find(':');
    if (colon == std::string::npos) return 0;
    try {
        return makedev(std::stoul(devno.substr(0, colon)), std::stoul(devno.substr(colon + 1)));
    } catch (const std::exception &) {
        return 0;
    }
}

template <class Match>
std::optional<CmkfsMount> find_mount(Match &&match) {
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    while (std::getline(in, line)) {
        // id parent major:minor root mountpoint options [optional...] - fstype source superopts
        std::istringstream fields(line);
        std::string id, parent, devno, root, mountpoint, options, word;
        fields >> id >> parent >> devno >> root >> mountpoint >> options;
        while (fields >> word && word != "-") {
        }
        std::string fstype, source;
        fields >> fstype >> source;
        if (fstype != "fuse.cmkfs") continue;
        CmkfsMount mount{unescape(mountpoint), unescape(source), device_of(devno)};
        if (match(mount)) return mount;
    }
    return std::nullopt;
}
}  // namespace

std::optional<CmkfsMount> find_cmkfs_mount(const std::string &path) {
    const std::string target = absolute_path(path);
    return find_mount([&](const CmkfsMount &m) { return m.mountpoint == target; });
}

std::optional<CmkfsMount> find_cmkfs_mount_of_backing(const std::string &backing) {
    const std::string target = absolute_path(backing);
    return find_mount([&](const CmkfsMount &m) { return m.backing == target; });
}

std::optional<CmkfsMount> find_cmkfs_mount_of_device(dev_t device) {
    return find_mount([&](const CmkfsMount &m) { return m.device == device; });
}

}  // namespace cmkfs::cli
