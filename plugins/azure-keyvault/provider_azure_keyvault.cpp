// The `azure-keyvault` key provider: the cmkfs plugin ABI over Azure Key
// Vault's REST API. The volume key is wrapped with RSA-OAEP-256 by the vault;
// the plugin never sees the private key. See docs/providers/azure-keyvault.md.
//
// Thread safety: wrap/unwrap/check share only the token cache and the pool of
// curl handles, both behind their own mutexes.
#include <cmkfs/provider.h>
#include <cmkfs/provider_sdk.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <memory>
#include <string>
#include <utility>

#include "azure_error.h"
#include "key_id.h"
#include "settings.h"
#include "vault_client.h"

namespace {

using cmkfs::azure::AzureError;
using cmkfs::azure::KeyId;
using cmkfs::sdk::SecretBuffer;
namespace sdk = cmkfs::sdk;
using cmkfs::azure::VaultClient;

struct Instance {
    explicit Instance(const cmkfs_host &h, cmkfs::azure::Settings s) : host(h), vault(&host, std::move(s)) {}
    cmkfs_host host;  // zero-extended copy of what the host passed
    VaultClient vault;
};

// Runs fn inside the SDK's exception fence; an AzureError keeps its class
// (its reason already names the provider, other exceptions get the prefix).
template <class Fn>
cmkfs_status guarded(const Instance *inst, const char *op, cmkfs_result *result, Fn &&fn) {
    const sdk::Fence fence{inst != nullptr ? &inst->host : nullptr, "", "", "azure-keyvault: "};
    return sdk::guarded(fence, op, result, std::forward<Fn>(fn));
}

KeyId key_of(const cmkfs_key_ref *key) {
    if (key == nullptr || key->key_id == nullptr) throw AzureError(CMKFS_ERR_INVALID, "azure-keyvault: no key id given");
    return cmkfs::azure::parse_key_id(key->key_id);
}

std::string client_id_of(const Instance &inst, const cmkfs_key_ref *key) {
    if (!inst.vault.settings().client_id.empty()) return inst.vault.settings().client_id;
    return key->identity != nullptr ? key->identity : "";
}

// A version-less id names the latest version: resolve it with a GET.
KeyId resolve(Instance &inst, const KeyId &kid, const std::string &client_id) {
    if (!kid.version.empty()) return kid;
    auto info = inst.vault.get_key(kid, client_id);
    if (!info.enabled)
        throw AzureError(CMKFS_ERR_DISABLED, "azure-keyvault: the latest version of " + kid.str() + " (" +
                                                 info.versioned.str() + ") is disabled");
    return info.versioned;
}

cmkfs_status az_open(const cmkfs_host *host, const char *const *options, void **instance, cmkfs_result *result) {
    if (instance == nullptr) return CMKFS_ERR_INVALID;
    *instance = nullptr;
    return guarded(nullptr, "open", result, [&] {
        *instance = new Instance(sdk::copy_host(host), cmkfs::azure::parse_settings(options));
        return CMKFS_OK;
    });
}

void az_close(void *instance) { delete static_cast<Instance *>(instance); }

cmkfs_status az_wrap(void *instance, const cmkfs_key_ref *key, const uint8_t *plain, size_t plain_len,
                     uint8_t *wrapped, size_t *wrapped_len, cmkfs_result *result) {
    auto *inst = static_cast<Instance *>(instance);
    return guarded(inst, "wrap", result, [&] {
        if (inst == nullptr || plain == nullptr || wrapped_len == nullptr || plain_len == 0)
            throw AzureError(CMKFS_ERR_INVALID, "azure-keyvault: wrap: missing argument");
        const std::string client_id = client_id_of(*inst, key);
        KeyId kid = resolve(*inst, key_of(key), client_id);
        auto out = inst->vault.wrap(kid, client_id, plain, plain_len);
        sdk::set_kid(result, out.versioned.str());
        return sdk::deliver(out.value.data(), out.value.size(), wrapped, wrapped_len, result, "wrapped key");
    });
}

cmkfs_status az_unwrap(void *instance, const cmkfs_key_ref *key, const uint8_t *wrapped, size_t wrapped_len,
                       uint8_t *plain, size_t *plain_len, cmkfs_result *result) {
    auto *inst = static_cast<Instance *>(instance);
    return guarded(inst, "unwrap", result, [&] {
        if (inst == nullptr || wrapped == nullptr || plain_len == nullptr || wrapped_len == 0)
            throw AzureError(CMKFS_ERR_INVALID, "azure-keyvault: unwrap: missing argument");
        const std::string client_id = client_id_of(*inst, key);
        KeyId kid = resolve(*inst, key_of(key), client_id);
        const SecretBuffer out = inst->vault.unwrap(kid, client_id, wrapped, wrapped_len);
        return sdk::deliver(out.data(), out.size(), plain, plain_len, result, "unwrapped key");
    });
}

// GET proves the key exists, is enabled and the identity may `get` it; the
// round trip (default) also proves wrapKey and unwrapKey, which is what the
// volume needs and what a revocation by access policy or RBAC takes away.
cmkfs_status az_check(void *instance, const cmkfs_key_ref *key, cmkfs_result *result) {
    auto *inst = static_cast<Instance *>(instance);
    return guarded(inst, "check", result, [&] {
        if (inst == nullptr) throw AzureError(CMKFS_ERR_INVALID, "azure-keyvault: check: missing argument");
        const std::string client_id = client_id_of(*inst, key);
        KeyId requested = key_of(key);
        auto info = inst->vault.get_key(requested, client_id);
        if (!info.enabled)
            throw AzureError(CMKFS_ERR_DISABLED, "azure-keyvault: key " + info.versioned.str() + " is disabled");
        if (inst->vault.settings().check == cmkfs::azure::CheckMode::roundtrip) {
            uint8_t probe[32];
            if (RAND_bytes(probe, sizeof probe) != 1)
                throw AzureError(CMKFS_ERR_INTERNAL, "azure-keyvault: no random bytes for the check");
            auto wrapped = inst->vault.wrap(info.versioned, client_id, probe, sizeof probe);
            SecretBuffer back = inst->vault.unwrap(info.versioned, client_id, wrapped.value.data(), wrapped.value.size());
            bool same = back.size() == sizeof probe && CRYPTO_memcmp(back.data(), probe, sizeof probe) == 0;
            OPENSSL_cleanse(probe, sizeof probe);
            if (!same)
                throw AzureError(CMKFS_ERR_INTERNAL, "azure-keyvault: check " + info.versioned.str() +
                                                         ": unwrapkey did not return what wrapkey wrapped");
        }
        sdk::set_kid(result, info.versioned.str());
        return CMKFS_OK;
    });
}

const cmkfs_provider kTable = {
    sizeof(cmkfs_provider),
    CMKFS_PROVIDER_ABI_VERSION,
    "azure-keyvault",
    "Azure Key Vault / Managed HSM over REST (RSA-OAEP-256; managed identity or client secret)",
    az_open,
    az_close,
    az_wrap,
    az_unwrap,
    az_check,
};

}  // namespace

extern "C" __attribute__((visibility("default"))) const cmkfs_provider *cmkfs_provider_entry(const cmkfs_host *host) {
    if (host != nullptr && host->abi_version != CMKFS_PROVIDER_ABI_VERSION) {
        if (host->log != nullptr && host->struct_size >= sizeof(cmkfs_host))
            host->log(host->host_ctx, CMKFS_LOG_ERROR, "azure-keyvault provider: unsupported host ABI version");
        return nullptr;
    }
    return &kTable;
}
