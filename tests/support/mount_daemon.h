// A `cmkfs mount -f …` child for stores the harness's MountedStore cannot
// make (providers other than local): started on construction, waits for the
// mount; unmounted and reaped by its PID on destruction.
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

    void stop();  // unmount and wait for the daemon; SIGKILL if it hangs
    std::string log() const;
    pid_t pid() const { return pid_; }

private:
    std::string mountpoint_;
    std::string log_;
    pid_t pid_ = -1;
};

}  // namespace cmkfs::test
