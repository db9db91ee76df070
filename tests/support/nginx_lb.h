// Debian's nginx as a round-robin HTTP load balancer for tests: one
// foreground process (master_process off) on 127.0.0.1 with a config
// generated under a TempDir, in front of a list of 127.0.0.1 upstreams. No
// session affinity (plain round robin), no body size limit and no buffering of
// request or response bodies, as registry blob uploads need. Every request is
// logged with the upstream that served it. Stopped by its PID at destruction.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "support/child_process.h"
#include "support/process.h"

namespace cmkfs::test {

class LoadBalancer {
public:
    // Returns once the balancer answers; throws with nginx's log otherwise.
    explicit LoadBalancer(std::vector<uint16_t> upstream_ports);
    ~LoadBalancer();
    LoadBalancer(const LoadBalancer &) = delete;
    LoadBalancer &operator=(const LoadBalancer &) = delete;

    uint16_t port() const { return port_; }
    const std::string &address() const { return address_; }  // "127.0.0.1:PORT"
    pid_t pid() const { return process_.pid(); }
    // Requests per upstream port so far, from the access log.
    int requests_served_by(uint16_t upstream_port) const;
    std::string access_log() const;
    std::string error_log() const;
    void stop();

private:
    bool try_start();  // false when the port was taken in the meantime

    std::vector<uint16_t> upstreams_;
    TempDir dir_;
    uint16_t port_ = 0;
    std::string address_;
    ChildProcess process_;
};

}  // namespace cmkfs::test
