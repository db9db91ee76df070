// Debian's Docker engine (docker.io) for tests: a dockerd of the test's own
// (--data-root, --exec-root, socket, pidfile under a scratch directory; no
// iptables, no bridge), driven with Debian's /usr/bin/docker (the machine's
// /usr/local/bin/docker is another build). Stopped by its PID; whatever it
// left mounted under its directories is unmounted.
#pragma once

#include <string>
#include <vector>

#include "support/child_process.h"
#include "support/process.h"

namespace cmkfs::test {

struct DockerdOptions {
    std::string data_root;       // "" = WORK/data
    std::string storage_driver;  // "" = dockerd's choice
};

class Dockerd {
public:
    explicit Dockerd(const std::string &work, DockerdOptions options = {});
    ~Dockerd();
    Dockerd(const Dockerd &) = delete;
    Dockerd &operator=(const Dockerd &) = delete;

    // `/usr/bin/docker -H unix://SOCKET ARGS...`
    CommandResult docker(const std::vector<std::string> &args) const;
    // The same, throwing with docker's output and dockerd's log tail on failure.
    std::string docker_ok(const std::vector<std::string> &args) const;
    // `docker import` of a root file system with a static busybox (sh, cat,
    // echo, sleep, ... as links) and /tmp; returns the image name.
    std::string import_busybox(const std::string &name);

    pid_t pid() const { return process_.pid(); }
    std::string log() const { return process_.log(); }
    const std::string &data_root() const { return data_root_; }
    void stop();

private:
    std::string work_;
    std::string data_root_;
    std::string exec_root_;
    std::string socket_;
    ChildProcess process_;
};

// Unmounts (lazily, deepest first) every mount at or below `dir`.
void unmount_all_below(const std::string &dir);

}  // namespace cmkfs::test
