#!/usr/bin/env python3
"""BLS12-381 base-field (F_p) vectors from an independent implementation: py_ecc 8.0.0's `bls12_381_FQ` (PyPI),
checked against Python's integers. Seeded, so a rerun writes the same file:
    pip install py_ecc==8.0.0 && python3 gen_fp_vectors.py > fp-vectors.json
Each case gives a and b (48-byte big-endian hex) and a+b, a-b, a*b, -a, a^2, 1/a (absent for a = 0), whether a is a
square, and sqrt(a^2) = (a^2)^((p+1)/4), the root our implementation returns."""
import json
import random

from py_ecc.fields import bls12_381_FQ as FQ

P = FQ.field_modulus


def hx(x):
    return int(x).to_bytes(48, "big").hex()


def case(a, b):
    fa, fb = FQ(a), FQ(b)
    out = {"a": hx(a), "b": hx(b), "sum": hx((fa + fb).n), "difference": hx((fa - fb).n), "product": hx((fa * fb).n),
           "negation": hx((-fa).n), "square": hx((fa * fa).n)}
    assert (fa * fb).n == a * b % P and (fa + fb).n == (a + b) % P and (fa - fb).n == (a - b) % P
    if a % P:
        inverse = FQ.one() / fa
        assert (inverse * fa).n == 1 and inverse.n == pow(a, P - 2, P)
        out["inverse"] = hx(inverse.n)
    out["is_square"] = a % P == 0 or pow(a, (P - 1) // 2, P) == 1
    root = (fa * fa) ** ((P + 1) // 4)
    assert root * root == fa * fa
    out["root_of_square"] = hx(root.n)
    return out


def main():
    rng = random.Random(381)
    edges = [0, 1, 2, P - 1, P - 2, (P - 1) // 2, (P + 1) // 2, 2**380, 2**64 - 1, 2**64, 2**320 + 5]
    pairs = [(a, b) for a in edges[:6] for b in edges[:4]]
    pairs += [(edges[i], edges[(i + 3) % len(edges)]) for i in range(len(edges))]
    pairs += [(rng.randrange(P), rng.randrange(P)) for _ in range(60)]
    print(json.dumps({
        "source": "Tests/Vectors/gen_fp_vectors.py: py_ecc 8.0.0 bls12_381_FQ (independent pure-Python BLS12-381), "
                  "checked against Python integers; random.Random(381) for the random cases.",
        "modulus": format(P, "096x"),
        "cases": [case(a, b) for a, b in pairs],
        "non_canonical": [format(x, "096x") for x in [P, P + 1, 2**384 - 1]],
    }, indent=1))


if __name__ == "__main__":
    main()
