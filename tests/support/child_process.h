// A long-running helper program (registry, containerd) owned by a test: its
// output goes to a log file, and it is stopped by its PID when the owner goes
// out of scope, also when an assertion failed.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace cmkfs::test {

class ChildProcess {
public:
    ChildProcess() = default;
    // Starts argv (argv[0] searched in PATH) with stdout and stderr appended to log_path.
    ChildProcess(const std::vector<std::string> &argv, const std::string &log_path);
    ~ChildProcess();
    ChildProcess(ChildProcess &&other) noexcept;
    ChildProcess &operator=(ChildProcess &&other) noexcept;
    ChildProcess(const ChildProcess &) = delete;
    ChildProcess &operator=(const ChildProcess &) = delete;

    pid_t pid() const { return pid_; }
    // False once the process has exited (it is reaped then).
    bool running();
    // SIGTERM, then SIGKILL after `grace`; always reaps. No-op when not running.
    void stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
    std::string log() const;

private:
    pid_t pid_ = -1;
    std::string log_path_;
};

}  // namespace cmkfs::test
