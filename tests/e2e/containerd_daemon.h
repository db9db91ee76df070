// Debian's containerd for end-to-end tests: `root` where the test says (a
// cmkfs mount), state, socket and log in a scratch directory, the native
// snapshotter (overlayfs cannot stack on FUSE) and no CRI plugin. Stopped by
// its PID when it goes out of scope.
#pragma once

#include <string>
#include <vector>

#include "support/child_process.h"
#include "support/process.h"

namespace cmkfs::test::e2e {

class Containerd {
public:
    Containerd(const std::string &root, const std::string &work);
    ~Containerd();
    Containerd(const Containerd &) = delete;
    Containerd &operator=(const Containerd &) = delete;

    // `ctr --address SOCKET --namespace cmkfs-e2e ARGS...`
    CommandResult ctr(const std::vector<std::string> &args) const;
    pid_t pid() const { return process_.pid(); }
    std::string log() const { return process_.log(); }
    void stop();

private:
    std::string socket_;
    ChildProcess process_;
};

}  // namespace cmkfs::test::e2e
