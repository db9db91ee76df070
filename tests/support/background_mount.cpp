#include "support/background_mount.h"

#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/process.h"

namespace cmkfs::test {

std::vector<pid_t> pids_with_argument_containing(const std::string &marker) {
    std::vector<pid_t> pids;
    std::error_code ec;
    for (const auto &entry : std::filesystem::directory_iterator("/proc", ec)) {
        const std::string name = entry.path().filename();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        const pid_t pid = std::stoi(name);
        if (pid == ::getpid()) continue;
        std::ifstream in(entry.path() / "cmdline", std::ios::binary);
        std::stringstream cmdline;
        cmdline << in.rdbuf();
        if (cmdline.str().find(marker) != std::string::npos) pids.push_back(pid);
    }
    return pids;
}

std::string mount_fstype(const std::string &mountpoint) {
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string id, parent, devno, root, mp, word;
        fields >> id >> parent >> devno >> root >> mp;
        if (mp != mountpoint) continue;
        while (fields >> word && word != "-") {
        }
        fields >> word;
        return word;
    }
    return "";
}

bool BackgroundMount::wait_daemons_gone(int seconds) const {
    for (int i = 0; i < seconds * 20; ++i) {
        if (daemons().empty()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return daemons().empty();
}

BackgroundMount::~BackgroundMount() {
    if (is_mounted(mountpoint_) && ::umount2(mountpoint_.c_str(), 0) != 0)
        ::umount2(mountpoint_.c_str(), MNT_DETACH);
    if (wait_daemons_gone(5)) return;
    for (pid_t pid : daemons()) ::kill(pid, SIGKILL);
    wait_daemons_gone(5);
}

}  // namespace cmkfs::test
