/* Broken providers that the loader must refuse, one per build variant:
 *   REFUSE_ABI99      abi_version 99
 *   REFUSE_NOENTRY    no cmkfs_provider_entry symbol
 *   REFUSE_NULLENTRY  cmkfs_provider_entry returns NULL
 *   REFUSE_SHORT      struct_size smaller than the v1 table
 *   REFUSE_NOFUNC     unwrap is NULL
 */
#include <cmkfs/provider.h>

#define EXPORT __attribute__((visibility("default")))

static cmkfs_status t_open(const cmkfs_host *host, const char *const *options, void **instance,
                           cmkfs_result *result) {
    (void)host;
    (void)options;
    (void)result;
    *instance = 0;
    return CMKFS_OK;
}
static void t_close(void *instance) { (void)instance; }
static cmkfs_status t_wrap(void *instance, const cmkfs_key_ref *key, const uint8_t *plain,
                           size_t plain_len, uint8_t *wrapped, size_t *wrapped_len,
                           cmkfs_result *result) {
    (void)instance, (void)key, (void)plain, (void)plain_len, (void)wrapped, (void)wrapped_len,
        (void)result;
    return CMKFS_ERR_INTERNAL;
}
__attribute__((unused)) static cmkfs_status t_unwrap(void *instance, const cmkfs_key_ref *key, const uint8_t *wrapped,
                             size_t wrapped_len, uint8_t *plain, size_t *plain_len,
                             cmkfs_result *result) {
    (void)instance, (void)key, (void)plain, (void)plain_len, (void)wrapped, (void)wrapped_len,
        (void)result;
    return CMKFS_ERR_INTERNAL;
}
static cmkfs_status t_check(void *instance, const cmkfs_key_ref *key, cmkfs_result *result) {
    (void)instance, (void)key, (void)result;
    return CMKFS_ERR_INTERNAL;
}

static const cmkfs_provider table = {
#ifdef REFUSE_SHORT
    16,
#else
    sizeof(cmkfs_provider),
#endif
#ifdef REFUSE_ABI99
    99,
#else
    CMKFS_PROVIDER_ABI_VERSION,
#endif
    "refusal",
    "a provider the loader must refuse",
    t_open,
    t_close,
    t_wrap,
#ifdef REFUSE_NOFUNC
    0,
#else
    t_unwrap,
#endif
    t_check,
};

#ifdef REFUSE_NOENTRY
EXPORT const cmkfs_provider *cmkfs_provider_entry_misspelled(const cmkfs_host *host) {
    (void)host;
    return &table;
}
#else
EXPORT const cmkfs_provider *cmkfs_provider_entry(const cmkfs_host *host) {
    (void)host;
#ifdef REFUSE_NULLENTRY
    (void)table;
    return 0;
#else
    return &table;
#endif
}
#endif
