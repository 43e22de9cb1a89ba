// Keccak-f[1600] and one-block SHA3-256, written from FIPS 202 sections 3.2 (the step mappings theta, rho, pi, chi,
// iota) and 5 (the sponge with rate 1088 bits and the SHA-3 domain padding 01 || pad10*1).
#include "ckeccak.h"

#include <string.h>

// Round constants RC[i] of iota, FIPS 202 section 3.2.5.
static const uint64_t round_constants[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

// Rotation by 1-63 bits (every offset in the round below is in that range), as a macro so it serves scalars and
// vectors alike.
#define rotl(v, n) (((v) << (n)) | ((v) >> (64 - (n))))

// One round on lanes a00..a44 (named a<x><y>) of type LANE (a 64-bit word, or a vector of eight of them). Theta,
// then rho and pi together (B[y][2x+3y] = rot(A[x][y], r[x][y])), then chi and iota. The rotation offsets r[x][y] are those of FIPS 202 table 2.
#define ROUND(rc)                                                                                              \
    do {                                                                                                       \
        LANE c0 = a00 ^ a01 ^ a02 ^ a03 ^ a04, c1 = a10 ^ a11 ^ a12 ^ a13 ^ a14;                           \
        LANE c2 = a20 ^ a21 ^ a22 ^ a23 ^ a24, c3 = a30 ^ a31 ^ a32 ^ a33 ^ a34;                           \
        LANE c4 = a40 ^ a41 ^ a42 ^ a43 ^ a44;                                                             \
        LANE d0 = c4 ^ rotl(c1, 1), d1 = c0 ^ rotl(c2, 1), d2 = c1 ^ rotl(c3, 1);                          \
        LANE d3 = c2 ^ rotl(c4, 1), d4 = c3 ^ rotl(c0, 1);                                                 \
        LANE b00 = a00 ^ d0;                                                                               \
        LANE b13 = rotl(a01 ^ d0, 36), b21 = rotl(a02 ^ d0, 3), b34 = rotl(a03 ^ d0, 41);                  \
        LANE b42 = rotl(a04 ^ d0, 18);                                                                     \
        LANE b02 = rotl(a10 ^ d1, 1), b10 = rotl(a11 ^ d1, 44), b23 = rotl(a12 ^ d1, 10);                  \
        LANE b31 = rotl(a13 ^ d1, 45), b44 = rotl(a14 ^ d1, 2);                                            \
        LANE b04 = rotl(a20 ^ d2, 62), b12 = rotl(a21 ^ d2, 6), b20 = rotl(a22 ^ d2, 43);                  \
        LANE b33 = rotl(a23 ^ d2, 15), b41 = rotl(a24 ^ d2, 61);                                           \
        LANE b01 = rotl(a30 ^ d3, 28), b14 = rotl(a31 ^ d3, 55), b22 = rotl(a32 ^ d3, 25);                 \
        LANE b30 = rotl(a33 ^ d3, 21), b43 = rotl(a34 ^ d3, 56);                                           \
        LANE b03 = rotl(a40 ^ d4, 27), b11 = rotl(a41 ^ d4, 20), b24 = rotl(a42 ^ d4, 39);                 \
        LANE b32 = rotl(a43 ^ d4, 8), b40 = rotl(a44 ^ d4, 14);                                            \
        a00 = b00 ^ (~b10 & b20) ^ (rc); a10 = b10 ^ (~b20 & b30); a20 = b20 ^ (~b30 & b40);                   \
        a30 = b30 ^ (~b40 & b00); a40 = b40 ^ (~b00 & b10);                                                    \
        a01 = b01 ^ (~b11 & b21); a11 = b11 ^ (~b21 & b31); a21 = b21 ^ (~b31 & b41);                          \
        a31 = b31 ^ (~b41 & b01); a41 = b41 ^ (~b01 & b11);                                                    \
        a02 = b02 ^ (~b12 & b22); a12 = b12 ^ (~b22 & b32); a22 = b22 ^ (~b32 & b42);                          \
        a32 = b32 ^ (~b42 & b02); a42 = b42 ^ (~b02 & b12);                                                    \
        a03 = b03 ^ (~b13 & b23); a13 = b13 ^ (~b23 & b33); a23 = b23 ^ (~b33 & b43);                          \
        a33 = b33 ^ (~b43 & b03); a43 = b43 ^ (~b03 & b13);                                                    \
        a04 = b04 ^ (~b14 & b24); a14 = b14 ^ (~b24 & b34); a24 = b24 ^ (~b34 & b44);                          \
        a34 = b34 ^ (~b44 & b04); a44 = b44 ^ (~b04 & b14);                                                    \
    } while (0)

// The 25 lanes of state `s` (lane (x, y) at index x + 5y) into locals a<x><y> of type LANE, and back.
#define LOAD_LANES(s)                                                                                          \
    LANE a00 = (s)[0], a10 = (s)[1], a20 = (s)[2], a30 = (s)[3], a40 = (s)[4];                                 \
    LANE a01 = (s)[5], a11 = (s)[6], a21 = (s)[7], a31 = (s)[8], a41 = (s)[9];                                 \
    LANE a02 = (s)[10], a12 = (s)[11], a22 = (s)[12], a32 = (s)[13], a42 = (s)[14];                            \
    LANE a03 = (s)[15], a13 = (s)[16], a23 = (s)[17], a33 = (s)[18], a43 = (s)[19];                            \
    LANE a04 = (s)[20], a14 = (s)[21], a24 = (s)[22], a34 = (s)[23], a44 = (s)[24]
#define STORE_LANES(s)                                                                                         \
    do {                                                                                                       \
        (s)[0] = a00; (s)[1] = a10; (s)[2] = a20; (s)[3] = a30; (s)[4] = a40;                                  \
        (s)[5] = a01; (s)[6] = a11; (s)[7] = a21; (s)[8] = a31; (s)[9] = a41;                                  \
        (s)[10] = a02; (s)[11] = a12; (s)[12] = a22; (s)[13] = a32; (s)[14] = a42;                             \
        (s)[15] = a03; (s)[16] = a13; (s)[17] = a23; (s)[18] = a33; (s)[19] = a43;                             \
        (s)[20] = a04; (s)[21] = a14; (s)[22] = a24; (s)[23] = a34; (s)[24] = a44;                             \
    } while (0)

#define LANE uint64_t
void twl_keccak_f1600(uint64_t s[25]) {
    // Lane (x, y) is s[x + 5y].
    LOAD_LANES(s);
    for (int i = 0; i < 24; i += 2) {
        ROUND(round_constants[i]);
        ROUND(round_constants[i + 1]);
    }
    STORE_LANES(s);
#undef LANE
}

int twl_sha3_256_short(const uint8_t *input, size_t length, uint8_t *output) {
    if (length >= TWL_SHA3_256_RATE) return -1;
    // The block: the message, the domain bits 01 and the first padding bit (0x06), zeros, the last padding bit
    // (0x80 in the block's last byte), absorbed into a zero state; lanes are little-endian.
    uint64_t state[25] = {0};
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint8_t *bytes = (uint8_t *)state;
    if (length > 0) memcpy(bytes, input, length);
    bytes[length] ^= 0x06;
    bytes[TWL_SHA3_256_RATE - 1] ^= 0x80;
    twl_keccak_f1600(state);
    memcpy(output, state, 32);
#else
    for (size_t i = 0; i < length; i++) state[i / 8] ^= (uint64_t)input[i] << (8 * (i % 8));
    state[length / 8] ^= (uint64_t)0x06 << (8 * (length % 8));
    state[(TWL_SHA3_256_RATE - 1) / 8] ^= (uint64_t)0x80 << (8 * ((TWL_SHA3_256_RATE - 1) % 8));
    twl_keccak_f1600(state);
    for (int i = 0; i < 32; i++) output[i] = (uint8_t)(state[i / 8] >> (8 * (i % 8)));
#endif
    return 0;
}

// Eight permutations side by side: lane j of instance k is element k of vector s[j]. Generic vector code; on x86-64
// the compiler emits an AVX-512, an AVX2 and a baseline version and the loader picks one for the CPU.
typedef uint64_t twl_v8 __attribute__((vector_size(64)));

// TWL_KECCAK_NO_CLONES builds one version for the compiler's target flags: Tests/c/keccak_check.c uses it to test
// the baseline and AVX2 code, which a machine with AVX-512 never runs otherwise. Under ThreadSanitizer there are no
// clones either: the loader runs the clones' resolver while relocating, before the sanitizer's runtime is up, and
// its instrumented entry crashed every program (make test-sanitize).
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TWL_KECCAK_NO_CLONES 1
#endif
#endif
#if defined(__x86_64__) && defined(__ELF__) && !defined(TWL_KECCAK_NO_CLONES)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void keccak_f1600_x8(twl_v8 *s) {
#define LANE twl_v8
    LOAD_LANES(s);
    for (int i = 0; i < 24; i++) {
        twl_v8 rc = {0};
        rc += round_constants[i];
        ROUND(rc);
    }
    STORE_LANES(s);
#undef LANE
}

static inline uint64_t load_le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int j = 7; j >= 0; j--) v = (v << 8) | p[j];
    return v;
}

static inline void store_le64(uint8_t *p, uint64_t v) {
    for (int j = 0; j < 8; j++) p[j] = (uint8_t)(v >> (8 * j));
}

int twl_sha3_256_many(const uint8_t *data, const size_t *offsets, const size_t *lengths, size_t count,
                      uint8_t *outputs) {
    for (size_t i = 0; i < count; i++) {
        if (lengths[i] >= TWL_SHA3_256_RATE) return -1;
    }
    for (size_t first = 0; first < count; first += 8) {
        size_t n = count - first < 8 ? count - first : 8;
        // Each input's padded block (as in twl_sha3_256_short), then transposed into the vector lanes.
        uint8_t blocks[8][TWL_SHA3_256_RATE];
        memset(blocks, 0, sizeof blocks);
        for (size_t k = 0; k < n; k++) {
            size_t length = lengths[first + k];
            if (length > 0) memcpy(blocks[k], data + offsets[first + k], length);
            blocks[k][length] ^= 0x06;
            blocks[k][TWL_SHA3_256_RATE - 1] ^= 0x80;
        }
        twl_v8 state[25];
        memset(state, 0, sizeof state);
        for (int j = 0; j < TWL_SHA3_256_RATE / 8; j++) {
            for (size_t k = 0; k < 8; k++) state[j][k] = load_le64(blocks[k] + 8 * j);
        }
        keccak_f1600_x8(state);
        for (size_t k = 0; k < n; k++) {
            for (int j = 0; j < 4; j++) store_le64(outputs + 32 * (first + k) + 8 * j, state[j][k]);
        }
    }
    return 0;
}
