#include "e2e/volume_plugin.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "support/dockerd.h"

namespace cmkfs::test::e2e {

namespace {
// One driver name and socket per test process, whatever the test case:
// dockerd keeps every plugin it has activated and asks all of them on
// `docker volume ls`, retrying one that is gone for 30 s.
const std::string &socket_dir() {
    static const TempDir dir;
    return dir.path();
}
}  // namespace

VolumePlugin::VolumePlugin(const std::string &work, const std::string &extra_yaml)
    : work_(work),
      vault_(work + "/vault", "docker-id"),
      driver_("cmkfs-e2e-" + std::to_string(::getpid())),
      socket_(socket_dir() + "/plugin.sock"),
      spec_("/etc/docker/plugins/" + driver_ + ".spec"),
      config_(work + "/plugin.yaml") {
    std::string yaml = "volume_plugin:\n"
                       "  root: " + work + "/volumes\n"
                       "  state_dir: " + work + "/state\n"
                       "  socket: " + socket_ + "\n"
                       "  defaults:\n"
                       "    vault: " + vault_.dir + "\n"
                       "    identity: " + vault_.identity + "\n";
    yaml += extra_yaml;
    yaml += "revocation:\n  check_interval: 1s\n  unavailable_grace: 2s\nlogging:\n  level: debug\n";
    write_file(config_, yaml);
    std::filesystem::create_directories("/etc/docker/plugins");
    write_file(spec_, "unix://" + socket_ + "\n");
    start();
}

VolumePlugin::~VolumePlugin() {
    stop();
    // The mount daemons outlive the plugin by design; the test's do not.
    unmount_all_below(work_ + "/state/mounts");
    ::unlink(spec_.c_str());
}

void VolumePlugin::start() {
    process_ = ChildProcess({cmkfs_binary(), "volume-plugin", "--config", config_}, work_ + "/plugin.log");
    for (int i = 0; i < 200; ++i) {
        if (!process_.running()) throw std::runtime_error("the volume plugin exited: " + log());
        if (std::filesystem::exists(socket_)) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    throw std::runtime_error("the volume plugin did not listen within 5 s: " + log());
}

void VolumePlugin::stop() { process_.stop(std::chrono::seconds(10)); }

CommandResult VolumePlugin::post(const std::string &call, const std::string &body, const std::string &method) const {
    const std::string body_file = work_ + "/request.json";  // bodies beyond argv's 128 KiB per argument
    write_file(body_file, body);
    return run({"curl", "-sS", "--max-time", "20", "--unix-socket", socket_, "-w", "\n%{http_code}", "-X", method,
                "--data-binary", "@" + body_file, "http://plugin/" + call});
}

}  // namespace cmkfs::test::e2e
