// Checks Sources/CKeccak against Tests/Vectors/sha3-length-vectors.json (Python hashlib) for every length 0-135,
// one at a time and batched, for whichever vector code this build selects. `make test` builds it three times on
// x86-64 with TWL_KECCAK_NO_CLONES: baseline (SSE2), -mavx2 and -mavx512f (each run only if the CPU has it), since the
// Swift tests run only the version the loader picks for this CPU.
// Usage: keccak_check VECTORS_JSON
#include "ckeccak.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hex_digit(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    FILE *file = fopen(argv[1], "r");
    if (!file) { perror(argv[1]); return 2; }
    static char text[1 << 16];
    size_t size = fread(text, 1, sizeof text - 1, file);
    fclose(file);
    text[size] = 0;
    // The digests are the 64-hex-digit strings in the file, in order of length.
    enum { COUNT = TWL_SHA3_256_RATE };
    static uint8_t expected[COUNT][32];
    int found = 0;
    for (char *p = text; *p && found < COUNT; p++) {
        if (*p != '"') continue;
        char *end = strchr(p + 1, '"');
        if (!end) break;
        if (end - p - 1 == 64) {
            for (int i = 0; i < 32; i++) expected[found][i] = (uint8_t)(hex_digit(p[1 + 2 * i]) << 4 | hex_digit(p[2 + 2 * i]));
            found++;
        }
        p = end;
    }
    if (found != COUNT) { fprintf(stderr, "found %d digests\n", found); return 2; }
    static uint8_t data[COUNT * COUNT], digests[COUNT][32], one[32];
    static size_t offsets[COUNT], lengths[COUNT];
    for (size_t n = 0; n < COUNT; n++) {
        offsets[n] = n * COUNT;
        lengths[n] = n;
        for (size_t i = 0; i < n; i++) data[n * COUNT + i] = (uint8_t)((7 * i + 3) % 256);
    }
    int failures = 0;
    if (twl_sha3_256_many(data, offsets, lengths, COUNT, &digests[0][0]) != 0) failures++;
    for (size_t n = 0; n < COUNT; n++) {
        twl_sha3_256_short(data + offsets[n], n, one);
        if (memcmp(one, expected[n], 32) != 0) { fprintf(stderr, "one-block, length %zu\n", n); failures++; }
        if (memcmp(digests[n], expected[n], 32) != 0) { fprintf(stderr, "batched, length %zu\n", n); failures++; }
    }
    // Lengths of 136 and more are refused, and write nothing.
    size_t long_length = TWL_SHA3_256_RATE;
    memset(one, 0xAA, 32);
    if (twl_sha3_256_short(data, long_length, one) != -1 || one[0] != 0xAA) failures++;
    if (twl_sha3_256_many(data, offsets, &long_length, 1, one) != -1 || one[0] != 0xAA) failures++;
    printf("keccak_check: %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
