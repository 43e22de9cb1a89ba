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

/// Keccak-f[1600] on 25 lanes (lane x + 5y at index x + 5y, little-endian byte order within a lane).
void twl_keccak_f1600(uint64_t state[25]);

#endif
