// The C allocator's totals, for the node's memory gauges (Docs/operations.md, "Metrics").
#ifndef CHEAP_H
#define CHEAP_H
#include <stddef.h>

/// Bytes handed out by malloc and not freed (small blocks and mmapped ones), and bytes held free inside its arenas.
/// glibc's mallinfo2 over every arena; zeros where it is not available.
void twinledger_heap_statistics(size_t *in_use, size_t *free_bytes);

#endif
