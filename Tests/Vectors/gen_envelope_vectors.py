#!/usr/bin/env python3
"""Generates envelope-vectors.json: key envelopes built by an independent implementation of Docs/crypto.md
("Key envelopes") on the `cryptography` package (OpenSSL's secp256k1 ECDH, which yields the shared point's x
coordinate) and Python's hashlib/hmac. The Swift tests must open each envelope with the recipient's secret and,
given the same ephemeral secret, produce the same bytes.
    pip install cryptography==48.0.0
    python3 Tests/Vectors/gen_envelope_vectors.py > Tests/Vectors/envelope-vectors.json
"""
import hashlib, hmac, json
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

P = 2**256 - 2**32 - 977
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def xonly(secret):
    nums = ec.derive_private_key(secret, ec.SECP256K1()).public_key().public_numbers()
    return nums.x.to_bytes(32, "big"), nums.y % 2


def hkdf(ikm, salt, info, length):
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    out, t, i = b"", b"", 1
    while len(out) < length:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:length]


def envelope(recipient_secret, ephemeral_secret, data_key):
    rx, _ = xonly(recipient_secret)
    ex, _ = xonly(ephemeral_secret)
    peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), b"\x02" + rx)
    shared = ec.derive_private_key(ephemeral_secret, ec.SECP256K1()).exchange(ec.ECDH(), peer)
    key_id = hashlib.sha3_256(rx).digest()
    okm = hkdf(shared, ex + rx, b"TwinLedger/envelope/v1", 44)
    header = b"\x01" + key_id
    sealed = AESGCM(okm[:32]).encrypt(okm[32:], data_key, header)
    return header + ex + sealed


vectors = []
seed = hashlib.sha3_256(b"TwinLedger envelope vectors").digest()
parities = set()
i = 0
while len(vectors) < 8:
    d = int.from_bytes(hashlib.sha3_256(seed + b"r" + bytes([i])).digest(), "big") % N
    e = int.from_bytes(hashlib.sha3_256(seed + b"e" + bytes([i])).digest(), "big") % N
    k = hashlib.sha3_256(seed + b"k" + bytes([i])).digest()
    i += 1
    _, rp = xonly(d)
    _, ep = xonly(e)
    vectors.append({
        "recipient_secret": d.to_bytes(32, "big").hex(),
        "recipient_y_odd": bool(rp),
        "ephemeral_secret": e.to_bytes(32, "big").hex(),
        "ephemeral_y_odd": bool(ep),
        "data_key": k.hex(),
        "envelope": envelope(d, e, k).hex(),
    })
    parities.add((rp, ep))
assert len(parities) >= 3, "want recipients and ephemerals of both y parities"
print(json.dumps({
    "source": "Tests/Vectors/gen_envelope_vectors.py (cryptography package + hashlib), Docs/crypto.md envelope v1",
    "vectors": vectors,
}, indent=1))
