#!/usr/bin/env python3
"""Generates consensus-vectors.json: votes, proposals and a commit certificate encoded by an independent Python
implementation of Docs/consensus.md ("Messages"), on top of gen_encoding_vectors.py's primitives, and signed with the
BIP340 signer of gen_transaction_vectors.py (checked against bip340-test-vectors.csv first).
    python3 Tests/Vectors/gen_consensus_vectors.py > Tests/Vectors/consensus-vectors.json
"""
import hashlib, json, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_encoding_vectors import uvarint, tstr, opt, lst  # noqa: E402
from gen_transaction_vectors import self_check, sign, verify, xonly, N  # noqa: E402

VERSION = b"\x01"
CHAIN = "twinledger-golden"


def h(label):
    return hashlib.sha3_256(label.encode()).digest()


def secret_of(label):
    return int.from_bytes(h(label), "big") % N


def key_id(pub):
    return hashlib.sha3_256(pub).digest()


def vote_body(chain, height, rnd, kind, block, validator):
    return tstr(chain) + uvarint(height) + uvarint(rnd) + uvarint(kind) + opt(block, lambda b: b) + validator


def proposal_body(chain, height, rnd, block, valid_round, proposer):
    return tstr(chain) + uvarint(height) + uvarint(rnd) + block + uvarint(valid_round + 1) + proposer


def main():
    self_check()
    secrets = [secret_of(f"validator{i}") for i in range(4)]
    pubs = [xonly(s) for s in secrets]
    ids = [key_id(p) for p in pubs]
    aux = h("aux")
    out = {"chain_id": CHAIN, "aux": aux.hex(),
           "validators": [{"secret": s.to_bytes(32, "big").hex(), "public_key": p.hex(), "id": i.hex()}
                          for s, p, i in zip(secrets, pubs, ids)],
           "votes": [], "proposals": []}
    block = h("block")
    for (v, height, rnd, kind, blk) in [(0, 1, 0, 1, block), (1, 7, 3, 2, None), (2, 300, 200, 2, block),
                                        (3, 2**64 - 1, 1000000, 1, h("other"))]:
        encoded = VERSION + vote_body(CHAIN, height, rnd, kind, blk, ids[v])
        signing = b"twinledger/vote/v1" + encoded
        sig = sign(secrets[v], signing, aux)
        assert verify(pubs[v], signing, sig)
        out["votes"].append({"validator": v, "height": str(height), "round": rnd, "type": kind,
                             "block": blk.hex() if blk else None, "encoded": encoded.hex(),
                             "signing_bytes": signing.hex(), "signature": sig.hex()})
    for (p, height, rnd, vr) in [(0, 1, 0, -1), (2, 9, 4, 3)]:
        encoded = VERSION + proposal_body(CHAIN, height, rnd, block, vr, ids[p])
        signing = b"twinledger/proposal/v1" + encoded
        sig = sign(secrets[p], signing, aux)
        out["proposals"].append({"proposer": p, "height": height, "round": rnd, "valid_round": vr,
                                 "block": block.hex(), "encoded": encoded.hex(), "signature": sig.hex()})
    # A certificate: precommits for `block` at height 12, round 1 from validators 0, 1 and 3, sorted by key id.
    signers = []
    for v in [0, 1, 3]:
        signing = b"twinledger/vote/v1" + VERSION + vote_body(CHAIN, 12, 1, 2, block, ids[v])
        signers.append((ids[v], sign(secrets[v], signing, aux)))
    signers.sort(key=lambda s: s[0])
    encoded = VERSION + tstr(CHAIN) + uvarint(12) + uvarint(1) + block + lst(signers, lambda s: s[0] + s[1])
    out["certificate"] = {"height": 12, "round": 1, "block": block.hex(), "signers": [0, 1, 3],
                          "encoded": encoded.hex()}
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
