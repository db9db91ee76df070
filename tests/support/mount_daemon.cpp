#include "support/mount_daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/wait.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "support/process.h"

extern char **environ;

namespace cmkfs::test {

using namespace std::chrono_literals;

namespace {

std::string first_line(const std::string &path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

// Each thread's name, kernel wait channel and current syscall: enough to
// tell which of the daemon's threads keeps it from exiting.
std::string thread_report(pid_t pid) {
    std::string report;
    const std::string task = "/proc/" + std::to_string(pid) + "/task";
    std::error_code ec;
    for (const auto &t : std::filesystem::directory_iterator(task, ec)) {
        const std::string dir = t.path().string();
        report += "\n  thread " + t.path().filename().string() + " (" + first_line(dir + "/comm") +
                  "): wchan " + first_line(dir + "/wchan") + ", syscall " + first_line(dir + "/syscall");
    }
    return report;
}

}  // namespace

MountDaemon::MountDaemon(std::vector<std::string> args, std::string mountpoint, std::string log_path)
    : mountpoint_(std::move(mountpoint)), log_(std::move(log_path)) {
    std::vector<std::string> argv{cmkfs_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char *> cargv;
    for (auto &a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    int rc = ::posix_spawn(&pid_, cargv[0], &actions, nullptr, cargv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error(std::string("cannot start cmkfs: ") + std::strerror(rc));
    // Generous: under the sanitizers a provider's first unwrap (HTTPS, a
    // token) can take seconds.
    for (int i = 0; i < 2000; ++i) {
        if (is_mounted(mountpoint_)) return;
        int status;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            throw std::runtime_error("cmkfs mount exited (status " + std::to_string(status) + "): " + log());
        }
        std::this_thread::sleep_for(10ms);
    }
    kill();
    throw std::runtime_error("mount did not appear within 20 s: " + log());
}

MountDaemon::~MountDaemon() { stop(); }

bool MountDaemon::stop() {
    if (pid_ <= 0) return true;
    for (int i = 0; i < 100 && is_mounted(mountpoint_); ++i) {
        if (::umount2(mountpoint_.c_str(), 0) == 0) break;
        std::this_thread::sleep_for(50ms);
    }
    if (is_mounted(mountpoint_)) ::umount2(mountpoint_.c_str(), MNT_DETACH);
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
        if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
            pid_ = -1;
            return true;
        }
        std::this_thread::sleep_for(10ms);
    }
    hang_report_ = thread_report(pid_);
    kill();
    return false;
}

void MountDaemon::kill() {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }
    if (is_mounted(mountpoint_)) ::umount2(mountpoint_.c_str(), MNT_DETACH);
}

std::string MountDaemon::log() const {
    try {
        return read_file(log_);
    } catch (const std::exception &) {
        return "";
    }
}

}  // namespace cmkfs::test
