#!/usr/bin/env python3
"""Generates state-tree-vectors.json: roots and proofs of the authenticated state tree, computed by an independent
implementation of Docs/state-tree.md (compressed 4-ary sparse Merkle tree over SHA3-256) on Python's hashlib.
The Swift tests must reach the same root from the same entries (in any order) and produce the same proofs.
    python3 Tests/Vectors/gen_state_tree_vectors.py > Tests/Vectors/state-tree-vectors.json
"""
import hashlib, json

H = lambda b: hashlib.sha3_256(b).digest()
ZERO = bytes(32)


def digit(path, i):
    return (path[i // 4] >> (6 - 2 * (i % 4))) & 3


def subtree(items, depth):
    """items: sorted list of (key hash, value hash) sharing their first `depth` digits. Returns the hash."""
    if not items:
        return ZERO
    if len(items) == 1:
        k, v = items[0]
        return H(b"\x00" + k + v)
    children = [subtree([it for it in items if digit(it[0], depth) == d], depth + 1) for d in range(4)]
    return H(b"\x01" + b"".join(children))


def proof(items, key):
    """The proof for `key` (raw state key): sibling hashes three per level, and the terminal."""
    path = H(key)
    siblings, depth = [], 0
    while len(items) >= 2:
        groups = [[it for it in items if digit(it[0], depth) == d] for d in range(4)]
        mine = digit(path, depth)
        siblings += [subtree(groups[d], depth + 1) for d in range(4) if d != mine]
        items, depth = groups[mine], depth + 1
    if len(items) == 1:
        return siblings, {"terminal": "leaf", "leaf_key_hash": items[0][0].hex(), "leaf_value_hash": items[0][1].hex()}
    return siblings, {"terminal": "empty"}


def case(name, entries, queries):
    items = sorted((H(k), H(v)) for k, v in entries.items())
    out = {"name": name, "entries": [{"key": k.hex(), "value": v.hex()} for k, v in sorted(entries.items())],
           "root": subtree(items, 0).hex(), "proofs": []}
    for q in queries:
        sib, term = proof(items, q)
        out["proofs"].append(dict({"key": q.hex(), "value": entries[q].hex() if q in entries else None,
                                   "siblings": [s.hex() for s in sib]}, **term))
    return out


def main():
    cases = [case("empty", {}, [b"\x01absent"])]
    cases.append(case("one entry", {b"\x01alice": b"\x05"}, [b"\x01alice", b"\x01bob"]))
    two = {b"\x03" + bytes([i]) * 32: bytes([i]) for i in range(2)}
    cases.append(case("two entries", two, list(two) + [b"\x03" + bytes([9]) * 32]))
    # Two keys whose paths share their first three digits: a chain of branches with one child each above them.
    first = b"\x02org-0"
    i = 1
    while H(b"\x02org-%d" % i)[0] >> 2 != H(first)[0] >> 2:
        i += 1
    shared = {first: b"first", b"\x02org-%d" % i: b"second"}
    cases.append(case("shared prefix", shared, list(shared) + [b"\x02org-absent"]))
    # Enough entries for several levels, branches with one child, and both kinds of exclusion proof.
    many = {b"\x04" + hashlib.sha3_256(b"grant %d" % i).digest(): (b"value %d" % i) * (i % 5 + 1) for i in range(300)}
    queries = sorted(many)[:12] + [b"\x04" + hashlib.sha3_256(b"absent %d" % i).digest() for i in range(12)]
    cases.append(case("300 entries", many, queries))
    print(json.dumps({"source": "gen_state_tree_vectors.py, an independent implementation of Docs/state-tree.md",
                      "cases": cases}, indent=1))


if __name__ == "__main__":
    main()
