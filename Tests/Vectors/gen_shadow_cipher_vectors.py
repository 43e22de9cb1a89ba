#!/usr/bin/env python3
"""Shadow payload encryption vectors (Docs/shadows.md, "Client-side encryption"), from the `cryptography` package's
AES-GCM (an independent implementation: OpenSSL's), not from TwinLedger's code. Small segments keep them short.

    python3 Tests/Vectors/gen_shadow_cipher_vectors.py > Tests/Vectors/shadow-cipher-vectors.json
"""
import hashlib, json, struct
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

LABEL = b"TwinLedger/shadow/v1"

def encrypt(key, shadow, version, plaintext, segment):
    count = max(1, (len(plaintext) + segment - 1) // segment)
    out = b""
    for i in range(count):
        nonce = struct.pack(">Q", i) + b"\x00\x00\x00\x00"
        aad = LABEL + shadow + struct.pack(">QQQ", version, i, count)
        out += nonce + AESGCM(key).encrypt(nonce, plaintext[i * segment:(i + 1) * segment], aad)
    return out

cases = []
for name, size, segment in [("empty", 0, 10), ("one segment", 7, 10), ("exactly two segments", 20, 10),
                            ("two and a half segments", 25, 10), ("one byte segments", 3, 1)]:
    key = hashlib.sha3_256(b"shadow cipher key " + name.encode()).digest()
    shadow = hashlib.sha3_256(b"shadow " + name.encode()).digest()
    plaintext = bytes((i * 37 + 11) & 0xFF for i in range(size))
    cases.append({"name": name, "key": key.hex(), "shadow": shadow.hex(), "version": 3, "segment_bytes": segment,
                  "plaintext": plaintext.hex(), "ciphertext": encrypt(key, shadow, 3, plaintext, segment).hex()})
print(json.dumps({"source": "Tests/Vectors/gen_shadow_cipher_vectors.py (python cryptography AESGCM)", "cases": cases}, indent=2))
