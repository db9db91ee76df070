#include "keys/plugin_loader.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "keys/key_provider.h"

namespace cmkfs::keys::detail {

namespace {

std::string mode_string(mode_t mode) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
    return buf;
}

bool valid_plugin_name(const std::string &name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_';
    });
}

void check_one(const std::string &plugin, const std::string &what, const std::string &path,
               uid_t owner, bool want_dir) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        throw PluginLoadError("cannot check provider plugin " + plugin + ": stat " + path + ": " +
                              std::strerror(errno));
    if (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
        throw PluginLoadError("refusing provider plugin " + plugin + ": " + what + " " + path +
                              (want_dir ? " is not a directory" : " is not a regular file"));
    if (st.st_uid != owner)
        throw PluginLoadError("refusing provider plugin " + plugin + ": " + what + " " + path +
                              " is owned by uid " + std::to_string(st.st_uid) + ", not uid " +
                              std::to_string(owner) + (owner == 0 ? " (root)" : ""));
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        throw PluginLoadError("refusing provider plugin " + plugin + ": " + what + " " + path +
                              " is writable by group or others (mode " + mode_string(st.st_mode) +
                              ")");
}

// Host callbacks. host_ctx is the HostContext of the plugin.
void host_log(void *host_ctx, cmkfs_log_level level, const char *message) {
    const auto *ctx = static_cast<const HostContext *>(host_ctx);
    const std::string &who = ctx != nullptr ? ctx->plugin : std::string("?");
    const char *msg = message != nullptr ? message : "";
    switch (level) {
        case CMKFS_LOG_DEBUG: spdlog::debug("provider {}: {}", who, msg); break;
        case CMKFS_LOG_INFO: spdlog::info("provider {}: {}", who, msg); break;
        case CMKFS_LOG_WARN: spdlog::warn("provider {}: {}", who, msg); break;
        default: spdlog::error("provider {}: {}", who, msg); break;
    }
}

void *host_secure_alloc(void *, size_t size) { return OPENSSL_secure_zalloc(size); }

void host_secure_free(void *, void *ptr, size_t size) {
    if (ptr != nullptr) OPENSSL_secure_clear_free(ptr, size);
}

}  // namespace

std::string resolve_plugin_path(const std::string &name_or_path,
                                const std::vector<std::string> &dirs) {
    if (name_or_path.find('/') != std::string::npos) {
        if (name_or_path[0] != '/')
            throw PluginLoadError("provider plugin path must be absolute: " + name_or_path);
        if (::access(name_or_path.c_str(), F_OK) != 0)
            throw PluginLoadError("provider plugin " + name_or_path + " not found: " +
                                  std::strerror(errno));
        return name_or_path;
    }
    if (!valid_plugin_name(name_or_path))
        throw PluginLoadError("invalid provider name '" + name_or_path +
                              "' (letters, digits, '-', '_'; or an absolute path)");
    const std::string file = "libcmkfs-provider-" + name_or_path + ".so";
    std::string searched;
    for (const auto &dir : dirs) {
        std::string candidate = dir + "/" + file;
        if (::access(candidate.c_str(), F_OK) == 0) return candidate;
        searched += (searched.empty() ? "" : ", ") + dir;
    }
    throw PluginLoadError("provider plugin '" + name_or_path + "' not found: no " + file + " in " +
                          (searched.empty() ? std::string("(no plugin directories)") : searched));
}

void check_plugin_permissions(const std::string &path, uid_t owner) {
    char real[PATH_MAX];
    if (::realpath(path.c_str(), real) == nullptr)
        throw PluginLoadError("cannot check provider plugin " + path + ": " + std::strerror(errno));
    std::string file = real;
    std::string dir = file.substr(0, std::max<size_t>(file.rfind('/'), 1));
    check_one(path, "file", file, owner, false);
    check_one(path, "directory", dir, owner, true);
}

std::shared_ptr<PluginLibrary> PluginLibrary::load(const std::string &path) {
    std::shared_ptr<PluginLibrary> lib(new PluginLibrary());
    lib->path_ = path;
    lib->ctx_ = std::make_unique<HostContext>();
    auto slash = path.rfind('/');
    lib->ctx_->plugin = slash == std::string::npos ? path : path.substr(slash + 1);
    cmkfs_host &host = lib->ctx_->host;
    host.struct_size = sizeof(cmkfs_host);
    host.abi_version = CMKFS_PROVIDER_ABI_VERSION;
    host.host_ctx = lib->ctx_.get();
    host.log = host_log;
    host.secure_alloc = host_secure_alloc;
    host.secure_free = host_secure_free;

    ::dlerror();
    lib->handle_ = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (lib->handle_ == nullptr) {
        const char *err = ::dlerror();
        throw PluginLoadError("cannot load provider plugin " + path + ": " +
                              (err != nullptr ? err : "dlopen failed"));
    }
    void *sym = ::dlsym(lib->handle_, CMKFS_PROVIDER_ENTRY_SYMBOL);
    if (sym == nullptr)
        throw PluginLoadError("provider plugin " + path + " does not export " +
                              CMKFS_PROVIDER_ENTRY_SYMBOL);
    auto entry = reinterpret_cast<cmkfs_provider_entry_fn>(sym);
    const cmkfs_provider *table = entry(&host);
    if (table == nullptr)
        throw PluginLoadError("provider plugin " + path + ": " + CMKFS_PROVIDER_ENTRY_SYMBOL +
                              " returned NULL (the provider cannot work with this host)");
    if (table->abi_version != CMKFS_PROVIDER_ABI_VERSION)
        throw PluginLoadError("provider plugin " + path + " has unknown ABI version " +
                              std::to_string(table->abi_version) + " (this cmkfs supports " +
                              std::to_string(CMKFS_PROVIDER_ABI_VERSION) + ")");
    if (table->struct_size < kProviderTableV1Size)
        throw PluginLoadError("provider plugin " + path + " has a function table of " +
                              std::to_string(table->struct_size) + " bytes, smaller than the " +
                              std::to_string(kProviderTableV1Size) + " bytes of ABI version 1");
    std::memcpy(&lib->table_, table, std::min<size_t>(table->struct_size, sizeof(cmkfs_provider)));
    std::string missing;
    auto need = [&](bool present, const char *what) {
        if (!present) missing += (missing.empty() ? "" : ", ") + std::string(what);
    };
    const cmkfs_provider &t = lib->table_;
    need(t.open != nullptr, "open");
    need(t.close != nullptr, "close");
    need(t.wrap != nullptr, "wrap");
    need(t.unwrap != nullptr, "unwrap");
    need(t.check != nullptr, "check");
    if (!missing.empty())
        throw PluginLoadError("provider plugin " + path + " lacks required functions: " + missing);
    lib->name_ = t.name != nullptr && *t.name != '\0' ? t.name : lib->ctx_->plugin;
    lib->description_ = t.description != nullptr ? t.description : "";
    lib->ctx_->plugin = lib->name_;
    return lib;
}

PluginLibrary::~PluginLibrary() {
    if (handle_ != nullptr) ::dlclose(handle_);
}

}  // namespace cmkfs::keys::detail
