// Loading and validating a provider shared object (internal to src/keys;
// exposed for tests). key_provider.h is the interface the rest of cmkfs uses.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cmkfs/provider.h"
#include "util/unique_fd.h"

namespace cmkfs::keys::detail {

// Size of the version-1 function table: every provider must supply at least this.
inline constexpr size_t kProviderTableV1Size =
    offsetof(cmkfs_provider, check) + sizeof(cmkfs_provider::check);

// "NAME" -> "<dir>/libcmkfs-provider-NAME.so" (first dir that has it), or an
// absolute path as is. Throws PluginLoadError (naming the dirs searched).
std::string resolve_plugin_path(const std::string &name_or_path,
                                const std::vector<std::string> &dirs);

// Opens the plugin file for loading and checks the opened file itself, so
// that what dlopen maps is what was checked (no window for a swap): the last
// component must not be a symlink (O_NOFOLLOW) and must be a regular file;
// with an owner, the file and the directory it was opened from (by
// descriptor) must be owned by it and not writable by group or others.
// Throws PluginLoadError naming the file.
UniqueFd open_plugin_file(const std::string &path, std::optional<uid_t> owner);

// The same checks, for callers that only want the verdict. The loader
// applies them with owner 0 when running as root.
void check_plugin_permissions(const std::string &path, uid_t owner);

// Test hook: runs after the checks and before dlopen, with the plugin path.
// The loader tests swap the file there to show the swap cannot win.
void set_plugin_checked_hook(std::function<void(const std::string &path)> hook);

// What the host gives a plugin; must outlive every use by the plugin.
struct HostContext {
    std::string plugin;  // name used in log lines
    cmkfs_host host{};
};

// A dlopen'ed, validated provider. dlclose on destruction.
class PluginLibrary {
public:
    // Throws PluginLoadError with a one-line reason naming the file. The
    // file is opened and checked by open_plugin_file (owner: see there) and
    // loaded through that descriptor (/proc/self/fd/N).
    static std::shared_ptr<PluginLibrary> load(const std::string &path,
                                               std::optional<uid_t> owner = std::nullopt);
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
    // The descriptor dlopen loaded from; its /proc/self/fd name is the
    // object's name in the dynamic linker, kept reserved while it is mapped.
    UniqueFd fd_;
    std::string loaded_as_;
    cmkfs_provider table_{};  // zero-extended copy of the provider's table
    std::unique_ptr<HostContext> ctx_;
    std::string path_;
    std::string name_;
    std::string description_;
};

}  // namespace cmkfs::keys::detail
