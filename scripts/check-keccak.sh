#!/usr/bin/env bash
# Builds Tests/c/keccak_check.c against each vector code path of Sources/CKeccak that this CPU can run and checks it
# against the hashlib vectors (see the comment in that file).
set -euo pipefail
cd "$(dirname "$0")/.."
out=.build/keccak-check
mkdir -p "$out"
cc=${CC:-cc}
variants=("baseline:")
if [ "$(uname -m)" = x86_64 ]; then
    grep -qw avx2 /proc/cpuinfo && variants+=("avx2:-mavx2")
    grep -qw avx512f /proc/cpuinfo && variants+=("avx512:-mavx512f")
fi
for variant in "${variants[@]}"; do
    name=${variant%%:*}
    flags=${variant#*:}
    # shellcheck disable=SC2086
    "$cc" -O2 -std=c11 -Wall -Werror -DTWL_KECCAK_NO_CLONES $flags -ISources/CKeccak/include \
        Sources/CKeccak/keccak.c Tests/c/keccak_check.c -o "$out/keccak_check_$name"
    printf '%-9s ' "$name"
    "$out/keccak_check_$name" Tests/Vectors/sha3-length-vectors.json
done
