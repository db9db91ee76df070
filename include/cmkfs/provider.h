/*
 * cmkfs key-provider plugin ABI.
 *
 * This header is the whole contract between cmkfs (the host) and a key
 * provider (a shared object). A provider can be built outside the cmkfs tree
 * with nothing but this file and a C compiler.
 *
 * Stability rules
 *  - Both tables start with {struct_size, abi_version}. A table only ever
 *    grows at its end; the host copies at most struct_size bytes and treats
 *    missing trailing members as NULL.
 *  - CMKFS_PROVIDER_ABI_VERSION changes only when an existing member changes
 *    meaning; the host refuses providers with an ABI version it does not know.
 *  - The provider exports exactly one symbol, CMKFS_PROVIDER_ENTRY_SYMBOL.
 *
 * Threading: the host may call wrap/unwrap/check on one instance from several
 * threads at once; providers must be thread safe for those three calls.
 *
 * Secrets: plaintext key material passed to or returned by a provider lives in
 * memory from host->secure_alloc; providers must not log it.
 */
#ifndef CMKFS_PROVIDER_H
#define CMKFS_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CMKFS_PROVIDER_ABI_VERSION 1u
#define CMKFS_PROVIDER_ENTRY_SYMBOL "cmkfs_provider_entry"

/* Every provider call returns one of these. The host acts on the class:
 * DENIED / NOT_FOUND / DISABLED are revocations (lock at once), UNAVAILABLE is
 * a transient outage (serve within a grace period), the rest are errors. */
typedef enum cmkfs_status {
    CMKFS_OK = 0,
    CMKFS_ERR_DENIED = 1,      /* identity lacks the permission (policy, PIN) */
    CMKFS_ERR_NOT_FOUND = 2,   /* key or key version does not exist (deleted) */
    CMKFS_ERR_DISABLED = 3,    /* key exists but is disabled */
    CMKFS_ERR_UNAVAILABLE = 4, /* network, timeout, throttling, 5xx, device gone */
    CMKFS_ERR_INVALID = 5,     /* malformed input: bad key id, bad ciphertext */
    CMKFS_ERR_INTERNAL = 6,    /* bug or unexpected provider state */
    CMKFS_ERR_BUFFER_TOO_SMALL = 7 /* *out_len was set to the size needed */
} cmkfs_status;

typedef enum cmkfs_log_level {
    CMKFS_LOG_DEBUG = 0,
    CMKFS_LOG_INFO = 1,
    CMKFS_LOG_WARN = 2,
    CMKFS_LOG_ERROR = 3
} cmkfs_log_level;

/* Filled in by a provider call that fails; the host shows `message`. */
#define CMKFS_MESSAGE_MAX 512
/* Room for a resolved, versioned key identifier. */
#define CMKFS_KEY_ID_MAX 1024

typedef struct cmkfs_result {
    char message[CMKFS_MESSAGE_MAX];          /* why it failed, one line */
    char versioned_key_id[CMKFS_KEY_ID_MAX];  /* set by wrap and check */
} cmkfs_result;

/* What the host offers a provider. Passed to the entry point and to open. */
typedef struct cmkfs_host {
    uint32_t struct_size;
    uint32_t abi_version;
    void *host_ctx;
    void (*log)(void *host_ctx, cmkfs_log_level level, const char *message);
    /* Locked memory, wiped on free. Use it for any plaintext key material. */
    void *(*secure_alloc)(void *host_ctx, size_t size);
    void (*secure_free)(void *host_ctx, void *ptr, size_t size);
} cmkfs_host;

/* Names a key and who asks for it. key_id may be version-less ("latest"). */
typedef struct cmkfs_key_ref {
    const char *key_id;
    const char *identity;
} cmkfs_key_ref;

/* The provider's function table. */
typedef struct cmkfs_provider {
    uint32_t struct_size;
    uint32_t abi_version;
    const char *name;        /* e.g. "local" */
    const char *description; /* one line */

    /* options: NULL-terminated array of "key=value" strings from the volume
     * header and config (non-secret). On success *instance is set. */
    cmkfs_status (*open)(const cmkfs_host *host, const char *const *options,
                         void **instance, cmkfs_result *result);
    void (*close)(void *instance);

    /* Encrypts `plain` (a volume key, 16..64 bytes) under the key. On entry
     * *wrapped_len is the capacity of `wrapped`; on return the bytes written
     * (or needed, with CMKFS_ERR_BUFFER_TOO_SMALL). Sets
     * result->versioned_key_id to the exact key version used. */
    cmkfs_status (*wrap)(void *instance, const cmkfs_key_ref *key,
                         const uint8_t *plain, size_t plain_len,
                         uint8_t *wrapped, size_t *wrapped_len,
                         cmkfs_result *result);

    /* Inverse of wrap. key->key_id is the versioned id wrap reported. */
    cmkfs_status (*unwrap)(void *instance, const cmkfs_key_ref *key,
                           const uint8_t *wrapped, size_t wrapped_len,
                           uint8_t *plain, size_t *plain_len,
                           cmkfs_result *result);

    /* Is the key usable by this identity right now (exists, enabled, policy
     * allows get+wrapKey+unwrapKey)? Sets result->versioned_key_id to the
     * latest enabled version when key->key_id is version-less. */
    cmkfs_status (*check)(void *instance, const cmkfs_key_ref *key,
                          cmkfs_result *result);
} cmkfs_provider;

/* The one exported symbol. Returns NULL if the provider cannot work with the
 * host (it may log why through host->log). */
typedef const cmkfs_provider *(*cmkfs_provider_entry_fn)(const cmkfs_host *host);

#ifdef __cplusplus
}
#endif

#endif /* CMKFS_PROVIDER_H */
