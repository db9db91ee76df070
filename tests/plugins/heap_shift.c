/* Sanitizer tree only: an LD_PRELOAD library that allocates
 * $CMKFS_HEAP_SHIFT blocks of 16 bytes before main (kept reachable, so they
 * are no leak). Each one moves every later 16-byte malloc one ASan chunk
 * (32 bytes) on, so a sweep over 128 shifts puts a given 16-byte allocation
 * of the process at every offset within a page
 * (tests/integration/test_sanitizer_runtime.cpp). */
#include <stdlib.h>

static void *kept[4096];

__attribute__((constructor)) static void shift_heap(void) {
    const char *text = getenv("CMKFS_HEAP_SHIFT");
    const int n = text != NULL ? atoi(text) : 0;
    for (int i = 0; i < n && i < 4096; ++i) kept[i] = malloc(16);
}
