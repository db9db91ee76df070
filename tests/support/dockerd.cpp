#include "support/dockerd.h"

#include <sys/mount.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/mountinfo.h"

namespace cmkfs::test {

namespace {
namespace fs = std::filesystem;

const char *const kDockerd = "/usr/sbin/dockerd";
const char *const kDocker = "/usr/bin/docker";
}  // namespace

void unmount_all_below(const std::string &dir) {
    std::vector<std::string> targets;
    for (const auto &m : read_mountinfo())
        if (m.mountpoint == dir || m.mountpoint.rfind(dir + "/", 0) == 0) targets.push_back(m.mountpoint);
    std::sort(targets.begin(), targets.end(), [](const auto &a, const auto &b) { return a.size() > b.size(); });
    for (const auto &t : targets) ::umount2(t.c_str(), MNT_DETACH);
}

Dockerd::Dockerd(const std::string &work, DockerdOptions options)
    : work_(work),
      data_root_(options.data_root.empty() ? work + "/data" : options.data_root),
      exec_root_(work + "/exec"),
      socket_(work + "/docker.sock") {
    fs::create_directories(data_root_);
    fs::create_directories(exec_root_);
    std::vector<std::string> argv{kDockerd,
                                  "--iptables=false",
                                  "--ip6tables=false",
                                  "--bridge=none",
                                  "--data-root",
                                  data_root_,
                                  "--exec-root",
                                  exec_root_,
                                  "-H",
                                  "unix://" + socket_,
                                  "--pidfile",
                                  work + "/dockerd.pid"};
    if (!options.storage_driver.empty()) argv.insert(argv.end(), {"--storage-driver", options.storage_driver});
    process_ = ChildProcess(argv, work + "/dockerd.log");
    for (int i = 0; i < 600; ++i) {
        if (!process_.running()) throw std::runtime_error("dockerd exited: " + log());
        if (fs::exists(socket_) && docker({"version"}).exit_code == 0) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    stop();
    throw std::runtime_error("dockerd did not answer within 30 s: " + log());
}

Dockerd::~Dockerd() { stop(); }

CommandResult Dockerd::docker(const std::vector<std::string> &args) const {
    std::vector<std::string> argv{kDocker, "-H", "unix://" + socket_};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
}

std::string Dockerd::docker_ok(const std::vector<std::string> &args) const {
    CommandResult r = docker(args);
    if (r.exit_code != 0) {
        std::string cmd;
        for (const auto &a : args) cmd += " " + a;
        const std::string full = log();
        throw std::runtime_error("docker" + cmd + " failed (exit " + std::to_string(r.exit_code) + "): " + r.err +
                                 r.out + "\ndockerd log tail:\n" + full.substr(full.size() > 3000 ? full.size() - 3000 : 0));
    }
    return r.out;
}

std::string Dockerd::import_busybox(const std::string &name) {
    const std::string rootfs = work_ + "/rootfs-" + name;
    fs::create_directories(rootfs + "/bin");
    fs::create_directories(rootfs + "/tmp");
    fs::create_directories(rootfs + "/etc");
    fs::copy_file("/bin/busybox", rootfs + "/bin/busybox", fs::copy_options::overwrite_existing);
    for (const char *applet : {"sh", "cat", "echo", "sleep", "ls", "grep", "head", "sha256sum", "dd", "mkdir", "rm", "true"}) {
        std::error_code ec;
        fs::create_symlink("busybox", rootfs + "/bin/" + applet, ec);
    }
    write_file(rootfs + "/etc/passwd", "root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n");
    const std::string tar = work_ + "/rootfs-" + name + ".tar";
    CommandResult t = run({"tar", "-C", rootfs, "-cf", tar, "."});
    if (t.exit_code != 0) throw std::runtime_error("tar: " + t.err);
    const std::string image = name + ":1";
    docker_ok({"import", tar, image});
    return image;
}

void Dockerd::stop() {
    if (process_.pid() <= 0) return;
    process_.stop(std::chrono::seconds(20));
    // dockerd unmounts what it mounted when it exits cleanly; after a kill its
    // container mounts (and containerd's) would outlive the scratch directory.
    unmount_all_below(exec_root_);
    unmount_all_below(data_root_);
}

}  // namespace cmkfs::test
