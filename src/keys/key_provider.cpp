// The C++ face of a provider plugin: status codes become ProviderError,
// buffers are sized by retrying on CMKFS_ERR_BUFFER_TOO_SMALL, unwrapped keys
// land in secure memory.
#include "keys/key_provider.h"

#include <dirent.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "keys/plugin_loader.h"

#ifndef CMKFS_PLUGIN_BUILD_DIR
#define CMKFS_PLUGIN_BUILD_DIR ""
#endif
#ifndef CMKFS_PLUGIN_INSTALL_DIR
#define CMKFS_PLUGIN_INSTALL_DIR "/usr/local/lib/cmkfs/providers"
#endif

namespace cmkfs::keys {

const char *to_string(ProviderStatus s) {
    switch (s) {
        case ProviderStatus::ok: return "ok";
        case ProviderStatus::denied: return "denied";
        case ProviderStatus::not_found: return "not_found";
        case ProviderStatus::disabled: return "disabled";
        case ProviderStatus::unavailable: return "unavailable";
        case ProviderStatus::invalid: return "invalid";
        case ProviderStatus::internal: return "internal";
    }
    return "internal";
}

ProviderStatus from_c_status(cmkfs_status s) {
    switch (s) {
        case CMKFS_OK: return ProviderStatus::ok;
        case CMKFS_ERR_DENIED: return ProviderStatus::denied;
        case CMKFS_ERR_NOT_FOUND: return ProviderStatus::not_found;
        case CMKFS_ERR_DISABLED: return ProviderStatus::disabled;
        case CMKFS_ERR_UNAVAILABLE: return ProviderStatus::unavailable;
        case CMKFS_ERR_INVALID: return ProviderStatus::invalid;
        case CMKFS_ERR_INTERNAL:
        case CMKFS_ERR_BUFFER_TOO_SMALL: return ProviderStatus::internal;
    }
    return ProviderStatus::internal;  // a value this host does not know
}

ProviderError::ProviderError(ProviderStatus status, const std::string &what)
    : Error(is_revocation(status) ? EACCES : EIO, what), status_(status) {}

namespace {

constexpr size_t kMaxOutput = size_t{1} << 20;
constexpr int kMaxAttempts = 4;

// The provider's message as one bounded line.
std::string message_of(const cmkfs_result &r) {
    size_t len = strnlen(r.message, sizeof r.message);
    std::string m(r.message, len);
    std::replace_if(m.begin(), m.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
    return m;
}

std::string kid_of(const cmkfs_result &r, const std::string &fallback) {
    size_t len = strnlen(r.versioned_key_id, sizeof r.versioned_key_id);
    return len == 0 || len == sizeof r.versioned_key_id ? fallback
                                                         : std::string(r.versioned_key_id, len);
}

class PluginKeyProvider final : public KeyProvider {
public:
    PluginKeyProvider(std::shared_ptr<detail::PluginLibrary> lib, void *instance)
        : lib_(std::move(lib)), instance_(instance), name_(lib_->name()) {}
    ~PluginKeyProvider() override {
        lib_->table().close(instance_);
        // lib_ (and with it dlclose) goes after close.
    }

    const std::string &name() const override { return name_; }

    WrapResult wrap(const KeyRef &key, std::span<const uint8_t> plain) override {
        const cmkfs_key_ref ref{key.key_id.c_str(), key.identity.c_str()};
        std::vector<uint8_t> buf(1024);
        for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
            cmkfs_result r{};
            size_t len = buf.size();
            cmkfs_status st = lib_->table().wrap(instance_, &ref, plain.data(), plain.size(),
                                                 buf.data(), &len, &r);
            if (st == CMKFS_ERR_BUFFER_TOO_SMALL && len > buf.size() && len <= kMaxOutput) {
                buf.resize(len);
                continue;
            }
            if (st != CMKFS_OK) fail(st, r, "wrap", key);
            if (len > buf.size()) fail(CMKFS_ERR_INTERNAL, r, "wrap", key, "reported too large a size");
            buf.resize(len);
            return WrapResult{std::move(buf), kid_of(r, key.key_id)};
        }
        fail(CMKFS_ERR_INTERNAL, {}, "wrap", key, "kept asking for a larger buffer");
    }

    crypto::SecureBytes unwrap(const KeyRef &key, std::span<const uint8_t> wrapped) override {
        const cmkfs_key_ref ref{key.key_id.c_str(), key.identity.c_str()};
        crypto::SecureBytes buf(256);
        for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
            cmkfs_result r{};
            size_t len = buf.size();
            cmkfs_status st = lib_->table().unwrap(instance_, &ref, wrapped.data(), wrapped.size(),
                                                   buf.data(), &len, &r);
            if (st == CMKFS_ERR_BUFFER_TOO_SMALL && len > buf.size() && len <= kMaxOutput) {
                buf = crypto::SecureBytes(len);  // the old buffer is wiped
                continue;
            }
            if (st != CMKFS_OK) fail(st, r, "unwrap", key);
            if (len > buf.size()) fail(CMKFS_ERR_INTERNAL, r, "unwrap", key, "reported too large a size");
            return crypto::SecureBytes(std::span<const uint8_t>(buf.data(), len));
            // buf is wiped by its destructor
        }
        fail(CMKFS_ERR_INTERNAL, {}, "unwrap", key, "kept asking for a larger buffer");
    }

    std::string check(const KeyRef &key) override {
        const cmkfs_key_ref ref{key.key_id.c_str(), key.identity.c_str()};
        cmkfs_result r{};
        cmkfs_status st = lib_->table().check(instance_, &ref, &r);
        if (st != CMKFS_OK) fail(st, r, "check", key);
        return kid_of(r, key.key_id);
    }

private:
    // A key id is a URI and a URI's query may carry a secret (RFC 7512's
    // pin-value, a signed URL's token): messages show the id without it.
    static std::string printable_key_id(const std::string &key_id) {
        const auto query = key_id.find('?');
        return query == std::string::npos ? key_id : key_id.substr(0, query) + "?<redacted>";
    }

    [[noreturn]] void fail(cmkfs_status st, const cmkfs_result &r, const char *op,
                           const KeyRef &key, const std::string &extra = {}) const {
        ProviderStatus status = st == CMKFS_OK ? ProviderStatus::internal : from_c_status(st);
        std::string msg = extra.empty() ? message_of(r) : extra;
        if (msg.empty()) msg = to_string(status);
        throw ProviderError(status, "provider " + name_ + ": " + op + " " + printable_key_id(key.key_id) + ": " + msg);
    }

    std::shared_ptr<detail::PluginLibrary> lib_;
    void *instance_;
    std::string name_;
};

// Running as root, a plugin must be root's and writable by no one else:
// anyone who can change it runs code as root.
std::optional<uid_t> plugin_owner() {
    if (::geteuid() == 0) return uid_t{0};
    return std::nullopt;
}

}  // namespace

std::vector<std::string> default_plugin_dirs() {
    std::vector<std::string> dirs;
    for (const char *d : {CMKFS_PLUGIN_BUILD_DIR, CMKFS_PLUGIN_INSTALL_DIR})
        if (*d != '\0' && std::find(dirs.begin(), dirs.end(), d) == dirs.end()) dirs.emplace_back(d);
    return dirs;
}

std::unique_ptr<KeyProvider> load_provider(const std::string &name_or_path,
                                           const std::vector<std::string> &options,
                                           const std::vector<std::string> &dirs) {
    const std::string path = detail::resolve_plugin_path(name_or_path, dirs);
    auto lib = detail::PluginLibrary::load(path, plugin_owner());

    std::vector<const char *> argv;
    argv.reserve(options.size() + 1);
    for (const auto &o : options) argv.push_back(o.c_str());
    argv.push_back(nullptr);
    cmkfs_result r{};
    void *instance = nullptr;
    cmkfs_status st = lib->table().open(lib->host(), argv.data(), &instance, &r);
    if (st != CMKFS_OK) {
        std::string msg = message_of(r);
        throw PluginLoadError("provider " + lib->name() + " (" + path + ") refused to open: " +
                              to_string(from_c_status(st)) + (msg.empty() ? "" : ": " + msg));
    }
    spdlog::debug("loaded provider {} from {}", lib->name(), path);
    return std::make_unique<PluginKeyProvider>(std::move(lib), instance);
}

std::vector<PluginInfo> list_plugins(const std::vector<std::string> &dirs) {
    static constexpr std::string_view kPrefix = "libcmkfs-provider-";
    static constexpr std::string_view kSuffix = ".so";
    std::map<std::string, PluginInfo> found;
    for (const auto &dir : dirs) {
        DIR *d = ::opendir(dir.c_str());
        if (d == nullptr) continue;
        std::vector<std::string> files;
        while (dirent *e = ::readdir(d)) {
            std::string_view n = e->d_name;
            if (n.size() > kPrefix.size() + kSuffix.size() && n.substr(0, kPrefix.size()) == kPrefix &&
                n.substr(n.size() - kSuffix.size()) == kSuffix)
                files.emplace_back(n);
        }
        ::closedir(d);
        std::sort(files.begin(), files.end());
        for (const auto &f : files) {
            const std::string path = dir + "/" + f;
            try {
                auto lib = detail::PluginLibrary::load(path, plugin_owner());
                if (found.count(lib->name())) continue;  // an earlier dir wins
                found[lib->name()] = PluginInfo{lib->name(), path, lib->table().abi_version,
                                                lib->description()};
            } catch (const PluginLoadError &e) {
                spdlog::debug("skipping {}: {}", path, e.what());
            }
        }
    }
    std::vector<PluginInfo> out;
    for (auto &[name, info] : found) out.push_back(std::move(info));
    return out;
}

}  // namespace cmkfs::keys
