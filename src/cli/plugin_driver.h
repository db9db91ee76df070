// Docker's volume driver semantics for cmkfs stores: each Docker volume NAME
// is the store ROOT/NAME/store, created by `cmkfs init`, mounted by a
// `cmkfs mount` daemon at STATE_DIR/mounts/NAME once however many containers
// use it (Docker's mount IDs are counted here), and unmounted when the last
// one leaves.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/plugin_state.h"
#include "config/config.h"

namespace cmkfs::cli {

// What the metrics module exports as the plugin's gauges.
struct VolumePluginCounts {
    size_t volumes = 0;           // Docker volumes the plugin holds
    size_t mounted_volumes = 0;   // of which mounted
    size_t mount_references = 0;  // Docker mount IDs on them, summed
};

class VolumeDriver {
public:
    // `config_path` ("" for none) is handed to `cmkfs init` and `cmkfs mount`
    // so that revocation, logging and provider options apply to the stores.
    // Creates the directories it needs and reconciles the recorded mounts with
    // /proc/self/mountinfo.
    VolumeDriver(config::VolumePluginConfig cfg, std::string config_path);

    // One protocol call: `method` is the URL path ("/VolumeDriver.Mount"),
    // `request` its JSON body. Failures come back in the reply's "Err".
    nlohmann::json handle(const std::string &method, const nlohmann::json &request);

    VolumePluginCounts counts();

private:
    nlohmann::json create(const std::string &name, const nlohmann::json &opts);
    nlohmann::json remove(const std::string &name);
    nlohmann::json mount(const std::string &name, const std::string &id);
    nlohmann::json unmount(const std::string &name, const std::string &id);
    nlohmann::json get(const std::string &name);
    nlohmann::json list();

    void reconcile();
    bool exists(const std::string &name) const;
    bool mounted(const std::string &name) const;
    // Its daemon answers on the control socket (a mount can outlive its daemon).
    bool served(const std::string &name) const;
    void unmount_store(const std::string &name);
    std::string volume_dir(const std::string &name) const { return cfg_.root + "/" + name; }
    std::string store_dir(const std::string &name) const { return volume_dir(name) + "/store"; }
    std::string mountpoint(const std::string &name) const { return cfg_.state_dir + "/mounts/" + name; }

    config::VolumePluginConfig cfg_;
    std::string config_path_;
    MountRecords records_;
    // Get's status of unmounted volumes, for kStatusCacheTime.
    static constexpr std::chrono::seconds kStatusCacheTime{2};
    std::map<std::string, std::pair<std::chrono::steady_clock::time_point, nlohmann::json>> status_cache_;
    std::mutex mutex_;
};

// Docker's rule for volume names, which also keeps them inside ROOT.
bool is_valid_volume_name(const std::string &name);

}  // namespace cmkfs::cli
