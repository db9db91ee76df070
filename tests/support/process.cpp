#include "support/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

extern char **environ;

namespace cmkfs::test {

namespace {

std::string env_or(const char *name, const std::string &fallback) {
    const char *v = std::getenv(name);
    return v != nullptr && *v != '\0' ? v : fallback;
}

std::vector<char *> c_argv(const std::vector<std::string> &argv) {
    std::vector<char *> out;
    for (const auto &a : argv) out.push_back(const_cast<char *>(a.c_str()));
    out.push_back(nullptr);
    return out;
}

void check(const CommandResult &r, const std::string &what) {
    if (r.exit_code != 0)
        throw std::runtime_error(what + " failed (exit " + std::to_string(r.exit_code) + "): " + r.err + r.out);
}

}  // namespace

std::string cmkfs_binary() { return env_or("CMKFS_BINARY", "cmkfs"); }
std::string build_dir() { return env_or("CMKFS_BUILD_DIR", "."); }
std::string source_dir() { return env_or("CMKFS_SOURCE_DIR", "."); }

CommandResult run(const std::vector<std::string> &argv, const std::string &input) {
    int in[2], out[2], err[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
        throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    pid_t pid;
    auto args = c_argv(argv);
    int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    if (rc != 0) {
        ::close(in[1]);
        ::close(out[0]);
        ::close(err[0]);
        throw std::runtime_error("cannot run " + argv[0] + ": " + std::strerror(rc));
    }
    // Feed stdin from a thread so a chatty child cannot deadlock us.
    std::thread feeder([fd = in[1], input] {
        size_t done = 0;
        signal(SIGPIPE, SIG_IGN);
        while (done < input.size()) {
            ssize_t n = ::write(fd, input.data() + done, input.size() - done);
            if (n <= 0) break;
            done += static_cast<size_t>(n);
        }
        ::close(fd);
    });
    CommandResult result;
    pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    int open_fds = 2;
    char buf[65536];
    while (open_fds > 0) {
        if (::poll(fds, 2, -1) < 0 && errno != EINTR) break;
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
            if (n > 0) {
                (i == 0 ? result.out : result.err).append(buf, static_cast<size_t>(n));
            } else {
                ::close(fds[i].fd);
                fds[i].fd = -1;
                --open_fds;
            }
        }
    }
    feeder.join();
    int status = 0;
    ::waitpid(pid, &status, 0);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return result;
}

CommandResult cmkfs(const std::vector<std::string> &args, const std::string &input) {
    std::vector<std::string> argv{cmkfs_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, input);
}

CommandResult bounded_cmkfs(const std::vector<std::string> &args, int seconds) {
    std::vector<std::string> argv{"timeout", "-k", "5", std::to_string(seconds), cmkfs_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
}

LocalVault::LocalVault(const std::string &dir_, const std::string &identity_, const std::string &kty)
    : dir(dir_), identity(identity_) {
    check(cmkfs({"vault", "create", dir, "--retention-days", "7"}), "vault create");
    kid = create_key("k", kty);
    set_policy({"get", "wrapKey", "unwrapKey"});
}

std::string LocalVault::create_key(const std::string &name, const std::string &kty) {
    auto r = cmkfs({"vault", "key", "create", "--vault", dir, "--name", name, "--kty", kty});
    check(r, "vault key create");
    return nlohmann::json::parse(r.out).at("key").at("kid").get<std::string>();
}

void LocalVault::set_policy(const std::vector<std::string> &perms) {
    std::vector<std::string> args{"vault", "set-policy", "--vault", dir, "--identity", identity, "--key-permissions"};
    args.insert(args.end(), perms.begin(), perms.end());
    check(cmkfs(args), "vault set-policy");
}

void LocalVault::delete_policy() {
    check(cmkfs({"vault", "delete-policy", "--vault", dir, "--identity", identity}), "vault delete-policy");
}

void LocalVault::set_enabled(bool enabled) {
    check(cmkfs({"vault", "key", "set-attributes", "--vault", dir, "--name", "k", "--enabled",
                 enabled ? "true" : "false"}),
          "vault key set-attributes");
}

void LocalVault::delete_key() { check(cmkfs({"vault", "key", "delete", "--vault", dir, "--name", "k"}), "key delete"); }
void LocalVault::recover_key() {
    check(cmkfs({"vault", "key", "recover", "--vault", dir, "--name", "k"}), "key recover");
}

MountedStore::MountedStore() : MountedStore(Options{}) {}

MountedStore::MountedStore(Options options)
    : options_(std::move(options)), vault_(dir_ / "vault"), backing_(dir_ / "backing"),
      mountpoint_(dir_ / "mnt") {
    std::filesystem::create_directory(mountpoint_);
    std::vector<std::string> args{"init", backing_};
    if (options_.init_args.empty())
        args.insert(args.end(), {"--provider", "local", "--identity", vault_.identity, "--key-encryption-key", vault_.kid});
    else
        args.insert(args.end(), options_.init_args.begin(), options_.init_args.end());
    if (options_.plaintext_names) args.push_back("--plaintext-names");
    check(cmkfs(args), "init");
    if (options_.mount) mount();
}

MountedStore::~MountedStore() = default;  // the daemon (if any) unmounts and is reaped

std::string MountedStore::daemon_log() const { return read_file(dir_ / "daemon.log"); }

bool is_mounted(const std::string &mountpoint) {
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream f(line);
        std::string a, b, c, d, mp;
        f >> a >> b >> c >> d >> mp;
        if (mp == mountpoint) return true;
    }
    return false;
}

bool MountedStore::mounted() const { return is_mounted(mountpoint_); }

void MountedStore::mount(const std::vector<std::string> &extra_args) {
    std::vector<std::string> args{"mount", "-f", backing_, mountpoint_};
    args.insert(args.end(), options_.mount_args.begin(), options_.mount_args.end());
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    daemon_.emplace(std::move(args), mountpoint_, dir_ / "daemon.log");
}

void MountedStore::unmount() {
    if (!daemon_) return;
    const bool exited = daemon_->stop();
    const std::string report = daemon_->hang_report();
    daemon_.reset();
    if (!exited) throw std::runtime_error("cmkfs daemon did not exit after unmount" + report);
}

void MountedStore::kill_daemon() {
    if (daemon_) daemon_->kill();
    daemon_.reset();
    if (mounted()) ::umount2(mountpoint_.c_str(), MNT_DETACH);
}

std::string read_file(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path + ": " + std::strerror(errno));
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void write_file(const std::string &path, const std::string &content) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
    out << content;
    if (!out.flush()) throw std::runtime_error("write failed: " + path);
}

}  // namespace cmkfs::test
