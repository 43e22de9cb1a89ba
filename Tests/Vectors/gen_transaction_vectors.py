#!/usr/bin/env python3
"""Generates transaction-vectors.json: one signed transaction of every kind, built by an independent Python
implementation of Docs/transactions.md on top of gen_encoding_vectors.py's primitives, and signed with a BIP340
signer written here from the BIP340 specification (checked first against every row of bip340-test-vectors.csv).
    python3 Tests/Vectors/gen_transaction_vectors.py > Tests/Vectors/transaction-vectors.json
"""
import csv, hashlib, json, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_encoding_vectors import uvarint, tstr, bstr, opt, lst, mp  # noqa: E402

# --- secp256k1 and BIP340, from the specification -----------------------------------------------------------
P = 2**256 - 2**32 - 977
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
G = (0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798,
     0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8)


def add(a, b):
    if a is None:
        return b
    if b is None:
        return a
    if a[0] == b[0] and (a[1] + b[1]) % P == 0:
        return None
    if a == b:
        lam = 3 * a[0] * a[0] * pow(2 * a[1], P - 2, P) % P
    else:
        lam = (b[1] - a[1]) * pow(b[0] - a[0], P - 2, P) % P
    x = (lam * lam - a[0] - b[0]) % P
    return (x, (lam * (a[0] - x) - a[1]) % P)


def mul(k, point=G):
    result = None
    while k:
        if k & 1:
            result = add(result, point)
        point = add(point, point)
        k >>= 1
    return result


def lift_x(x):
    if x >= P:
        return None
    y2 = (pow(x, 3, P) + 7) % P
    y = pow(y2, (P + 1) // 4, P)
    if y * y % P != y2:
        return None
    return (x, y if y % 2 == 0 else P - y)


def tagged(tag, data):
    t = hashlib.sha256(tag.encode()).digest()
    return hashlib.sha256(t + t + data).digest()


def xonly(secret):
    return mul(secret)[0].to_bytes(32, "big")


def sign(secret, msg, aux):
    point = mul(secret)
    d = secret if point[1] % 2 == 0 else N - secret
    t = (d ^ int.from_bytes(tagged("BIP0340/aux", aux), "big")).to_bytes(32, "big")
    px = point[0].to_bytes(32, "big")
    k0 = int.from_bytes(tagged("BIP0340/nonce", t + px + msg), "big") % N
    assert k0 != 0
    r = mul(k0)
    k = k0 if r[1] % 2 == 0 else N - k0
    rx = r[0].to_bytes(32, "big")
    e = int.from_bytes(tagged("BIP0340/challenge", rx + px + msg), "big") % N
    return rx + ((k + e * d) % N).to_bytes(32, "big")


def verify(pub, msg, sig):
    p = lift_x(int.from_bytes(pub, "big"))
    r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
    if p is None or r >= P or s >= N:
        return False
    e = int.from_bytes(tagged("BIP0340/challenge", sig[:32] + pub + msg), "big") % N
    point = add(mul(s), mul(N - e, p))
    return point is not None and point[1] % 2 == 0 and point[0] == r


def self_check():
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "bip340-test-vectors.csv")) as f:
        for row in csv.DictReader(f):
            msg, pub = bytes.fromhex(row["message"]), bytes.fromhex(row["public key"])
            sig = bytes.fromhex(row["signature"])
            if row["secret key"]:
                secret = int(row["secret key"], 16)
                assert xonly(secret) == pub, row["index"]
                assert sign(secret, msg, bytes.fromhex(row["aux_rand"])) == sig, row["index"]
            assert verify(pub, msg, sig) == (row["verification result"] == "TRUE"), row["index"]


# --- TwinLedger transactions (Docs/transactions.md) ---------------------------------------------------------
def h(label):
    return hashlib.sha3_256(label.encode()).digest()


def secret_of(label):
    return int.from_bytes(h(label), "big") % N


CHAIN = "twinledger-golden"
SIGNER = secret_of("signer")
ENROLLEE = xonly(secret_of("enrollee"))
VALIDATOR = xonly(secret_of("validator"))
PATIENT, GRANTEE, SHADOW, MANIFEST, ENVELOPE, GRANT, DELEG, ROOT = (
    h(x) for x in ["patient", "grantee", "shadow", "manifest", "envelope", "grant", "delegation", "root"])

scope = lst([SHADOW], lambda b: b) + lst(["neuro", "neuro.mri"], tstr)
# authority.publish / rotate carry an RW15 public key (Docs/abe.md): those of abe-vectors.json, written by
# gen_abe_vectors.py on py_ecc, for authority A at epoch 1 and B at epoch 3.
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "abe-vectors.json")) as handle:
    ABE_PUBLIC = {a["authority"]: bytes.fromhex(a["public"]) for a in json.load(handle)["authorities"]}


def attributes(items):
    return lst(items, lambda a: tstr(a[0]) + uvarint(a[1]))
payloads = [
    ("enroll", 0, ENROLLEE + uvarint(1) + tstr("HOSP_A")),
    ("authority.publish", 1, uvarint(1) + bstr(ABE_PUBLIC["A"]) + attributes([("cardiologist", 1), ("staff", 1)])),
    ("authority.rotate", 2, uvarint(3) + bstr(ABE_PUBLIC["B"]) + attributes([("cardiologist", 2)])),
    ("shadow.register", 3, SHADOW + PATIENT + uvarint(1) + lst(["neuro.mri"], tstr) + MANIFEST + uvarint(1048576)
     + lst([(GRANTEE, ENVELOPE)], lambda e: e[0] + e[1])
     # The policy envelope (ledger format 3): canonical policy text, ABE envelope address, epochs by authority.
     + opt(("HOSP_A.neurologist", h("abe envelope"), {"HOSP_A": 1}),
           lambda p: tstr(p[0]) + p[1] + mp(p[2], tstr, uvarint))),
    # consent.grant ends with its key envelopes (ledger format 2): shadow id, version, envelope address.
    ("consent.grant", 4, PATIENT + uvarint(0) + GRANTEE + uvarint(5) + scope + tstr("TREAT") + uvarint(1800000000)
     + opt(1800086400, uvarint) + lst([(SHADOW, 3, ENVELOPE)], lambda e: e[0] + uvarint(e[1]) + e[2])),
    ("consent.grant policy", 4, PATIENT + uvarint(1) + tstr("HOSP_A.cardiologist or NEURO.neurologist") + uvarint(1)
     + scope + tstr("HRESCH") + uvarint(1800000000) + opt(None, uvarint) + lst([], lambda e: e)),
    ("consent.revoke", 5, GRANT),
    ("delegation.grant", 6, PATIENT + GRANTEE + uvarint(3) + lst(["neuro"], tstr) + opt(1900000000, uvarint)),
    ("delegation.revoke", 7, DELEG),
    ("audit.anchor", 8, ROOT + uvarint(100) + uvarint(50)),
    ("shadow.erase", 9, SHADOW),
    ("break_glass", 10, PATIENT + tstr("unconscious on arrival")),
    ("validators.update", 11, uvarint(3) + lst([(VALIDATOR, 10)], lambda c: c[0] + uvarint(c[1]))
     + lst([(h("approver"), h("sig-a") + h("sig-b"))], lambda a: a[0] + a[1])),
    ("evidence.submit", 12, bstr(b"\x01vote-a") + bstr(b"\x01vote-b")),
    ("authority.attributes", 13, attributes([("cardiologist", 3), ("nurse", 1)])),
    ("attribute.issue", 14, GRANTEE + tstr("cardiologist") + uvarint(3) + uvarint(2) + h("issued key")),
    ("shadow.rewrap", 15, SHADOW + uvarint(1) + tstr("HOSP_A.neurologist") + h("abe envelope 2") + mp({"HOSP_A": 2}, tstr, uvarint)),
    # validator.rotate and key.rotate: the new key's possession signature is 64 raw bytes (its validity is a rule of
    # the state machine, not of the encoding).
    ("validator.rotate", 16, uvarint(4) + VALIDATOR + h("possession-a") + h("possession-b")),
    ("key.rotate", 17, PATIENT + ENROLLEE + h("possession-c") + h("possession-d")),
]


def main():
    self_check()
    signer_pub = xonly(SIGNER)
    vectors = []
    for i, (name, tag, fields) in enumerate(payloads):
        nonce = i + 1
        body = tstr(CHAIN) + signer_pub + uvarint(nonce) + uvarint(tag) + fields
        versioned_body = b"\x01" + body
        digest = tagged("TwinLedger/tx", versioned_body)
        aux = h("aux %d" % i)
        signature = sign(SIGNER, digest, aux)
        assert verify(signer_pub, digest, signature)
        signed = b"\x01" + body + signature
        vectors.append({
            "name": name, "nonce": nonce, "aux_rand": aux.hex(), "body": versioned_body.hex(),
            "signing_digest": digest.hex(), "signed": signed.hex(),
            "transaction_id": hashlib.sha3_256(signed).hexdigest(),
        })
    print(json.dumps({
        "source": "Tests/Vectors/gen_transaction_vectors.py: independent Python encoder of Docs/transactions.md and "
                  "BIP340 signer (self-checked against bip340-test-vectors.csv). Signer secret = SHA3-256('signer') "
                  "mod n; ids are SHA3-256 of the labels 'patient', 'grantee', 'shadow', 'manifest', 'envelope', "
                  "'grant', 'delegation', 'root'; enrollee and validator keys are the x-only keys of SHA3-256 of "
                  "'enrollee' and 'validator' mod n.",
        "chain_id": CHAIN,
        "vectors": vectors,
    }, indent=1))


if __name__ == "__main__":
    main()
