// A `cmkfs mount -f …` child: started on construction, waits for the mount;
// unmounted and reaped by its PID on destruction. MountedStore runs its
// daemon through this; tests use it directly for stores MountedStore cannot
// make (providers other than local).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace cmkfs::test {

class MountDaemon {
public:
    // args follow the binary: {"mount", "-f", BACKING, MOUNTPOINT, ...}.
    // Throws with the daemon's log when it exits before mounting.
    MountDaemon(std::vector<std::string> args, std::string mountpoint, std::string log_path);
    ~MountDaemon();
    MountDaemon(const MountDaemon &) = delete;
    MountDaemon &operator=(const MountDaemon &) = delete;

    // Unmounts and waits for the daemon; SIGKILLs it if it does not exit
    // within 30 s (a hang detector, not a speed bound: a loaded machine may
    // take seconds). Returns false when it had to; hang_report() then says
    // where each of its threads was waiting.
    bool stop();
    const std::string &hang_report() const { return hang_report_; }
    // SIGKILL (crash tests), reap, and detach the dead mount.
    void kill();
    std::string log() const;
    pid_t pid() const { return pid_; }

private:
    std::string mountpoint_;
    std::string log_;
    pid_t pid_ = -1;
    std::string hang_report_;
};

}  // namespace cmkfs::test
