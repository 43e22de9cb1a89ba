// SHA3-256 (FIPS 202) for inputs that fit in one sponge block, without allocation: the state tree hashes tens of
// thousands of 33-129 byte inputs per block, where a streaming hasher's setup costs as much as the permutation.
// Longer inputs go through swift-crypto (TwinCrypto/Hashing.swift).
#ifndef TWINLEDGER_CKECCAK_H
#define TWINLEDGER_CKECCAK_H

#include <stddef.h>
#include <stdint.h>

/// The SHA3-256 rate in bytes: inputs up to one less than this fit in one block with their padding.
#define TWL_SHA3_256_RATE 136

/// SHA3-256 of `length` bytes at `input` into `output` (32 bytes). Returns 0, or -1 (output untouched) if `length`
/// is 136 or more.
int twl_sha3_256_short(const uint8_t *input, size_t length, uint8_t *output);

/// SHA3-256 of `count` inputs at once: input i is the `lengths[i]` bytes at `data + offsets[i]`, each under 136
/// bytes; digest i goes to `outputs + 32 i`. Eight inputs share each permutation, one per 64-bit lane of a vector
/// (AVX-512 or AVX2 where the CPU has them, chosen at load time). Returns 0, or -1 (nothing written) if an input is
/// 136 bytes or longer.
int twl_sha3_256_many(const uint8_t *data, const size_t *offsets, const size_t *lengths, size_t count,
                      uint8_t *outputs);

/// Keccak-f[1600] on 25 lanes (lane x + 5y at index x + 5y, little-endian byte order within a lane).
void twl_keccak_f1600(uint64_t state[25]);

#endif
