#include "e2e/containerd_daemon.h"

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <thread>

namespace cmkfs::test::e2e {

namespace {

std::string config_toml(const std::string &root, const std::string &state, const std::string &socket) {
    // Snapshotters other than native either need a kernel feature this setup
    // lacks (overlayfs on FUSE) or a dedicated device; disabling them keeps
    // the log to what matters.
    return "version = 2\n"
           "root = \"" + root + "\"\n"
           "state = \"" + state + "\"\n"
           "disabled_plugins = [\"io.containerd.grpc.v1.cri\", \"io.containerd.snapshotter.v1.overlayfs\",\n"
           "  \"io.containerd.snapshotter.v1.btrfs\", \"io.containerd.snapshotter.v1.zfs\",\n"
           "  \"io.containerd.snapshotter.v1.devmapper\", \"io.containerd.snapshotter.v1.aufs\"]\n"
           "[grpc]\n"
           "  address = \"" + socket + "\"\n"
           "[ttrpc]\n"
           "  address = \"" + socket + ".ttrpc\"\n"
           "[debug]\n"
           "  address = \"\"\n"
           "[metrics]\n"
           "  address = \"\"\n";
}

}  // namespace

Containerd::Containerd(const std::string &root, const std::string &work) : socket_(work + "/containerd.sock") {
    std::filesystem::create_directories(root);
    std::filesystem::create_directories(work + "/state");
    const std::string config = work + "/containerd.toml";
    write_file(config, config_toml(root, work + "/state", socket_));
    process_ = ChildProcess({"containerd", "--config", config}, work + "/containerd.log");
    for (int i = 0; i < 300; ++i) {
        if (!process_.running()) throw std::runtime_error("containerd exited: " + log());
        if (std::filesystem::exists(socket_) && ctr({"version"}).exit_code == 0) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    process_.stop();
    throw std::runtime_error("containerd did not answer within 15 s: " + log());
}

Containerd::~Containerd() { stop(); }

CommandResult Containerd::ctr(const std::vector<std::string> &args) const {
    std::vector<std::string> argv{"ctr", "--address", socket_, "--namespace", "cmkfs-e2e"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
}

void Containerd::stop() { process_.stop(std::chrono::seconds(10)); }

}  // namespace cmkfs::test::e2e
