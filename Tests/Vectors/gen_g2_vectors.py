#!/usr/bin/env python3
"""BLS12-381 G2 vectors from an independent implementation: py_ecc 8.0.0 (`optimized_bls12_381` arithmetic and
`bls.point_compression.compress_G2`). Seeded, so a rerun writes the same file:
    pip install py_ecc==8.0.0 && python3 gen_g2_vectors.py > g2-vectors.json
`multiples`: k and the compressed k*G2 (96 bytes: x.c1 with the flags, then x.c0). `sums`: P, Q, P+Q, 2P.
`invalid`: encodings to refuse with the error our decoder must give."""
import json
import random

from py_ecc.bls.point_compression import compress_G2, modular_squareroot_in_FQ2
from py_ecc.fields import optimized_bls12_381_FQ2 as FQ2
from py_ecc.optimized_bls12_381 import G2, Z2, add, b2, curve_order, double, field_modulus as P, is_on_curve, multiply


def enc(point):
    z1, z2 = compress_G2(point)
    return z1.to_bytes(48, "big").hex() + z2.to_bytes(48, "big").hex()


def is_square_fq2(value):
    c0, c1 = (int(c) for c in value.coeffs)
    norm = (c0 * c0 + c1 * c1) % P
    return norm == 0 or pow(norm, (P - 1) // 2, P) == 1


def main():
    rng = random.Random(962)
    ks = [1, 2, 3, 255, 2**64, curve_order - 1] + [rng.randrange(curve_order) for _ in range(8)]
    multiples = [{"k": format(k, "064x"), "point": enc(multiply(G2, k))} for k in ks]
    sums = []
    for _ in range(5):
        p_, q_ = multiply(G2, rng.randrange(curve_order)), multiply(G2, rng.randrange(curve_order))
        sums.append({"p": enc(p_), "q": enc(q_), "sum": enc(add(p_, q_)), "double": enc(double(p_))})
    invalid = [{"bytes": "c0" + "00" * 95, "error": None, "note": "infinity (valid)"}]
    g = enc(G2)
    invalid.append({"bytes": g[:-2], "error": "invalid_encoding", "note": "95 bytes"})
    invalid.append({"bytes": format(int(g[:2], 16) & 0x7f, "02x") + g[2:], "error": "invalid_encoding",
                    "note": "compression flag clear"})
    invalid.append({"bytes": "c0" + "00" * 94 + "01", "error": "invalid_encoding", "note": "infinity with x bits"})
    invalid.append({"bytes": (P | (0x80 << 376)).to_bytes(48, "big").hex() + "00" * 48, "error": "invalid_encoding",
                    "note": "x.c1 = p"})
    # x with no curve point, and a curve point outside G2.
    x0 = 1
    while is_square_fq2(FQ2([x0, 1]) ** 3 + b2):
        x0 += 1
    invalid.append({"bytes": ((1 | (0x80 << 376)).to_bytes(48, "big") + x0.to_bytes(48, "big")).hex(),
                    "error": "not_on_curve", "note": "x^3 + b has no root"})
    x0 = 1
    while True:
        x = FQ2([x0, 1])
        if is_square_fq2(x ** 3 + b2):
            y = modular_squareroot_in_FQ2(x ** 3 + b2)
            point = (x, y, FQ2.one())
            assert is_on_curve(point, b2) and multiply(point, curve_order)[2] != FQ2.zero()
            assert multiply((x, -y, FQ2.one()), curve_order)[2] != FQ2.zero()
            break
        x0 += 1
    invalid.append({"bytes": ((1 | (0x80 << 376)).to_bytes(48, "big") + x0.to_bytes(48, "big")).hex(),
                    "error": "not_in_subgroup", "note": "on the curve, not in G2 (either root: the subgroup check fails for both)"})
    print(json.dumps({
        "source": "Tests/Vectors/gen_g2_vectors.py: py_ecc 8.0.0 (optimized_bls12_381, compress_G2); random.Random(962).",
        "multiples": multiples, "sums": sums, "invalid": invalid,
    }, indent=1))


if __name__ == "__main__":
    main()
