#!/usr/bin/env python3
"""BLS12-381 F_p^12 vectors from an independent implementation: py_ecc 8.0.0's `bls12_381_FQ12`, which represents
F_p^12 directly as F_p[w]/(w^12 - 2w^6 + 2), mapped to our tower F_p^12 = F_p^6[w]/(w^2 - v),
F_p^6 = F_p^2[v]/(v^3 - (1 + u)), F_p^2 = F_p[u]/(u^2 + 1) by u = w^6 - 1, v = w^2. Seeded:
    pip install py_ecc==8.0.0 && python3 gen_fp12_vectors.py > fp12-vectors.json
An element is 12 hex strings, the F_p coefficients in the tower's order: c0.c0.c0, c0.c0.c1, c0.c1.c0, c0.c1.c1,
c0.c2.c0, c0.c2.c1, c1.c0.c0, ... (w-coefficient i, v-coefficient j, u-coefficient k)."""
import json
import random

from py_ecc.fields import bls12_381_FQ12 as FQ12

P = FQ12.field_modulus


def to_fq12(tower):
    # tower[(i, j)] = (x, y): the F_p^2 coefficient of w^i v^j = w^(2j+i); x + y*u with u = w^6 - 1.
    coeffs = [0] * 12
    for i in range(2):
        for j in range(3):
            x, y = tower[6 * i + 2 * j], tower[6 * i + 2 * j + 1]
            m = 2 * j + i
            coeffs[m] = (coeffs[m] + x - y) % P
            coeffs[m + 6] = (coeffs[m + 6] + y) % P
    return FQ12(coeffs)


def from_fq12(element):
    e = [int(c) for c in element.coeffs]
    tower = [0] * 12
    for i in range(2):
        for j in range(3):
            m = 2 * j + i
            tower[6 * i + 2 * j] = (e[m] + e[m + 6]) % P
            tower[6 * i + 2 * j + 1] = e[m + 6]
    return tower


def hx(values):
    return [int(v).to_bytes(48, "big").hex() for v in values]


def main():
    rng = random.Random(1212)
    cases = []
    for index in range(24):
        a = [rng.randrange(P) for _ in range(12)]
        b = [rng.randrange(P) for _ in range(12)]
        if index < 6:  # elements of F_p^6 (c1 = 0), to check that multiplication on its own
            a[6:] = [0] * 6
            b[6:] = [0] * 6
        fa, fb = to_fq12(a), to_fq12(b)
        assert from_fq12(fa) == a
        inverse = FQ12.one() / fa
        assert inverse * fa == FQ12.one()
        cases.append({"a": hx(a), "b": hx(b), "product": hx(from_fq12(fa * fb)), "square": hx(from_fq12(fa * fa)),
                      "inverse": hx(from_fq12(inverse)), "sum": hx(from_fq12(fa + fb))})
    print(json.dumps({
        "source": "Tests/Vectors/gen_fp12_vectors.py: py_ecc 8.0.0 bls12_381_FQ12, mapped to the tower by u = w^6 - 1, "
                  "v = w^2; random.Random(1212).",
        "cases": cases,
    }, indent=1))


if __name__ == "__main__":
    main()
