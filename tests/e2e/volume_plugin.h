// `cmkfs volume-plugin` run by a test: its config, volumes, state and socket
// in a scratch directory, a local vault it uses by default, and a spec file
// in /etc/docker/plugins (the only place besides /run/docker/plugins where
// dockerd looks for plugins) under a driver name unique to this process, so
// a real plugin on the machine and other test processes are not disturbed.
// One at a time per process: they share the driver name and socket.
#pragma once

#include <string>

#include "support/child_process.h"
#include "support/process.h"

namespace cmkfs::test::e2e {

class VolumePlugin {
public:
    // extra_yaml is appended to the volume_plugin section (indented by 2).
    explicit VolumePlugin(const std::string &work, const std::string &extra_yaml = "");
    ~VolumePlugin();
    VolumePlugin(const VolumePlugin &) = delete;
    VolumePlugin &operator=(const VolumePlugin &) = delete;

    void start();
    void stop();  // SIGTERM; the plugin's mounts stay (as they do in production)

    const std::string &driver() const { return driver_; }
    const std::string &socket() const { return socket_; }
    std::string store(const std::string &volume) const { return work_ + "/volumes/" + volume + "/store"; }
    std::string volumes_dir() const { return work_ + "/volumes"; }
    std::string mountpoint(const std::string &volume) const { return work_ + "/state/mounts/" + volume; }
    std::string state_file() const { return work_ + "/state/mounts.json"; }
    LocalVault &vault() { return vault_; }
    std::string log() const { return process_.log(); }

    // POST /CALL with a body straight to the plugin's socket (what someone
    // other than dockerd could send); out is the reply's body, then the HTTP
    // status on a line of its own.
    CommandResult post(const std::string &call, const std::string &body, const std::string &method = "POST") const;

private:
    std::string work_;
    LocalVault vault_;
    std::string driver_;
    std::string socket_;
    std::string spec_;
    std::string config_;
    ChildProcess process_;
};

}  // namespace cmkfs::test::e2e
