// A minimal cmkfs key provider: the whole plugin contract in one C++ file,
// built with the plugin ABI (include/cmkfs/provider.h) and the header-only
// provider SDK (include/cmkfs/provider_sdk.h) and nothing else:
//
//   c++ -std=c++17 -shared -fPIC -fvisibility=hidden -I<cmkfs>/include
//       -o libcmkfs-provider-skeleton.so skeleton.cpp
//
// WARNING: this provider does not protect anything. Its "wrap" XORs the key
// with a constant so that the example stays dependency-free. A real provider
// calls its KMS or HSM in wrap/unwrap/check and throws sdk::ProviderError with
// the matching cmkfs_status class (denied / not found / disabled / unavailable
// / invalid); sdk::guarded turns that into the status and message the host
// reads, and keeps every exception from unwinding into the host.
#include <cmkfs/provider.h>
#include <cmkfs/provider_sdk.h>

#include <cstdlib>
#include <memory>
#include <string>

namespace {

namespace sdk = cmkfs::sdk;

struct Skeleton {
    cmkfs_host host{};  // zero-extended copy of what the host passed
    unsigned char pad = 0x5c;
};

// Every entry point runs its body inside the SDK's exception fence.
template <class Fn>
cmkfs_status fenced(const Skeleton *s, const char *op, cmkfs_result *result, Fn &&fn) {
    const sdk::Fence fence{s != nullptr ? &s->host : nullptr, "skeleton provider: ", "", "skeleton: "};
    return sdk::guarded(fence, op, result, fn);
}

const char *key_id_of(const cmkfs_key_ref *key) {
    if (key == nullptr || key->key_id == nullptr || key->key_id[0] == '\0')
        throw sdk::ProviderError(CMKFS_ERR_INVALID, "skeleton: no key id");
    return key->key_id;
}

cmkfs_status sk_open(const cmkfs_host *host, const char *const *options, void **instance, cmkfs_result *result) {
    if (instance == nullptr) return CMKFS_ERR_INVALID;
    *instance = nullptr;
    return fenced(nullptr, "open", result, [&] {
        auto s = std::make_unique<Skeleton>();
        s->host = sdk::copy_host(host);
        for (const char *const *o = options; o != nullptr && *o != nullptr; ++o) {
            const std::string option = *o;
            if (option.rfind("pad=", 0) == 0)
                s->pad = static_cast<unsigned char>(std::strtoul(option.c_str() + 4, nullptr, 0));
        }
        sdk::log(&s->host, CMKFS_LOG_INFO, "skeleton provider opened (NOT SECURE, example only)");
        *instance = s.release();
        return CMKFS_OK;
    });
}

void sk_close(void *instance) { delete static_cast<Skeleton *>(instance); }

// Both directions are the same XOR; a real provider would call its KMS. The
// result is plaintext key material in one direction: it lives in a
// SecretBuffer (locked memory, wiped on free) until it is delivered.
cmkfs_status transform(void *instance, const char *op, const cmkfs_key_ref *key, const uint8_t *in, size_t in_len,
                       uint8_t *out, size_t *out_len, cmkfs_result *result) {
    const auto *s = static_cast<const Skeleton *>(instance);
    return fenced(s, op, result, [&] {
        if (s == nullptr || out_len == nullptr || (in == nullptr && in_len > 0))
            throw sdk::ProviderError(CMKFS_ERR_INVALID, "skeleton: missing argument");
        const char *kid = key_id_of(key);
        sdk::SecretBuffer buf(&s->host, in_len);
        for (size_t i = 0; i < in_len; ++i) buf.data()[i] = in[i] ^ s->pad;
        sdk::set_kid(result, kid);
        return sdk::deliver(buf.data(), buf.size(), out, out_len, result, "skeleton: output");
    });
}

cmkfs_status sk_wrap(void *instance, const cmkfs_key_ref *key, const uint8_t *plain, size_t plain_len,
                     uint8_t *wrapped, size_t *wrapped_len, cmkfs_result *result) {
    return transform(instance, "wrap", key, plain, plain_len, wrapped, wrapped_len, result);
}

cmkfs_status sk_unwrap(void *instance, const cmkfs_key_ref *key, const uint8_t *wrapped, size_t wrapped_len,
                       uint8_t *plain, size_t *plain_len, cmkfs_result *result) {
    return transform(instance, "unwrap", key, wrapped, wrapped_len, plain, plain_len, result);
}

cmkfs_status sk_check(void *instance, const cmkfs_key_ref *key, cmkfs_result *result) {
    const auto *s = static_cast<const Skeleton *>(instance);
    return fenced(s, "check", result, [&] {
        sdk::set_kid(result, key_id_of(key));
        return CMKFS_OK;
    });
}

const cmkfs_provider kSkeletonTable = {
    sizeof(cmkfs_provider),      // struct_size: lets the table grow at its end
    CMKFS_PROVIDER_ABI_VERSION,  // abi_version
    "skeleton",
    "example provider (XOR, not secure)",
    sk_open,
    sk_close,
    sk_wrap,
    sk_unwrap,
    sk_check,
};

}  // namespace

// The one exported symbol.
extern "C" __attribute__((visibility("default"))) const cmkfs_provider *cmkfs_provider_entry(const cmkfs_host *host) {
    if (host == nullptr || host->abi_version != CMKFS_PROVIDER_ABI_VERSION) return nullptr;
    return &kSkeletonTable;
}
