#include "support/cluster_host.h"

#include <filesystem>
#include <stdexcept>

#include "support/scoped_env.h"

namespace cmkfs::test {

namespace {

// The host's environment for the commands and daemons started while it lives
// (they inherit it at spawn; the test process itself is single-threaded).
class HostEnvironment {
public:
    explicit HostEnvironment(const Host &host)
        : run_("CMKFS_RUN_DIR", host.run_dir()), volumes_("CMKFS_VOLUMES_DIR", host.volumes_dir()),
          name_("CMKFS_HOST_NAME", host.name()) {}

private:
    ScopedEnv run_;
    ScopedEnv volumes_;
    ScopedEnv name_;
};

}  // namespace

Host::Host(std::string name, std::string view)
    : name_(std::move(name)), view_(std::move(view)), mountpoint_(dir_ / "mnt") {
    std::filesystem::create_directory(mountpoint_);
    std::filesystem::create_directory(run_dir());
    std::filesystem::create_directory(volumes_dir());
}

Host::~Host() = default;  // the daemon (if any) unmounts and is reaped

std::vector<std::string> Host::with_config(std::vector<std::string> args) const {
    if (std::filesystem::exists(config_path())) args.insert(args.end(), {"--config", config_path()});
    return args;
}

CommandResult Host::cmkfs(const std::vector<std::string> &args, const std::string &input) const {
    const HostEnvironment env(*this);
    return test::cmkfs(args, input);
}

CommandResult Host::init(const std::string &backing, const LocalVault &vault,
                         const std::vector<std::string> &extra_args) const {
    std::vector<std::string> args{"init", view(backing), "--provider", "local", "--identity", vault.identity,
                                  "--key-encryption-key", vault.kid};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    return cmkfs(with_config(args));
}

CommandResult Host::trust(const std::string &backing, const LocalVault &vault) const {
    return cmkfs(with_config({"trust", view(backing), "--provider", "local", "--identity", vault.identity,
                              "--key-encryption-key", vault.kid}));
}

void Host::mount(const std::string &backing, const std::vector<std::string> &extra_args) {
    if (daemon_) throw std::logic_error("host " + name_ + " already has a mount");
    std::vector<std::string> args{"mount", "-f", view(backing), mountpoint_};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    const HostEnvironment env(*this);
    // One log per mount, so a remount's log does not hide the first one's.
    daemon_.emplace(with_config(args), mountpoint_, dir_ / ("daemon-" + std::to_string(++mounts_) + ".log"));
}

void Host::unmount() {
    if (!daemon_) return;
    const bool exited = daemon_->stop();
    daemon_.reset();
    if (!exited) throw std::runtime_error("cmkfs daemon of host " + name_ + " did not exit after unmount");
}

void Host::kill_daemon() {
    if (daemon_) daemon_->kill();
    daemon_.reset();
}

bool Host::mounted() const { return is_mounted(mountpoint_); }

std::string Host::daemon_log() const {
    if (daemon_) return daemon_->log();
    try {
        return mounts_ > 0 ? read_file(dir_ / ("daemon-" + std::to_string(mounts_) + ".log")) : "";
    } catch (const std::exception &) {
        return "";
    }
}

}  // namespace cmkfs::test
