#!/usr/bin/env python3
"""BLS12-381 pairing vectors from an independent implementation: py_ecc 8.0.0's `optimized_bls12_381.pairing`, its
F_p^12 value mapped to our tower (u = w^6 - 1, v = w^2, as in gen_fp12_vectors.py). Seeded:
    pip install py_ecc==8.0.0 && python3 gen_pairing_vectors.py > pairing-vectors.json
Each case: scalars a, b; the compressed points a*G1 and b*G2; e(a*G1, b*G2) as 12 tower coefficients."""
import json
import random

from py_ecc.bls.point_compression import compress_G1, compress_G2
from py_ecc.fields import bls12_381_FQ12 as FQ12
from py_ecc.optimized_bls12_381 import G1, G2, curve_order, multiply, pairing

from gen_fp12_vectors import from_fq12, hx


def enc1(point):
    return compress_G1(point).to_bytes(48, "big").hex()


def enc2(point):
    z1, z2 = compress_G2(point)
    return z1.to_bytes(48, "big").hex() + z2.to_bytes(48, "big").hex()


def main():
    rng = random.Random(12381)
    scalars = [(1, 1), (2, 1), (1, 2), (5, 7)] + [(rng.randrange(curve_order), rng.randrange(curve_order)) for _ in range(2)]
    cases = []
    for a, b in scalars:
        p, q = multiply(G1, a), multiply(G2, b)
        value = pairing(q, p)
        coeffs = [int(c) for c in value.coeffs]
        cases.append({"a": format(a, "064x"), "b": format(b, "064x"), "g1": enc1(p), "g2": enc2(q),
                      "pairing": hx(from_fq12(FQ12(coeffs)))})
    print(json.dumps({
        "source": "Tests/Vectors/gen_pairing_vectors.py: py_ecc 8.0.0 optimized_bls12_381.pairing, mapped to the tower; "
                  "random.Random(12381).",
        "cases": cases,
    }, indent=1))


if __name__ == "__main__":
    main()
