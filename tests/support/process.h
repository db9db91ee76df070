// Running the real cmkfs binary from tests: commands with captured output,
// and a store mounted by a real daemon that the test owns by PID.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "support/mount_daemon.h"
#include "support/temp_dir.h"

namespace cmkfs::test {

struct CommandResult {
    int exit_code = -1;
    std::string out;
    std::string err;
};

// Runs argv (argv[0] searched in PATH), feeding `input` on stdin.
CommandResult run(const std::vector<std::string> &argv, const std::string &input = "");
// Runs the cmkfs binary under test (env CMKFS_BINARY) with args.
CommandResult cmkfs(const std::vector<std::string> &args, const std::string &input = "");
// The cmkfs under test under timeout(1) (`seconds`, then KILL 5 s later): a
// command that may hang on what a test does to it then ends with exit 124 (or
// 137), a failure instead of a stuck test.
CommandResult bounded_cmkfs(const std::vector<std::string> &args, int seconds = 30);
// The same, for test files where `cmkfs` alone is ambiguous (namespace cmkfs
// vs cmkfs::test::cmkfs once both are in scope).
inline CommandResult cli(const std::vector<std::string> &args) { return cmkfs(args); }
std::string cmkfs_binary();
std::string build_dir();   // env CMKFS_BUILD_DIR
std::string source_dir();  // env CMKFS_SOURCE_DIR

// A local vault with one key and a policy for one identity, made with the CLI.
struct LocalVault {
    explicit LocalVault(const std::string &dir, const std::string &identity = "test-id",
                        const std::string &kty = "oct");
    std::string dir;
    std::string identity;
    std::string kid;          // versioned key id of key "k"
    std::string create_key(const std::string &name, const std::string &kty = "oct");
    void set_policy(const std::vector<std::string> &perms);
    void delete_policy();
    void set_enabled(bool enabled);  // latest version of "k"
    void delete_key();
    void recover_key();
};

// A store (on a local vault unless Options::init_args names another
// provider), mounted by `cmkfs mount -f` running as a child.
class MountedStore {
public:
    struct Options {
        bool plaintext_names = false;
        std::vector<std::string> mount_args;  // extra args for `cmkfs mount`
        // When set, replaces the local vault's "--provider local --identity …
        // --key-encryption-key …" in `cmkfs init` (another provider's store).
        std::vector<std::string> init_args;
        bool mount = true;

        // A store that is created but not mounted (the test mounts it, or
        // checks how mounting it fails).
        static Options unmounted() {
            Options options;
            options.mount = false;
            return options;
        }
    };
    MountedStore();
    explicit MountedStore(Options options);
    ~MountedStore();
    MountedStore(const MountedStore &) = delete;
    MountedStore &operator=(const MountedStore &) = delete;

    const std::string &backing() const { return backing_; }
    const std::string &mountpoint() const { return mountpoint_; }
    std::string path(const std::string &rel) const { return mountpoint_ + "/" + rel; }
    LocalVault &vault() { return vault_; }
    TempDir &scratch() { return dir_; }
    pid_t daemon_pid() const { return daemon_ ? daemon_->pid() : -1; }
    std::string daemon_log() const;

    // Starts the daemon and waits until the mount appears. Throws with the
    // daemon's log when it exits first.
    void mount(const std::vector<std::string> &extra_args = {});
    // Unmounts and waits for the daemon to exit.
    void unmount();
    // SIGKILL the daemon (crash tests); the dead mount is then detached.
    void kill_daemon();
    bool mounted() const;

private:
    Options options_;
    TempDir dir_;
    LocalVault vault_;
    std::string backing_;
    std::string mountpoint_;
    std::optional<MountDaemon> daemon_;
};

bool is_mounted(const std::string &mountpoint);
std::string read_file(const std::string &path);
void write_file(const std::string &path, const std::string &content);

}  // namespace cmkfs::test
