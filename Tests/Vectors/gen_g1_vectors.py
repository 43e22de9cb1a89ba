#!/usr/bin/env python3
"""BLS12-381 G1 vectors from an independent implementation: py_ecc 8.0.0 (`optimized_bls12_381` arithmetic and
`bls.point_compression.compress_G1`). Seeded, so a rerun writes the same file:
    pip install py_ecc==8.0.0 && python3 gen_g1_vectors.py > g1-vectors.json
`multiples`: k and the compressed k*G. `sums`: compressed P, Q and P+Q, 2P. `invalid`: encodings to refuse, each with
the error our decoder must give."""
import json
import random

from py_ecc.bls.point_compression import compress_G1
from py_ecc.optimized_bls12_381 import G1, Z1, add, b, curve_order, double, field_modulus as P, is_on_curve, multiply
from py_ecc.fields import optimized_bls12_381_FQ as FQ


def enc(point):
    return compress_G1(point).to_bytes(48, "big").hex()


def main():
    rng = random.Random(4811)
    ks = [1, 2, 3, 4, 5, 7, 255, 256, 2**64, curve_order - 1, curve_order - 2] + [rng.randrange(curve_order) for _ in range(12)]
    multiples = [{"k": format(k, "064x"), "point": enc(multiply(G1, k))} for k in ks]
    assert enc(multiply(G1, curve_order)) == enc(Z1)
    sums = []
    for _ in range(8):
        p_, q_ = multiply(G1, rng.randrange(curve_order)), multiply(G1, rng.randrange(curve_order))
        sums.append({"p": enc(p_), "q": enc(q_), "sum": enc(add(p_, q_)), "double": enc(double(p_))})
    # Encodings to refuse.
    invalid = [{"bytes": "c0" + "00" * 47, "error": None, "note": "infinity (valid)"}]
    gx = enc(G1)
    invalid.append({"bytes": gx[2:], "error": "invalid_encoding", "note": "47 bytes"})
    invalid.append({"bytes": format(int(gx[:2], 16) & 0x7f, "02x") + gx[2:], "error": "invalid_encoding",
                    "note": "compression flag clear"})
    invalid.append({"bytes": "e0" + "00" * 47, "error": "invalid_encoding", "note": "infinity with the sign bit"})
    invalid.append({"bytes": "c0" + "00" * 46 + "01", "error": "invalid_encoding", "note": "infinity with x bits"})
    x_too_big = (P | (0x80 << 376)).to_bytes(48, "big").hex()
    invalid.append({"bytes": x_too_big, "error": "invalid_encoding", "note": "x = p"})
    # An x with no point: x^3 + 4 not a square.
    x = 5
    while pow(x**3 + 4, (P - 1) // 2, P) == 1:
        x += 1
    invalid.append({"bytes": (x | (0x80 << 376)).to_bytes(48, "big").hex(), "error": "not_on_curve", "note": "x^3 + 4 is not a square"})
    # A point on the curve outside the subgroup (the cofactor is large, so almost every curve point is).
    x = 7
    while True:
        rhs = (x**3 + 4) % P
        if pow(rhs, (P - 1) // 2, P) == 1:
            y = pow(rhs, (P + 1) // 4, P)
            point = (FQ(x), FQ(y), FQ(1))
            assert is_on_curve(point, b)
            if multiply(point, curve_order) != Z1 and multiply(point, curve_order)[2] != 0:
                break
        x += 1
    sign = 0x20 if y > (P - 1) // 2 else 0
    invalid.append({"bytes": (x | ((0x80 | sign) << 376)).to_bytes(48, "big").hex(), "error": "not_in_subgroup",
                    "note": "on the curve, not in G1"})
    print(json.dumps({
        "source": "Tests/Vectors/gen_g1_vectors.py: py_ecc 8.0.0 (optimized_bls12_381, compress_G1); random.Random(4811).",
        "multiples": multiples, "sums": sums, "invalid": invalid,
    }, indent=1))


if __name__ == "__main__":
    main()
