#!/usr/bin/env python3
"""Generates encoding-golden.json from an independent Python implementation of Docs/encoding.md.

The Swift tests check that TwinLedger's encoder produces exactly these bytes, that its decoder accepts them and
round-trips, and that it rejects every invalid case with the stated error code. Run from the repository root:
    python3 Tests/Vectors/gen_encoding_vectors.py > Tests/Vectors/encoding-golden.json
"""
import json


def uvarint(n):
    assert 0 <= n < 2**64
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def zigzag(n):
    assert -2**63 <= n < 2**63
    return uvarint((n << 1) ^ (n >> 63) if n >= 0 else ((n << 1) ^ -1) & (2**64 - 1))


def bstr(b):
    return uvarint(len(b)) + b


def tstr(s):
    return bstr(s.encode("utf-8"))


def opt(v, enc):
    return b"\x00" if v is None else b"\x01" + enc(v)


def lst(items, enc):
    return uvarint(len(items)) + b"".join(enc(i) for i in items)


def mp(d, kenc, venc):
    entries = sorted(((kenc(k), venc(v)) for k, v in d.items()), key=lambda e: e[0])
    return uvarint(len(entries)) + b"".join(k + v for k, v in entries)


def action(a):
    kind = a["kind"]
    if kind == "read":
        return uvarint(0)
    if kind == "write":
        return uvarint(1) + uvarint(int(a["limit"]))
    if kind == "share":
        return uvarint(2) + tstr(a["with"])
    raise ValueError(kind)


def record(r):
    return (
        b"\x01"  # format version
        + uvarint(int(r["id"]))
        + zigzag(int(r["delta"]))
        + (b"\x01" if r["active"] else b"\x00")
        + tstr(r["label"])
        + bstr(bytes.fromhex(r["payload"]))
        + bytes.fromhex(r["digest"])
        + opt(r["note"], tstr)
        + lst(r["tags"], tstr)
        + mp(r["counts"], tstr, lambda v: uvarint(int(v)))
        + action(r["action"])
    )


def main():
    valid = []


    def add(name, typ, value, data):
        valid.append({"name": name, "type": typ, "value": value, "hex": data.hex()})


    for n in [0, 1, 127, 128, 255, 300, 16383, 16384, 2**32 - 1, 2**32, 2**63, 2**64 - 1]:
        add(f"uint {n}", "uint", str(n), uvarint(n))
    for n in [0, -1, 1, -2, 63, -64, 64, 2**31, -(2**63), 2**63 - 1]:
        add(f"int {n}", "int", str(n), zigzag(n))
    add("bool false", "bool", False, b"\x00")
    add("bool true", "bool", True, b"\x01")
    for s in ["", "a", "consent", "Zürich ✓", "病歷", "🩺 emoji"]:
        add(f"string {s!r}", "string", s, tstr(s))
    for b in ["", "00", "deadbeef", "ff" * 200]:
        add(f"bytes {len(b)//2}", "bytes", b, bstr(bytes.fromhex(b)))
    add("optional absent", "optional_uint", None, opt(None, uvarint))
    add("optional 0", "optional_uint", "0", opt(0, uvarint))
    add("optional 300", "optional_uint", "300", opt(300, uvarint))
    add("list empty", "list_uint", [], lst([], uvarint))
    add("list 3", "list_uint", ["1", "128", "0"], lst([1, 128, 0], uvarint))
    add("map empty", "map_string_uint", {}, mp({}, tstr, uvarint))
    m = {"b": "2", "a": "1", "ab": "3", "": "0"}
    add("map sorted by encoded key", "map_string_uint", m, mp({k: int(v) for k, v in m.items()}, tstr, uvarint))

    records = [
        {
            "id": "1", "delta": "-5", "active": True, "label": "neuro.mri", "payload": "0102",
            "digest": "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a",
            "note": None, "tags": ["treatment"], "counts": {"read": "3", "write": "1"},
            "action": {"kind": "read"},
        },
        {
            "id": "18446744073709551615", "delta": "9223372036854775807", "active": False, "label": "",
            "payload": "", "digest": "00" * 32, "note": "break-glass", "tags": [], "counts": {},
            "action": {"kind": "write", "limit": "1048576"},
        },
        {
            "id": "42", "delta": "0", "active": True, "label": "caregiver ✓", "payload": "ff" * 33,
            "digest": "11" * 32, "note": "", "tags": ["a", "b", "a"], "counts": {"z": "0", "y": "128"},
            "action": {"kind": "share", "with": "HOSP_A.cardiologist"},
        },
    ]
    for i, r in enumerate(records):
        add(f"record {i}", "record", r, record(r))

    r0 = record(records[0])
    invalid = [
        ("uint truncated", "uint", "80", "truncated"),
        ("uint empty", "uint", "", "truncated"),
        ("uint non-minimal 0", "uint", "8000", "non_minimal_integer"),
        ("uint non-minimal 1", "uint", "8180808000", "non_minimal_integer"),
        ("uint over 64 bits", "uint", "ffffffffffffffffff02", "integer_overflow"),
        ("uint 11 bytes", "uint", "ffffffffffffffffffff01", "integer_overflow"),
        ("uint trailing", "uint", "0000", "trailing_bytes"),
        ("uint32 2^32", "uint32", uvarint(2**32).hex(), "integer_overflow"),
        ("bool 2", "bool", "02", "invalid_bool"),
        ("bool empty", "bool", "", "truncated"),
        ("string bad utf8", "string", "02c328", "invalid_utf8"),
        ("string overlong utf8", "string", "02c0af", "invalid_utf8"),
        ("string surrogate", "string", "03eda080", "invalid_utf8"),
        ("string truncated", "string", "05616263", "truncated"),
        ("string over limit", "string", uvarint(2**20 + 1).hex(), "length_over_limit"),
        ("string length non-minimal", "string", "810061", "non_minimal_integer"),
        ("bytes over limit", "bytes", uvarint(2**40).hex(), "length_over_limit"),
        ("optional marker 2", "optional_uint", "02", "invalid_optional"),
        ("optional truncated", "optional_uint", "01", "truncated"),
        ("list count over limit", "list_uint", uvarint(2**16 + 1).hex(), "count_over_limit"),
        ("list truncated", "list_uint", "0201", "truncated"),
        ("map unsorted", "map_string_uint", "0201620101610 2".replace(" ", ""), "unsorted_map"),
        ("map duplicate key", "map_string_uint", "020161010161 02".replace(" ", ""), "unsorted_map"),
        ("record version 2", "record", "02" + r0[1:].hex(), "unsupported_version"),
        ("record version 0", "record", "00" + r0[1:].hex(), "unsupported_version"),
        ("record trailing byte", "record", r0.hex() + "00", "trailing_bytes"),
        ("record truncated", "record", r0[:-3].hex(), "truncated"),
        ("record unknown union tag", "record", r0[:-1].hex() + "03", "unknown_tag"),
        ("record digest cut", "record", r0[:40].hex(), "truncated"),
    ]

    print(json.dumps({
        "source": "Generated by Tests/Vectors/gen_encoding_vectors.py, an independent Python implementation of "
                  "Docs/encoding.md (format version 1). Default limits: bytes 1 MiB, count 65,536, depth 32.",
        "valid": valid,
        "invalid": [{"name": n, "type": t, "hex": h, "code": c} for n, t, h, c in invalid],
    }, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
