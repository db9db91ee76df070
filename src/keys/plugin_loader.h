// Loading and validating a provider shared object (internal to src/keys;
// exposed for tests). key_provider.h is the interface the rest of cmkfs uses.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "cmkfs/provider.h"

namespace cmkfs::keys::detail {

// Size of the version-1 function table: every provider must supply at least this.
inline constexpr size_t kProviderTableV1Size =
    offsetof(cmkfs_provider, check) + sizeof(cmkfs_provider::check);

// "NAME" -> "<dir>/libcmkfs-provider-NAME.so" (first dir that has it), or an
// absolute path as is. Throws PluginLoadError (naming the dirs searched).
std::string resolve_plugin_path(const std::string &name_or_path,
                                const std::vector<std::string> &dirs);

// Refuses (PluginLoadError) a plugin file, or its directory, that is not
// owned by `owner` or is writable by group or others. The loader applies it
// with owner 0 when running as root.
void check_plugin_permissions(const std::string &path, uid_t owner);

// What the host gives a plugin; must outlive every use by the plugin.
struct HostContext {
    std::string plugin;  // name used in log lines
    cmkfs_host host{};
};

// A dlopen'ed, validated provider. dlclose on destruction.
class PluginLibrary {
public:
    // Throws PluginLoadError with a one-line reason naming the file.
    static std::shared_ptr<PluginLibrary> load(const std::string &path);
    ~PluginLibrary();
    PluginLibrary(const PluginLibrary &) = delete;
    PluginLibrary &operator=(const PluginLibrary &) = delete;

    const cmkfs_provider &table() const noexcept { return table_; }
    const cmkfs_host *host() const noexcept { return &ctx_->host; }
    const std::string &path() const noexcept { return path_; }
    const std::string &name() const noexcept { return name_; }
    const std::string &description() const noexcept { return description_; }

private:
    PluginLibrary() = default;
    void *handle_ = nullptr;
    cmkfs_provider table_{};  // zero-extended copy of the provider's table
    std::unique_ptr<HostContext> ctx_;
    std::string path_;
    std::string name_;
    std::string description_;
};

}  // namespace cmkfs::keys::detail
