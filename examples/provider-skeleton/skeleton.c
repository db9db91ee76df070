/*
 * A minimal cmkfs key provider: the whole plugin contract in one C file.
 * Build it with nothing but include/cmkfs/provider.h:
 *
 *   cc -std=c11 -shared -fPIC -fvisibility=hidden -I<cmkfs>/include \
 *      -o libcmkfs-provider-skeleton.so skeleton.c
 *
 * WARNING: this provider does not protect anything. Its "wrap" XORs the key
 * with a constant so that the example stays dependency-free. A real provider
 * calls its KMS or HSM in wrap/unwrap/check and maps its errors to the
 * cmkfs_status classes (denied / not found / disabled / unavailable / invalid).
 */
#include <cmkfs/provider.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Only the entry point is exported. */
#define SKELETON_EXPORT __attribute__((visibility("default")))

typedef struct skeleton {
    cmkfs_host host; /* copy of what the host passed (at most struct_size bytes) */
    unsigned char pad;
} skeleton;

static void say(const skeleton *s, cmkfs_log_level level, const char *text) {
    if (s->host.log) s->host.log(s->host.host_ctx, level, text);
}

static void fail(cmkfs_result *result, const char *text) {
    snprintf(result->message, sizeof result->message, "%s", text);
}

static cmkfs_status sk_open(const cmkfs_host *host, const char *const *options, void **instance,
                            cmkfs_result *result) {
    skeleton *s = calloc(1, sizeof *s);
    if (s == NULL) {
        fail(result, "out of memory");
        return CMKFS_ERR_INTERNAL;
    }
    if (host != NULL)
        memcpy(&s->host, host, host->struct_size < sizeof s->host ? host->struct_size : sizeof s->host);
    s->pad = 0x5c;
    for (const char *const *o = options; o != NULL && *o != NULL; ++o) {
        if (strncmp(*o, "pad=", 4) == 0) s->pad = (unsigned char)strtoul(*o + 4, NULL, 0);
    }
    say(s, CMKFS_LOG_INFO, "skeleton provider opened (NOT SECURE, example only)");
    *instance = s;
    return CMKFS_OK;
}

static void sk_close(void *instance) { free(instance); }

/* Both directions are the same XOR; a real provider would call its KMS. */
static cmkfs_status transform(const skeleton *s, const cmkfs_key_ref *key, const uint8_t *in,
                              size_t in_len, uint8_t *out, size_t *out_len, cmkfs_result *result) {
    if (key == NULL || key->key_id == NULL || key->key_id[0] == '\0') {
        fail(result, "skeleton: no key id");
        return CMKFS_ERR_INVALID;
    }
    if (*out_len < in_len) {
        *out_len = in_len; /* tell the host how much room we need */
        return CMKFS_ERR_BUFFER_TOO_SMALL;
    }
    for (size_t i = 0; i < in_len; ++i) out[i] = in[i] ^ s->pad;
    *out_len = in_len;
    snprintf(result->versioned_key_id, sizeof result->versioned_key_id, "%s", key->key_id);
    return CMKFS_OK;
}

static cmkfs_status sk_wrap(void *instance, const cmkfs_key_ref *key, const uint8_t *plain,
                            size_t plain_len, uint8_t *wrapped, size_t *wrapped_len,
                            cmkfs_result *result) {
    return transform(instance, key, plain, plain_len, wrapped, wrapped_len, result);
}

static cmkfs_status sk_unwrap(void *instance, const cmkfs_key_ref *key, const uint8_t *wrapped,
                              size_t wrapped_len, uint8_t *plain, size_t *plain_len,
                              cmkfs_result *result) {
    return transform(instance, key, wrapped, wrapped_len, plain, plain_len, result);
}

static cmkfs_status sk_check(void *instance, const cmkfs_key_ref *key, cmkfs_result *result) {
    (void)instance;
    if (key == NULL || key->key_id == NULL || key->key_id[0] == '\0') {
        fail(result, "skeleton: no key id");
        return CMKFS_ERR_INVALID;
    }
    snprintf(result->versioned_key_id, sizeof result->versioned_key_id, "%s", key->key_id);
    return CMKFS_OK;
}

static const cmkfs_provider skeleton_table = {
    sizeof(cmkfs_provider),     /* struct_size: lets the table grow at its end */
    CMKFS_PROVIDER_ABI_VERSION, /* abi_version */
    "skeleton",
    "example provider (XOR, not secure)",
    sk_open,
    sk_close,
    sk_wrap,
    sk_unwrap,
    sk_check,
};

SKELETON_EXPORT const cmkfs_provider *cmkfs_provider_entry(const cmkfs_host *host) {
    if (host == NULL || host->abi_version != CMKFS_PROVIDER_ABI_VERSION) return NULL;
    return &skeleton_table;
}
