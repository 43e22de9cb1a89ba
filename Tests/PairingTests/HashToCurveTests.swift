// Hashing to G1 and G2 against RFC 9380's own test vectors (Tests/Vectors/h2c-*.json, copied from the RFC's
// repository): expand_message_xmd with SHA-256 for a 38-byte and a 256-byte tag (the second goes through the oversize
// rule), and for each suite every u, Q0, Q1 (the map before the cofactor is cleared) and the final P. Then vectors
// under our own tags from py_ecc 8.0.0 (h2c-twinledger-vectors.json, gen_h2c_vectors.py), an independent
// implementation, and the refusals of input out of the RFC's bounds.
import Foundation
import Pairing
import TestSupport
import Testing

@Suite("BLS12-381 hash to curve (RFC 9380)")
struct HashToCurveTests {
    func json(_ name: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(try loadVector(name).utf8)) as? [String: Any] ?? [:]
    }

    /// An RFC vector's field element "0x…", or two of them "0x…,0x…" for F_p².
    func fpValue(_ text: String) throws -> Fp { try fp(String(text.dropFirst(2))) }
    func fp2Value(_ text: String) throws -> Fp2 {
        let parts = text.split(separator: ",").map(String.init)
        guard parts.count == 2 else { throw TestSupportError.badHex(text) }
        return Fp2(try fpValue(parts[0]), try fpValue(parts[1]))
    }

    @Test("expand_message_xmd matches the RFC's vectors, short and oversize tags", arguments: [
        "h2c-expand_message_xmd_SHA256_38.json", "h2c-expand_message_xmd_SHA256_256.json",
    ])
    func expand(file: String) throws {
        let object = try json(file)
        let dst = Array((object["DST"] as? String ?? "").utf8)
        let tests = object["tests"] as? [[String: String]] ?? []
        #expect(tests.count == 10)
        for test in tests {
            let length = Int((test["len_in_bytes"] ?? "").dropFirst(2), radix: 16) ?? 0
            let output = try HashToCurve.expandMessageXMD(Array((test["msg"] ?? "").utf8), domain: dst, length: length)
            #expect(hexString(output) == test["uniform_bytes"], "msg \(test["msg"] ?? "") length \(length)")
        }
    }

    @Test("hash to G1 matches every u, Q0, Q1 and P of the RFC's BLS12381G1_XMD:SHA-256_SSWU_RO_ vectors")
    func g1() throws {
        let object = try json("h2c-BLS12381G1_XMD-SHA-256_SSWU_RO_.json")
        let dst = Array((object["dst"] as? String ?? "").utf8)
        let vectors = object["vectors"] as? [[String: Any]] ?? []
        #expect(vectors.count == 5)
        for vector in vectors {
            let message = Array((vector["msg"] as? String ?? "").utf8)
            func affine(_ key: String) throws -> G1Point {
                let point = vector[key] as? [String: String] ?? [:]
                return G1Point(affineX: try fpValue(point["x"] ?? ""), y: try fpValue(point["y"] ?? ""))
            }
            let u = try HashToCurve.hashToFp(message, domain: dst, count: 2)
            let expectedU = try (vector["u"] as? [String] ?? []).map { try fpValue($0) }
            #expect(u == expectedU)
            let q0 = G1Point.map(u[0]), q1 = G1Point.map(u[1])
            let expectedQ0 = try affine("Q0"), expectedQ1 = try affine("Q1")
            #expect(q0 == expectedQ0 && q1 == expectedQ1)
            let p = try G1Point.hash(message, domain: dst)
            let expected = try affine("P")
            #expect(p == expected && p.isOnCurve && p.isInSubgroup)
        }
    }

    @Test("hash to G2 matches every u, Q0, Q1 and P of the RFC's BLS12381G2_XMD:SHA-256_SSWU_RO_ vectors")
    func g2() throws {
        let object = try json("h2c-BLS12381G2_XMD-SHA-256_SSWU_RO_.json")
        let dst = Array((object["dst"] as? String ?? "").utf8)
        let vectors = object["vectors"] as? [[String: Any]] ?? []
        #expect(vectors.count == 5)
        for vector in vectors {
            let message = Array((vector["msg"] as? String ?? "").utf8)
            func affine(_ key: String) throws -> G2Point {
                let point = vector[key] as? [String: String] ?? [:]
                return G2Point(affineX: try fp2Value(point["x"] ?? ""), y: try fp2Value(point["y"] ?? ""))
            }
            let u = try HashToCurve.hashToFp2(message, domain: dst, count: 2)
            let expectedU = try (vector["u"] as? [String] ?? []).map { try fp2Value($0) }
            #expect(u == expectedU)
            let q0 = G2Point.map(u[0]), q1 = G2Point.map(u[1])
            let expectedQ0 = try affine("Q0"), expectedQ1 = try affine("Q1")
            #expect(q0 == expectedQ0 && q1 == expectedQ1)
            let p = try G2Point.hash(message, domain: dst)
            let expected = try affine("P")
            #expect(p == expected && p.isOnCurve && p.isInSubgroup)
        }
    }

    @Test("our tags, including one over 255 bytes, match py_ecc's hash_to_G1 and hash_to_G2")
    func ownTags() throws {
        let cases = try json("h2c-twinledger-vectors.json")["cases"] as? [[String: String]] ?? []
        #expect(cases.count == 12)
        for c in cases {
            let dst = try hex(c["dst"] ?? ""), message = try hex(c["msg"] ?? "")
            let g1 = try G1Point.hash(message, domain: dst), g2 = try G2Point.hash(message, domain: dst)
            #expect(hexString(g1.compressed) == c["g1"], "dst \(dst.count) bytes")
            #expect(hexString(g2.compressed) == c["g2"], "dst \(dst.count) bytes")
        }
    }

    @Test("an empty tag and an output length out of bounds are refused with invalid_hash_input")
    func refusals() {
        func code(_ body: () throws -> Void) -> String? {
            do { try body(); return nil } catch { return (error as? PairingError)?.code.rawValue ?? "\(error)" }
        }
        #expect(code { _ = try HashToCurve.expandMessageXMD([1], domain: [UInt8](), length: 32) } == "invalid_hash_input")
        #expect(code { _ = try HashToCurve.expandMessageXMD([1], domain: [1], length: 8161) } == "invalid_hash_input")
        #expect(code { _ = try HashToCurve.expandMessageXMD([1], domain: [1], length: 0) } == "invalid_hash_input")
        #expect(code { _ = try HashToCurve.expandMessageXMD([1], domain: [1], length: 8160) } == nil)
        #expect(code { _ = try G1Point.hash([1], domain: [UInt8]()) } == "invalid_hash_input")
        #expect(code { _ = try G2Point.hash([1], domain: [UInt8]()) } == "invalid_hash_input")
    }
}
