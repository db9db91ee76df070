#include "support/mountinfo.h"

#include <fstream>
#include <sstream>

namespace cmkfs::test {

std::string unescape_mountinfo(const std::string &s) {
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

std::vector<MountInfoEntry> read_mountinfo() {
    std::vector<MountInfoEntry> entries;
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    while (std::getline(in, line)) {
        // id parent major:minor root mountpoint options [optional fields...] - fstype source super_options
        std::istringstream f(line);
        std::string id, parent, devno, root, mountpoint, word;
        MountInfoEntry e;
        f >> id >> parent >> devno >> root >> mountpoint >> e.options;
        e.mountpoint = unescape_mountinfo(mountpoint);
        while (f >> word && word != "-") {
        }
        std::string source;
        f >> e.fstype >> source >> e.super_options;
        e.source = unescape_mountinfo(source);
        entries.push_back(std::move(e));
    }
    return entries;
}

}  // namespace cmkfs::test
