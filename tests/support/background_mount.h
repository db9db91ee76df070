// A mount made by a daemonized cmkfs (mount(8), fstab, a systemd ExecStart)
// rather than by a child the test owns. The guard finds the daemon by a
// marker unique to the test (its scratch path) in the daemon's command line,
// and at destruction unmounts and waits for that PID, killing it if it stays.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace cmkfs::test {

// PIDs of processes other than this one whose command line contains `marker`.
std::vector<pid_t> pids_with_argument_containing(const std::string &marker);

// The filesystem type of the mount at `mountpoint` in /proc/self/mountinfo ("" if none).
std::string mount_fstype(const std::string &mountpoint);

class BackgroundMount {
public:
    BackgroundMount(std::string mountpoint, std::string marker)
        : mountpoint_(std::move(mountpoint)), marker_(std::move(marker)) {}
    ~BackgroundMount();
    BackgroundMount(const BackgroundMount &) = delete;
    BackgroundMount &operator=(const BackgroundMount &) = delete;

    // The daemon(s) serving it, found by the marker.
    std::vector<pid_t> daemons() const { return pids_with_argument_containing(marker_); }
    // Waits up to `seconds` for every daemon to exit; true when none is left.
    bool wait_daemons_gone(int seconds) const;

private:
    std::string mountpoint_;
    std::string marker_;
};

}  // namespace cmkfs::test
