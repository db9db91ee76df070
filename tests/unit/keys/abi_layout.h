/* One entry per struct and member of include/cmkfs/provider.h, as laid out by
 * the compiler that built abi_layout_c.c (C) or test_abi.cpp (C++). */
#ifndef CMKFS_TEST_ABI_LAYOUT_H
#define CMKFS_TEST_ABI_LAYOUT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cmkfs_abi_field {
    const char *name; /* "type" or "type.member" */
    size_t offset;
    size_t size;
} cmkfs_abi_field;

const cmkfs_abi_field *cmkfs_abi_layout_c(size_t *count);

#ifdef __cplusplus
}
#endif

#endif
