// Debian ships no leveldb.pc, so this target names the header and library directly.
#include <leveldb/c.h>
