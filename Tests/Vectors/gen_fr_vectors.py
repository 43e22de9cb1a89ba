#!/usr/bin/env python3
"""BLS12-381 scalar-field (Z_r) vectors: Python's integers, with r taken from py_ecc 8.0.0 (`curve_order`) and its
`prime_field_inv` for inverses. Seeded, so a rerun writes the same file:
    pip install py_ecc==8.0.0 && python3 gen_fr_vectors.py > fr-vectors.json
Each case: a, b (32-byte big-endian hex), a+b, a-b, a*b, 1/a (absent for 0); `wide` cases give 64 bytes and their
value mod r."""
import json
import random

from py_ecc.bls12_381 import curve_order as R
from py_ecc.utils import prime_field_inv


def hx(x):
    return int(x).to_bytes(32, "big").hex()


def case(a, b):
    out = {"a": hx(a), "b": hx(b), "sum": hx((a + b) % R), "difference": hx((a - b) % R), "product": hx(a * b % R)}
    if a % R:
        inverse = prime_field_inv(a, R)
        assert inverse * a % R == 1
        out["inverse"] = hx(inverse)
    return out


def main():
    rng = random.Random(255)
    edges = [0, 1, 2, R - 1, R - 2, (R - 1) // 2, 2**254, 2**64 - 1]
    pairs = [(a, b) for a in edges for b in edges[:3]]
    pairs += [(rng.randrange(R), rng.randrange(R)) for _ in range(40)]
    wide = [0, 1, R, R - 1, 2**512 - 1, 2**256, R * R] + [rng.randrange(2**512) for _ in range(10)]
    print(json.dumps({
        "source": "Tests/Vectors/gen_fr_vectors.py: Python integers, r and inverses from py_ecc 8.0.0; random.Random(255).",
        "order": format(R, "064x"),
        "cases": [case(a, b) for a, b in pairs],
        "wide": [{"bytes": w.to_bytes(64, "big").hex(), "reduced": hx(w % R)} for w in wide],
    }, indent=1))


if __name__ == "__main__":
    main()
