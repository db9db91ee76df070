// The control socket of a mount: a root-only (0600) unix socket under
// /run/cmkfs/ (or $CMKFS_RUN_DIR), one JSON request line and one JSON reply
// line per connection. The CLI finds it from the mountpoint alone.
#pragma once

#include <functional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "util/unique_fd.h"

namespace cmkfs::daemon {

// The host's run directory: /run/cmkfs, or $CMKFS_RUN_DIR. Root's, outside
// every store: what is kept here is trusted, unlike the backing directory.
std::string run_directory();

std::string control_socket_path(const std::string &absolute_mountpoint);

using ControlHandler = std::function<nlohmann::json(const nlohmann::json &request)>;

class ControlServer {
public:
    ControlServer(std::string path, ControlHandler handler);
    ~ControlServer();
    ControlServer(const ControlServer &) = delete;
    ControlServer &operator=(const ControlServer &) = delete;
    const std::string &path() const { return path_; }

private:
    void serve();
    void handle(int client);

    std::string path_;
    ControlHandler handler_;
    UniqueFd listener_;
    UniqueFd stop_read_, stop_write_;
    std::thread thread_;
};

// Sends one request to the mount's socket and returns the reply. Throws
// Error(ENOENT/ECONNREFUSED…) when no daemon answers.
nlohmann::json control_request(const std::string &absolute_mountpoint, const nlohmann::json &request,
                               int timeout_ms = 30000);

}  // namespace cmkfs::daemon
