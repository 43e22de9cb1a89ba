#!/usr/bin/env python3
"""RW15 vectors from an independent implementation: the scheme of ../shared/ABE-RW15.md written here on py_ecc 8.0.0
(BLS12-381 group arithmetic, hash_to_G1 with SHA-256, the pairing), with its own LSSS construction, and the byte
layouts of Docs/abe.md "Encodings" written with the encoder of gen_encoding_vectors.py. Fixed scalars stand in for the
randomness, so the Swift side can replay key issuance and encryption exactly and must produce the same bytes; it must
also decrypt the ciphertexts to m. Deterministic:
    pip install py_ecc==8.0.0 && python3 gen_abe_vectors.py > abe-vectors.json
py_ecc's pairing is the inverse of the usual one (see gen_pairing_vectors.py), so gT here is py_ecc's e(g1, g2)^-1."""
import hashlib
import json

from py_ecc.bls.hash_to_curve import hash_to_G1
from py_ecc.bls.point_compression import compress_G1, compress_G2
from py_ecc.fields import bls12_381_FQ12 as FQ12
from py_ecc.optimized_bls12_381 import G1, G2, add, curve_order as R, multiply, neg, pairing

from gen_encoding_vectors import lst, mp, tstr, uvarint, bstr
from gen_fp12_vectors import from_fq12

GID_DST = b"TWINLEDGER-V01-ABE-GID_"
ATTR_DST = b"TWINLEDGER-V01-ABE-ATTR_"


def scalar(label):
    """A fixed scalar below r, named for readability."""
    return int.from_bytes(hashlib.sha256(b"abe-vector " + label.encode()).digest() * 2, "big") % R


def g1(p):
    return compress_G1(p).to_bytes(48, "big")


def g2(q):
    z1, z2 = compress_G2(q)
    return z1.to_bytes(48, "big") + z2.to_bytes(48, "big")


def gt_bytes(element):
    return b"".join(int(v).to_bytes(48, "big") for v in from_fq12(FQ12([int(c) for c in element.coeffs])))


def lsss(policy):
    """policy: ("attr", "A.x") or ("gate", k, [children]). Rows in leaf order, per ABE-RW15.md."""
    rows, attrs, columns = [], [], [1]

    def label(node, vector):
        if node[0] == "attr":
            rows.append(vector)
            attrs.append(node[1])
            return
        _, k, children = node
        padded = vector + [0] * (columns[0] - len(vector))
        columns[0] += k - 1
        for i, child in enumerate(children, start=1):
            label(child, padded + [pow(i, e, R) for e in range(1, k)])

    label(policy, [1])
    return [r + [0] * (columns[0] - len(r)) for r in rows], attrs


def main():
    gT = pairing(G2, G1) ** (R - 1)
    authorities = {"A": (scalar("alpha A"), scalar("y A"), 1), "B": (scalar("alpha B"), scalar("y B"), 3)}
    public = {}
    for name, (alpha, y, epoch) in authorities.items():
        public[name] = (gT ** alpha, multiply(G2, y), epoch)
    gid = bytes(range(1, 33))
    h_gid = hash_to_G1(gid, GID_DST, hashlib.sha256)
    versions = {"A.x": 1, "B.y": 2, "A.z": 5}

    out = {"source": "Tests/Vectors/gen_abe_vectors.py: RW15 on py_ecc 8.0.0", "gid": gid.hex(), "authorities": [],
           "keys": [], "ciphertexts": []}
    for name, (alpha, y, epoch) in authorities.items():
        e_alpha, g2y, _ = public[name]
        out["authorities"].append({
            "authority": name, "epoch": epoch, "alpha": format(alpha, "064x"), "y": format(y, "064x"),
            "public": (bytes([1]) + tstr(name) + uvarint(epoch) + gt_bytes(e_alpha) + g2(g2y)).hex(),
            "secret": (bytes([1]) + tstr(name) + uvarint(epoch) + alpha.to_bytes(32, "big") + y.to_bytes(32, "big")).hex(),
        })
    for attribute, version in versions.items():
        authority, attr_name = attribute.split(".")
        alpha, y, epoch = authorities[authority]
        t = scalar("t key " + attribute)
        f_u = hash_to_G1(f"{attribute}#{version}".encode(), ATTR_DST, hashlib.sha256)
        k = add(add(multiply(G1, alpha), multiply(h_gid, y)), multiply(f_u, t))
        k_prime = multiply(G2, t)
        encoded = (bytes([1]) + bstr(gid) + tstr(authority) + tstr(attr_name) + uvarint(version) + uvarint(epoch)
                   + g1(k) + g2(k_prime))
        out["keys"].append({"attribute": attribute, "version": version, "t": format(t, "064x"), "key": encoded.hex()})

    policies = [
        ("2 of (A.x, B.y, A.z)", ("gate", 2, [("attr", "A.x"), ("attr", "B.y"), ("attr", "A.z")])),
        ("A.x and (B.y or A.z)", ("gate", 2, [("attr", "A.x"), ("gate", 1, [("attr", "B.y"), ("attr", "A.z")])])),
    ]
    for text, tree in policies:
        rows, attrs = lsss(tree)
        columns = len(rows[0])
        z = scalar("z " + text)
        v = [z] + [scalar(f"v{j} {text}") for j in range(2, columns + 1)]
        w = [0] + [scalar(f"w{j} {text}") for j in range(2, columns + 1)]
        s = scalar("m " + text)
        m = gT ** s
        encoded_rows = b""
        ts = []
        for index, (row, attribute) in enumerate(zip(rows, attrs)):
            lam = sum(a * b for a, b in zip(row, v)) % R
            omega = sum(a * b for a, b in zip(row, w)) % R
            t = scalar(f"t{index} {text}")
            ts.append(t)
            authority = attribute.split(".")[0]
            e_alpha, g2y, _ = public[authority]
            f_u = hash_to_G1(f"{attribute}#{versions[attribute]}".encode(), ATTR_DST, hashlib.sha256)
            c1 = (gT ** lam) * (e_alpha ** t)
            c2 = neg(multiply(G2, t))
            c3 = add(multiply(g2y, t), multiply(G2, omega))
            c4 = multiply(f_u, t)
            encoded_rows += gt_bytes(c1) + g2(c2) + g2(c3) + g1(c4)
        epochs = {a.split(".")[0]: public[a.split(".")[0]][2] for a in attrs}
        encoded = (bytes([1]) + tstr(text) + lst([versions[a] for a in attrs], uvarint)
                   + mp(epochs, tstr, uvarint) + gt_bytes(m * (gT ** z)) + uvarint(len(rows)) + encoded_rows)
        out["ciphertexts"].append({
            "policy": text, "m": gt_bytes(m).hex(), "z": format(z, "064x"),
            "v": [format(x, "064x") for x in v[1:]], "w": [format(x, "064x") for x in w[1:]],
            "t": [format(x, "064x") for x in ts], "ciphertext": encoded.hex(),
        })
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
