#include "support/host.h"

#include <sys/stat.h>

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
    // The trust-binding registry is root's alone, as /etc/cmkfs/volumes is.
    ::mkdir(volumes_dir().c_str(), 0700);
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

CommandResult Host::cli(const std::vector<std::string> &args, int seconds) const {
    const HostEnvironment env(*this);
    return bounded_cmkfs(args, seconds);
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

void Host::trust_as(const Host &other, const std::string &volume_id) const {
    const std::string file = "/" + volume_id + ".yaml";
    std::filesystem::copy_file(other.volumes_dir() + file, volumes_dir() + file,
                               std::filesystem::copy_options::overwrite_existing);
    ::chmod((volumes_dir() + file).c_str(), 0600);
}

void Host::mount(const std::string &backing, const std::vector<std::string> &extra_args) {
    if (daemon_) throw std::logic_error("host " + name_ + " already has a mount");
    std::vector<std::string> args{"mount", "-f", view(backing), mountpoint_};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    const HostEnvironment env(*this);
    // One log per mount, so a remount's log does not hide the first one's.
    daemon_.emplace(with_config(args), mountpoint_, mount_log(++mounts_));
}

void Host::unmount() {
    if (!daemon_) return;
    const bool exited = daemon_->stop();
    const std::string report = daemon_->hang_report();
    daemon_.reset();
    if (!exited) throw std::runtime_error("cmkfs daemon of host " + name_ + " did not exit after unmount" + report);
}

void Host::kill_daemon() {
    if (daemon_) daemon_->kill();
    daemon_.reset();
}

bool Host::mounted() const { return is_mounted(mountpoint_); }

CommandResult Host::refused_mount(const std::string &backing) {
    auto r = cli({"mount", view(backing), mountpoint_});
    if (r.exit_code == 0) cli({"umount", mountpoint_});
    return r;
}

std::string Host::daemon_log() const {
    if (daemon_) return daemon_->log();
    try {
        return mounts_ > 0 ? read_file(mount_log(mounts_)) : "";
    } catch (const std::exception &) {
        return "";
    }
}

std::string Host::log() const {
    std::string all;
    for (int n = 1; n <= mounts_; ++n) {
        try {
            all += read_file(mount_log(n));
        } catch (const std::exception &) {
            // a mount whose daemon never started writes no log
        }
    }
    return all;
}

}  // namespace cmkfs::test
