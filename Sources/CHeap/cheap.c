#include "cheap.h"
#if defined(__linux__)
#include <features.h>
#endif
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#include <malloc.h>
void twinledger_heap_statistics(size_t *in_use, size_t *free_bytes) {
    struct mallinfo2 info = mallinfo2();
    *in_use = info.uordblks + info.hblkhd;
    *free_bytes = info.fordblks;
}
#else
void twinledger_heap_statistics(size_t *in_use, size_t *free_bytes) {
    *in_use = 0;
    *free_bytes = 0;
}
#endif
