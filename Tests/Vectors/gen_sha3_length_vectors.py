#!/usr/bin/env python3
"""Generates sha3-length-vectors.json: SHA3-256 (Python's hashlib, OpenSSL's FIPS 202 implementation) of the bytes
(7*i + 3) mod 256 for i < n, for every length n from 0 to 300. This covers both sides of the one-block boundary
(135/136 bytes) where TwinLedger switches from its C one-block SHA3 to swift-crypto, and the two-block boundary.
    python3 Tests/Vectors/gen_sha3_length_vectors.py > Tests/Vectors/sha3-length-vectors.json
"""
import hashlib, json

digests = [hashlib.sha3_256(bytes((7 * i + 3) % 256 for i in range(n))).hexdigest() for n in range(301)]
print(json.dumps({"source": "gen_sha3_length_vectors.py: hashlib.sha3_256 of bytes (7i+3) mod 256, lengths 0-300",
                  "digests": digests}, indent=0))
