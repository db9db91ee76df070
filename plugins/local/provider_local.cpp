// The `local` key provider: the cmkfs plugin ABI over a local vault directory
// (cmkfs/localvault.h). Every call re-reads the vault, so policy changes,
// disabled versions and deletions made by `cmkfs vault` in another process
// take effect on the next call. No state is shared between calls: thread safe.
//
// Options: vault=DIR   (optional; when given, key ids must name this vault)
//          audit=PATH  (optional; audit log instead of DIR/audit.log)
//          relocated_from=OLD  (optional, needs vault=; the vault was moved or
//                      restored from OLD to DIR: key ids naming OLD are looked
//                      up in DIR by the same key name and version. Key ids
//                      are authenticated in volume headers and cannot simply
//                      be edited; see docs/FORMAT.md, "Relocated local vaults")
#include <cmkfs/localvault.h>
#include <cmkfs/provider.h>
#include <cmkfs/provider_sdk.h>

#include <limits.h>
#include <stdlib.h>

#include <memory>
#include <string>
#include <utility>

namespace {

using cmkfs::localvault::Code;
using cmkfs::localvault::VaultError;
namespace lv = cmkfs::localvault;
namespace sdk = cmkfs::sdk;

struct Instance {
    cmkfs_host host{};  // zero-extended copy of what the host passed
    std::string vault_dir;  // canonical, empty when not configured
    std::string audit_path;
    std::string relocated_from;  // a vault directory key ids may still name
};

void log(const Instance *inst, cmkfs_log_level level, const std::string &msg) {
    sdk::log(inst != nullptr ? &inst->host : nullptr, level, msg);
}

cmkfs_status to_status(Code c) {
    switch (c) {
        case Code::denied: return CMKFS_ERR_DENIED;
        case Code::not_found: return CMKFS_ERR_NOT_FOUND;
        case Code::disabled: return CMKFS_ERR_DISABLED;
        case Code::unavailable: return CMKFS_ERR_UNAVAILABLE;
        case Code::invalid:
        case Code::conflict: return CMKFS_ERR_INVALID;
        case Code::internal: return CMKFS_ERR_INTERNAL;
    }
    return CMKFS_ERR_INTERNAL;
}

// Runs fn inside the SDK's exception fence; a VaultError keeps its class.
template <class Fn>
cmkfs_status guarded(const Instance *inst, const char *op, cmkfs_result *result, Fn &&fn) {
    const sdk::Fence fence{inst != nullptr ? &inst->host : nullptr, "local provider: ", "", ""};
    return sdk::guarded<VaultError>(fence, op, result, std::forward<Fn>(fn),
                                    [](const VaultError &e) { return to_status(e.code()); });
}

std::string canonical_or_same(const std::string &dir) {
    char buf[PATH_MAX];
    if (::realpath(dir.c_str(), buf) == nullptr) return dir;
    return buf;
}

// Parses the kid, checks it against the configured vault and opens the vault.
lv::Vault open_vault(const Instance &inst, const lv::KeyId &kid) {
    if (!inst.vault_dir.empty() && canonical_or_same(kid.vault_dir) != inst.vault_dir)
        throw VaultError(Code::invalid, "key id " + kid.str() + " is not in the configured vault " +
                                            inst.vault_dir);
    lv::Vault vault = lv::Vault::open(kid.vault_dir);
    if (!inst.audit_path.empty()) vault.set_audit_path(inst.audit_path);
    const Instance *ip = &inst;
    vault.on_audit_error = [ip](const std::string &why) {
        log(ip, CMKFS_LOG_WARN, "local provider: audit log: " + why);
    };
    return vault;
}

lv::KeyId key_of(const Instance &inst, const cmkfs_key_ref *key) {
    if (key == nullptr || key->key_id == nullptr)
        throw VaultError(Code::invalid, "no key id given");
    lv::KeyId kid = lv::parse_kid(key->key_id);
    if (!inst.relocated_from.empty() && kid.vault_dir == inst.relocated_from) kid.vault_dir = inst.vault_dir;
    return kid;
}

std::string identity_of(const cmkfs_key_ref *key) {
    return key->identity != nullptr ? key->identity : "";
}

cmkfs_status local_open(const cmkfs_host *host, const char *const *options, void **instance,
                        cmkfs_result *result) {
    if (instance == nullptr) return CMKFS_ERR_INVALID;
    *instance = nullptr;
    return guarded(nullptr, "open", result, [&] {
        auto inst = std::make_unique<Instance>();
        inst->host = sdk::copy_host(host);
        for (const char *const *opt = options; opt != nullptr && *opt != nullptr; ++opt) {
            std::string o = *opt;
            auto eq = o.find('=');
            std::string key = o.substr(0, eq);
            std::string value = eq == std::string::npos ? "" : o.substr(eq + 1);
            if (key == "vault") {
                if (value.empty() || value[0] != '/')
                    throw VaultError(Code::invalid, "option vault= must be an absolute directory");
                inst->vault_dir = lv::Vault::open(value).dir();
            } else if (key == "audit") {
                if (value.empty()) throw VaultError(Code::invalid, "option audit= needs a path");
                inst->audit_path = value;
            } else if (key == "relocated_from") {
                if (value.empty() || value[0] != '/')
                    throw VaultError(Code::invalid, "option relocated_from= must be an absolute directory");
                while (value.size() > 1 && value.back() == '/') value.pop_back();
                inst->relocated_from = value;
            } else {
                log(inst.get(), CMKFS_LOG_WARN, "local provider: ignoring unknown option '" + key + "'");
            }
        }
        if (!inst->relocated_from.empty() && inst->vault_dir.empty())
            throw VaultError(Code::invalid, "option relocated_from= needs vault= (where the vault is now)");
        *instance = inst.release();
        return CMKFS_OK;
    });
}

void local_close(void *instance) { delete static_cast<Instance *>(instance); }

cmkfs_status local_wrap(void *instance, const cmkfs_key_ref *key, const uint8_t *plain,
                        size_t plain_len, uint8_t *wrapped, size_t *wrapped_len,
                        cmkfs_result *result) {
    auto *inst = static_cast<Instance *>(instance);
    return guarded(inst, "wrap", result, [&] {
        if (inst == nullptr || key == nullptr || plain == nullptr || wrapped_len == nullptr)
            throw VaultError(Code::invalid, "wrap: missing argument");
        lv::KeyId kid = key_of(*inst, key);
        lv::Vault vault = open_vault(*inst, kid);
        lv::WrapOutput out = vault.wrap(identity_of(key), kid, {plain, plain_len});
        sdk::set_kid(result, out.versioned_kid);
        return sdk::deliver(out.wrapped.data(), out.wrapped.size(), wrapped, wrapped_len, result, "wrapped key");
    });
}

cmkfs_status local_unwrap(void *instance, const cmkfs_key_ref *key, const uint8_t *wrapped,
                          size_t wrapped_len, uint8_t *plain, size_t *plain_len,
                          cmkfs_result *result) {
    auto *inst = static_cast<Instance *>(instance);
    return guarded(inst, "unwrap", result, [&] {
        if (inst == nullptr || key == nullptr || wrapped == nullptr || plain_len == nullptr)
            throw VaultError(Code::invalid, "unwrap: missing argument");
        lv::KeyId kid = key_of(*inst, key);
        lv::Vault vault = open_vault(*inst, kid);
        const sdk::SecretBuffer out = vault.unwrap(identity_of(key), kid, {wrapped, wrapped_len});
        return sdk::deliver(out.data(), out.size(), plain, plain_len, result, "unwrapped key");
    });
}

cmkfs_status local_check(void *instance, const cmkfs_key_ref *key, cmkfs_result *result) {
    auto *inst = static_cast<Instance *>(instance);
    return guarded(inst, "check", result, [&] {
        if (inst == nullptr || key == nullptr) throw VaultError(Code::invalid, "check: missing argument");
        lv::KeyId kid = key_of(*inst, key);
        lv::Vault vault = open_vault(*inst, kid);
        sdk::set_kid(result, vault.check(identity_of(key), kid));
        return CMKFS_OK;
    });
}

const cmkfs_provider kTable = {
    sizeof(cmkfs_provider),
    CMKFS_PROVIDER_ABI_VERSION,
    "local",
    "local key vault directory (Azure Key Vault semantics, single host)",
    local_open,
    local_close,
    local_wrap,
    local_unwrap,
    local_check,
};

}  // namespace

extern "C" __attribute__((visibility("default"))) const cmkfs_provider *cmkfs_provider_entry(
    const cmkfs_host *host) {
    if (host != nullptr && host->abi_version != CMKFS_PROVIDER_ABI_VERSION) {
        if (host->log != nullptr && host->struct_size >= sizeof(cmkfs_host))
            host->log(host->host_ctx, CMKFS_LOG_ERROR, "local provider: unsupported host ABI version");
        return nullptr;
    }
    return &kTable;
}
