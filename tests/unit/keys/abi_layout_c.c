/* The provider ABI as a C compiler lays it out. Compiled as C11 with
 * -Wpedantic: include/cmkfs/provider.h must be plain C, and its layout on
 * LP64 Linux is pinned here at compile time. test_abi.cpp compares these
 * numbers with the C++ compiler's and pins them again at run time. */
#include <cmkfs/provider.h>

#include <stddef.h>
#include <stdint.h>

#include "abi_layout.h"

#define FIELD(type, member) {#type "." #member, offsetof(type, member), sizeof(((type *)0)->member)}
#define WHOLE(type) {#type, 0, sizeof(type)}

static const cmkfs_abi_field fields[] = {
    WHOLE(cmkfs_result),
    FIELD(cmkfs_result, message),
    FIELD(cmkfs_result, versioned_key_id),
    WHOLE(cmkfs_host),
    FIELD(cmkfs_host, struct_size),
    FIELD(cmkfs_host, abi_version),
    FIELD(cmkfs_host, host_ctx),
    FIELD(cmkfs_host, log),
    FIELD(cmkfs_host, secure_alloc),
    FIELD(cmkfs_host, secure_free),
    WHOLE(cmkfs_key_ref),
    FIELD(cmkfs_key_ref, key_id),
    FIELD(cmkfs_key_ref, identity),
    WHOLE(cmkfs_provider),
    FIELD(cmkfs_provider, struct_size),
    FIELD(cmkfs_provider, abi_version),
    FIELD(cmkfs_provider, name),
    FIELD(cmkfs_provider, description),
    FIELD(cmkfs_provider, open),
    FIELD(cmkfs_provider, close),
    FIELD(cmkfs_provider, wrap),
    FIELD(cmkfs_provider, unwrap),
    FIELD(cmkfs_provider, check),
    WHOLE(cmkfs_status),
    WHOLE(cmkfs_log_level),
};

const cmkfs_abi_field *cmkfs_abi_layout_c(size_t *count) {
    *count = sizeof fields / sizeof fields[0];
    return fields;
}

#if UINTPTR_MAX == UINT64_C(0xffffffffffffffff)
_Static_assert(sizeof(cmkfs_result) == 1536, "cmkfs_result size");
_Static_assert(offsetof(cmkfs_result, versioned_key_id) == 512, "cmkfs_result.versioned_key_id");
_Static_assert(sizeof(cmkfs_host) == 40, "cmkfs_host size");
_Static_assert(offsetof(cmkfs_host, host_ctx) == 8, "cmkfs_host.host_ctx");
_Static_assert(offsetof(cmkfs_host, secure_free) == 32, "cmkfs_host.secure_free");
_Static_assert(sizeof(cmkfs_key_ref) == 16, "cmkfs_key_ref size");
_Static_assert(sizeof(cmkfs_provider) == 64, "cmkfs_provider size");
_Static_assert(offsetof(cmkfs_provider, open) == 24, "cmkfs_provider.open");
_Static_assert(offsetof(cmkfs_provider, check) == 56, "cmkfs_provider.check");
#endif
_Static_assert(sizeof(cmkfs_status) == sizeof(int), "cmkfs_status is an int-sized enum");
_Static_assert(CMKFS_ERR_BUFFER_TOO_SMALL == 7, "cmkfs_status values are fixed");
