#!/usr/bin/env python3
"""BLS12-381 F_p^2 = F_p[u]/(u^2 + 1) vectors from an independent implementation: py_ecc 8.0.0's `bls12_381_FQ2`
(PyPI). Seeded, so a rerun writes the same file:
    pip install py_ecc==8.0.0 && python3 gen_fp2_vectors.py > fp2-vectors.json
Elements are [c0, c1] as 48-byte big-endian hex. Each case gives a, b, a+b, a-b, a*b, a^2, 1/a (absent for 0),
whether a is a square (its norm is a square in F_p), and a*xi with xi = 1 + u."""
import json
import random

from py_ecc.fields import bls12_381_FQ2 as FQ2

P = FQ2.field_modulus


def hx(x):
    return int(x).to_bytes(48, "big").hex()


def el(x):
    return [hx(x.coeffs[0]), hx(x.coeffs[1])]


def case(a, b):
    fa, fb = FQ2(list(a)), FQ2(list(b))
    out = {"a": el(fa), "b": el(fb), "sum": el(fa + fb), "difference": el(fa - fb), "product": el(fa * fb),
           "square": el(fa * fa), "times_xi": el(fa * FQ2([1, 1]))}
    if fa != FQ2.zero():
        inverse = FQ2.one() / fa
        assert inverse * fa == FQ2.one()
        out["inverse"] = el(inverse)
    norm = (int(fa.coeffs[0]) ** 2 + int(fa.coeffs[1]) ** 2) % P
    out["is_square"] = norm == 0 or pow(norm, (P - 1) // 2, P) == 1
    return out


def main():
    rng = random.Random(382)
    edges = [(0, 0), (1, 0), (0, 1), (P - 1, 0), (0, P - 1), (P - 1, P - 1), (2, 3), ((P - 1) // 2, (P + 1) // 2)]
    pairs = [(a, b) for a in edges for b in edges[:3]]
    pairs += [((rng.randrange(P), rng.randrange(P)), (rng.randrange(P), rng.randrange(P))) for _ in range(40)]
    print(json.dumps({
        "source": "Tests/Vectors/gen_fp2_vectors.py: py_ecc 8.0.0 bls12_381_FQ2 (independent pure-Python BLS12-381); "
                  "random.Random(382) for the random cases.",
        "cases": [case(a, b) for a, b in pairs],
    }, indent=1))


if __name__ == "__main__":
    main()
