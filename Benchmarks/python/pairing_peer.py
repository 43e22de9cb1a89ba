#!/usr/bin/env python3
"""Native BLS12-381 timings for TwinBench's side-by-side ratios (Docs/performance.md, "Pairing"): pymcl 1.0.2 (the
mcl library) and blspy 2.0.3 (blst underneath), versions pinned by `make bench`. Usage:
    pairing_peer.py COUNT
prints one line per operation, "name<TAB>median microseconds", each the median of 5 batches of COUNT calls."""
import statistics
import sys
import time

import blspy
import pymcl


def per_call(body, count):
    batches = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(count):
            body()
        batches.append((time.perf_counter() - start) / count * 1e6)
    return statistics.median(batches)


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    p = pymcl.g1 * pymcl.Fr.random()
    q = pymcl.g2 * pymcl.Fr.random()
    k = pymcl.Fr.random()
    b1, b2 = blspy.G1Element.generator(), blspy.G2Element.generator()
    rows = [
        ("pymcl pairing", per_call(lambda: pymcl.pairing(p, q), count)),
        ("pymcl G1 scalar multiplication", per_call(lambda: p * k, count)),
        ("pymcl G2 scalar multiplication", per_call(lambda: q * k, count)),
        ("blspy pairing", per_call(lambda: b1.pair(b2), count)),
    ]
    for name, value in rows:
        print(f"{name}\t{value:.2f}")


if __name__ == "__main__":
    main()
