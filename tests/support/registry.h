// Debian's docker-registry (distribution v2) for end-to-end tests: storage on
// a directory the test chooses (normally a cmkfs mount), listening on
// 127.0.0.1 at a port picked at run time, optionally behind htpasswd (bcrypt)
// basic auth. The constructor returns once /v2/ answers; the destructor stops
// the registry by its PID.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "support/child_process.h"
#include "support/process.h"

namespace cmkfs::test {

struct RegistryOptions {
    std::string root;      // storage.filesystem.rootdirectory
    std::string user;      // non-empty: require basic auth for this user
    std::string password;  // ... with this password
    // http.secret: replicas behind one load balancer must share it (it signs
    // the upload state a client carries from one request to the next).
    // Empty: the registry makes a random one of its own.
    std::string http_secret;
};

class Registry {
public:
    explicit Registry(RegistryOptions options);
    ~Registry();
    Registry(const Registry &) = delete;
    Registry &operator=(const Registry &) = delete;

    uint16_t port() const { return port_; }
    const std::string &address() const { return address_; }  // "127.0.0.1:PORT"
    // "127.0.0.1:PORT/REPO:TAG", as skopeo (after docker://) and ctr want it.
    std::string reference(const std::string &repo, const std::string &tag) const;
    pid_t pid() const { return process_.pid(); }
    bool running() { return process_.running(); }
    std::string log() const { return process_.log(); }
    // HTTP status of an unauthenticated GET, or -1 when nothing answers.
    int http_status(const std::string &path) const;
    void stop();

private:
    bool try_start();  // false when the port was taken in the meantime

    RegistryOptions options_;
    TempDir dir_;  // config, htpasswd, log
    uint16_t port_ = 0;
    std::string address_;
    ChildProcess process_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0).
uint16_t free_loopback_port();
// Status code of `GET path` on 127.0.0.1:port (HTTP/1.0), -1 when it cannot connect.
int loopback_http_status(uint16_t port, const std::string &path);

}  // namespace cmkfs::test
