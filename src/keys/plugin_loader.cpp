#include "keys/plugin_loader.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "keys/key_provider.h"
#include "util/errors.h"

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

// Refuses an opened file or directory that is of the wrong type or, with an
// owner, not owned by it or writable by group or others.
void check_opened(const std::string &plugin, const std::string &what, const std::string &path,
                  int fd, std::optional<uid_t> owner, bool want_dir) {
    struct stat st {};
    if (::fstat(fd, &st) != 0)
        throw PluginLoadError("cannot check provider plugin " + plugin + ": stat " + path + ": " +
                              errno_text(errno));
    if (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
        throw PluginLoadError("refusing provider plugin " + plugin + ": " + what + " " + path +
                              (want_dir ? " is not a directory" : " is not a regular file"));
    if (!owner) return;
    if (st.st_uid != *owner)
        throw PluginLoadError("refusing provider plugin " + plugin + ": " + what + " " + path +
                              " is owned by uid " + std::to_string(st.st_uid) + ", not uid " +
                              std::to_string(*owner) + (*owner == 0 ? " (root)" : ""));
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        throw PluginLoadError("refusing provider plugin " + plugin + ": " + what + " " + path +
                              " is writable by group or others (mode " + mode_string(st.st_mode) +
                              ")");
}

std::function<void(const std::string &)> &checked_hook() {
    static std::function<void(const std::string &)> hook;
    return hook;
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
                                  errno_text(errno));
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

UniqueFd open_plugin_file(const std::string &path, std::optional<uid_t> owner) {
    const auto slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    // The file is opened relative to the directory we check, so both checks
    // are about the same objects whatever happens to the path meanwhile.
    UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir_fd)
        throw PluginLoadError("cannot check provider plugin " + path + ": open directory " + dir +
                              ": " + errno_text(errno));
    UniqueFd fd(::openat(dir_fd.get(), base.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!fd && errno == ELOOP)
        throw PluginLoadError("refusing provider plugin " + path + ": file " + path +
                              " is a symbolic link (name the file itself)");
    if (!fd)
        throw PluginLoadError("cannot open provider plugin " + path + ": " + errno_text(errno));
    check_opened(path, "file", path, fd.get(), owner, false);
    check_opened(path, "directory", dir, dir_fd.get(), owner, true);
    return fd;
}

void check_plugin_permissions(const std::string &path, uid_t owner) { (void)open_plugin_file(path, owner); }

void set_plugin_checked_hook(std::function<void(const std::string &path)> hook) {
    checked_hook() = std::move(hook);
}

std::shared_ptr<PluginLibrary> PluginLibrary::load(const std::string &path, std::optional<uid_t> owner) {
    std::shared_ptr<PluginLibrary> lib(new PluginLibrary());
    lib->path_ = path;
    lib->fd_ = open_plugin_file(path, owner);
    if (checked_hook()) checked_hook()(path);
    // dlopen by path would open the file again, and could get another file
    // than the one checked; through the descriptor it maps exactly that one.
    lib->loaded_as_ = "/proc/self/fd/" + std::to_string(lib->fd_.get());
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
    lib->handle_ = ::dlopen(lib->loaded_as_.c_str(), RTLD_NOW | RTLD_LOCAL);
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
    // glibc finds an already loaded object by name first. An object that
    // stays mapped after dlclose (NODELETE, e.g. C++ unique symbols) keeps
    // the name /proc/self/fd/N: while it does, N must never be reused for
    // another plugin, or dlopen would hand back this one. So the descriptor
    // is then kept open (a deliberate, bounded leak: one per plugin file).
    if (!loaded_as_.empty() && fd_) {
        if (void *still = ::dlopen(loaded_as_.c_str(), RTLD_LAZY | RTLD_NOLOAD)) {
            ::dlclose(still);
            (void)fd_.release();
        }
    }
}

}  // namespace cmkfs::keys::detail
