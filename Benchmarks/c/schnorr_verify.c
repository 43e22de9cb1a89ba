/* Reference for TwinLedger's Schnorr wrapper overhead: BIP340 verification straight through libsecp256k1.
 * Same workload as TwinBench's "Schnorr verify": KEYS key pairs, one signature each over a 32-byte message,
 * public keys parsed once, then ROUNDS passes verifying all of them. Prints "verify_per_s <rate>".
 * Usage: schnorr_verify ROUNDS */
#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEYS 1000

static uint64_t state = 0x54574c42454e4348ULL;
static uint64_t next(void) { /* SplitMix64 */
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
static void fill(unsigned char *out, size_t n) {
    for (size_t i = 0; i < n; i += 8) { uint64_t v = next(); memcpy(out + i, &v, n - i < 8 ? n - i : 8); }
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 10;
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    static secp256k1_xonly_pubkey keys[KEYS];
    static unsigned char sigs[KEYS][64], msgs[KEYS][32];
    for (int i = 0; i < KEYS; i++) {
        unsigned char seckey[32], aux[32], ser[32];
        secp256k1_keypair kp;
        do { fill(seckey, 32); } while (!secp256k1_keypair_create(ctx, &kp, seckey));
        fill(msgs[i], 32);
        fill(aux, 32);
        if (!secp256k1_schnorrsig_sign32(ctx, sigs[i], msgs[i], &kp, aux)) return 2;
        if (!secp256k1_keypair_xonly_pub(ctx, &keys[i], NULL, &kp)) return 2;
        secp256k1_xonly_pubkey_serialize(ctx, ser, &keys[i]);
        if (!secp256k1_xonly_pubkey_parse(ctx, &keys[i], ser)) return 2;
    }
    struct timespec a, b;
    long ok = 0;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int r = 0; r < rounds; r++)
        for (int i = 0; i < KEYS; i++) ok += secp256k1_schnorrsig_verify(ctx, sigs[i], msgs[i], 32, &keys[i]);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double seconds = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
    if (ok != (long)rounds * KEYS) { fprintf(stderr, "verification failed\n"); return 1; }
    printf("verify_per_s %.0f\n", (double)rounds * KEYS / seconds);
    secp256k1_context_destroy(ctx);
    return 0;
}
