// The `pkcs11` key provider: the cmkfs plugin ABI over an AES key object on a
// PKCS#11 token (an HSM, or SoftHSM2 in tests). See docs/providers/pkcs11.md.
//
// Options: module=/abs/libX.so   the PKCS#11 module (required)
//          pin_file=/abs/path    the user PIN, in a file of mode 0600
//          pin_env=NAME          the user PIN, in an environment variable
//          mechanism=auto|aes-gcm|aes-kwp   how to wrap (default auto)
//          revalidate=reinitialize|login    how each call re-checks the login
// Key ids: pkcs11:token=LABEL;object=LABEL (and/or id=%01%02), RFC 7512.
#include <cmkfs/provider.h>
#include <cmkfs/provider_sdk.h>

#include <memory>
#include <string>
#include <utility>

#include "ck_error.h"
#include "key_object.h"
#include "module.h"
#include "pin_source.h"
#include "pkcs11_uri.h"
#include "wrapping.h"

namespace {

using namespace cmkfs::p11;
namespace sdk = cmkfs::sdk;

struct Instance {
    cmkfs_host host{};  // zero-extended copy of what the host passed
    std::shared_ptr<Module> module;
    PinSource pin = PinSource::none();
    MechanismChoice mechanism = MechanismChoice::automatic;
    Revalidate revalidate = Revalidate::reinitialize;

    Credentials credentials() const { return {&host, &pin, revalidate}; }
};

void log(const Instance *inst, cmkfs_log_level level, const std::string &msg) {
    sdk::log(inst != nullptr ? &inst->host : nullptr, level, msg);
}

// A cut URI would name another key (or none): refuse it instead.
void set_kid(cmkfs_result *result, const std::string &kid) {
    if (result == nullptr) return;
    if (!sdk::kid_fits(kid))
        throw P11Error(CMKFS_ERR_INVALID, "the key's URI is longer than " +
                                              std::to_string(sizeof result->versioned_key_id - 1) + " bytes");
    sdk::set_kid(result, kid);
}

// Runs fn inside the SDK's exception fence; a P11Error keeps its class.
template <class Fn>
cmkfs_status guarded(const Instance *inst, const char *op, cmkfs_result *result, Fn &&fn) {
    const sdk::Fence fence{inst != nullptr ? &inst->host : nullptr, "pkcs11 provider: ", "", ""};
    return sdk::guarded(fence, op, result, std::forward<Fn>(fn));
}

KeyUri uri_of(const cmkfs_key_ref *key) {
    if (key == nullptr || key->key_id == nullptr) throw P11Error(CMKFS_ERR_INVALID, "no key id given");
    return parse_key_uri(key->key_id);
}

void apply_option(Instance &inst, const std::string &key, const std::string &value, std::string &module_path) {
    if (key == "module") {
        module_path = value;
    } else if (key == "pin_file" || key == "pin_env") {
        if (inst.pin.kind() != PinSource::Kind::none)
            throw P11Error(CMKFS_ERR_INVALID, "give the PIN once: pin_file= or pin_env=, not both");
        inst.pin = key == "pin_file" ? PinSource::file(value) : PinSource::env(value);
    } else if (key == "mechanism") {
        inst.mechanism = parse_mechanism(value);
    } else if (key == "revalidate") {
        if (value == "reinitialize") inst.revalidate = Revalidate::reinitialize;
        else if (value == "login") inst.revalidate = Revalidate::login;
        else throw P11Error(CMKFS_ERR_INVALID, "option revalidate= must be reinitialize or login");
    } else if (key == "pin" || key == "pin_value" || key == "pin-value") {
        throw P11Error(CMKFS_ERR_INVALID, "the PIN is never an option; use pin_file= or pin_env=");
    } else {
        log(&inst, CMKFS_LOG_WARN, "pkcs11 provider: ignoring unknown option '" + key + "'");
    }
}

cmkfs_status p11_open(const cmkfs_host *host, const char *const *options, void **instance, cmkfs_result *result) {
    if (instance == nullptr) return CMKFS_ERR_INVALID;
    *instance = nullptr;
    return guarded(nullptr, "open", result, [&] {
        auto inst = std::make_unique<Instance>();
        inst->host = sdk::copy_host(host);
        std::string module_path;
        for (const char *const *opt = options; opt != nullptr && *opt != nullptr; ++opt) {
            const std::string o = *opt;
            const auto eq = o.find('=');
            apply_option(*inst, o.substr(0, eq), eq == std::string::npos ? "" : o.substr(eq + 1), module_path);
        }
        if (module_path.empty())
            throw P11Error(CMKFS_ERR_INVALID, "option module= is required (the PKCS#11 module, e.g. "
                                              "module=/usr/lib/softhsm/libsofthsm2.so)");
        inst->module = Module::acquire(module_path);
        *instance = inst.release();
        return CMKFS_OK;
    });
}

void p11_close(void *instance) { delete static_cast<Instance *>(instance); }

cmkfs_status p11_wrap(void *instance, const cmkfs_key_ref *key, const uint8_t *plain, size_t plain_len,
                      uint8_t *wrapped, size_t *wrapped_len, cmkfs_result *result) {
    auto *inst = static_cast<Instance *>(instance);
    return guarded(inst, "wrap", result, [&] {
        if (inst == nullptr || plain == nullptr || wrapped_len == nullptr)
            throw P11Error(CMKFS_ERR_INVALID, "wrap: missing argument");
        if (plain_len < 16 || plain_len > 64) throw P11Error(CMKFS_ERR_INVALID, "wrap: key must be 16 to 64 bytes");
        const KeyUri uri = uri_of(key);
        std::vector<uint8_t> blob;
        std::string kid;
        inst->module->run(uri, inst->credentials(), [&](const TokenContext &ctx) {
            const KeyObject obj = find_key(ctx, uri);
            kid = versioned_key_id(uri, ctx, obj);
            blob = wrap_key(ctx, obj, choose_mechanism(inst->mechanism, obj, kid), plain, plain_len);
        });
        set_kid(result, kid);
        return sdk::deliver(blob.data(), blob.size(), wrapped, wrapped_len, result, "wrapped key");
    });
}

cmkfs_status p11_unwrap(void *instance, const cmkfs_key_ref *key, const uint8_t *wrapped, size_t wrapped_len,
                        uint8_t *plain, size_t *plain_len, cmkfs_result *result) {
    auto *inst = static_cast<Instance *>(instance);
    return guarded(inst, "unwrap", result, [&] {
        if (inst == nullptr || wrapped == nullptr || plain_len == nullptr)
            throw P11Error(CMKFS_ERR_INVALID, "unwrap: missing argument");
        const KeyUri uri = uri_of(key);
        sdk::SecretBuffer out(&inst->host);
        inst->module->run(uri, inst->credentials(), [&](const TokenContext &ctx) {
            const KeyObject obj = find_key(ctx, uri);
            out = unwrap_key(ctx, obj, inst->host, wrapped, wrapped_len);
        });
        return sdk::deliver(out.data(), out.size(), plain, plain_len, result, "unwrapped key");
    });
}

cmkfs_status p11_check(void *instance, const cmkfs_key_ref *key, cmkfs_result *result) {
    auto *inst = static_cast<Instance *>(instance);
    return guarded(inst, "check", result, [&] {
        if (inst == nullptr) throw P11Error(CMKFS_ERR_INVALID, "check: missing instance");
        const KeyUri uri = uri_of(key);
        std::string kid;
        inst->module->run(uri, inst->credentials(), [&](const TokenContext &ctx) {
            const KeyObject obj = find_key(ctx, uri);
            kid = versioned_key_id(uri, ctx, obj);
            choose_mechanism(inst->mechanism, obj, kid);
        });
        set_kid(result, kid);
        return CMKFS_OK;
    });
}

const cmkfs_provider kProvider = {
    sizeof(cmkfs_provider),
    CMKFS_PROVIDER_ABI_VERSION,
    "pkcs11",
    "AES key objects on a PKCS#11 token or HSM (AES-GCM or AES key wrap with padding)",
    p11_open,
    p11_close,
    p11_wrap,
    p11_unwrap,
    p11_check,
};

}  // namespace

extern "C" __attribute__((visibility("default"))) const cmkfs_provider *cmkfs_provider_entry(const cmkfs_host *host) {
    if (host == nullptr || host->abi_version != CMKFS_PROVIDER_ABI_VERSION) return nullptr;
    return &kProvider;
}
