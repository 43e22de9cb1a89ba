// G1 against py_ecc 8.0.0 (Tests/Vectors/g1-vectors.json, gen_g1_vectors.py): k·G for 23 scalars (small ones,
// 2^64, r − 1, r − 2, random) through the constant-time ladder, sums and doubles of random points, all compared in
// the standard compressed encoding; decoding refuses a short encoding, a missing compression flag, malformed
// infinities, x = p, an x with no curve point and a curve point outside the subgroup, each with its code. Seeded
// properties check the group law (the complete formulas on equal, opposite and identity inputs) and the ladder
// against double-and-add.
import Foundation
import Pairing
import TestSupport
import Testing

@Suite("BLS12-381 G1")
struct G1Tests {
    func vectors() throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(try loadVector("g1-vectors.json").utf8)) as? [String: Any] ?? [:]
    }

    func point(_ text: Any?) throws -> G1Point { try G1Point(compressed: try hex(text as? String ?? "")) }

    @Test("scalar multiples, sums and doubles match py_ecc in the compressed encoding")
    func arithmetic() throws {
        let object = try vectors()
        let multiples = object["multiples"] as? [[String: String]] ?? []
        #expect(multiples.count == 23)
        for m in multiples {
            let k = try fr(m["k"] ?? "")
            let kG = G1Point.generator.multiplied(by: k)
            #expect(hexString(kG.compressed) == m["point"], "k = \(k)")
            let decoded = try point(m["point"])
            #expect(kG.isOnCurve && kG == decoded)
        }
        let sums = object["sums"] as? [[String: String]] ?? []
        #expect(sums.count == 8)
        for s in sums {
            let p = try point(s["p"]), q = try point(s["q"])
            #expect(hexString((p + q).compressed) == s["sum"])
            #expect(hexString(p.doubled.compressed) == s["double"])
            #expect(hexString((p + p).compressed) == s["double"], "the addition formula is complete: P + P = 2P")
        }
    }

    @Test("decoding refuses what is not a canonical point of G1, with its code")
    func decoding() throws {
        let cases = try vectors()["invalid"] as? [[String: Any]] ?? []
        #expect(cases.count == 8)
        for c in cases {
            let bytes = try hex(c["bytes"] as? String ?? "")
            let note = c["note"] as? String ?? ""
            if let code = c["error"] as? String {
                #expect(throws: PairingError.self, "\(note)") { try G1Point(compressed: bytes) }
                do { _ = try G1Point(compressed: bytes) } catch { #expect(error.code.rawValue == code, "\(note)") }
            } else {
                #expect(try G1Point(compressed: bytes).isIdentity, "\(note)")
            }
        }
    }

    @Test("the group law holds, the ladder agrees with double-and-add, and encodings round-trip (seeded)")
    func properties() throws {
        var random = SeededRandom(seed: testSeed())
        let g = G1Point.generator
        #expect(g.isOnCurve && g.isInSubgroup && !g.isIdentity)
        #expect(g + G1Point.identity == g && G1Point.identity + g == g && (g - g).isIdentity)
        #expect(G1Point.identity.doubled.isIdentity && (G1Point.identity + G1Point.identity).isIdentity)
        #expect(g.multiplied(by: .zero).isIdentity && g.multiplied(by: -Fr.one) == -g)
        for _ in 0..<6 {
            let a = Fr.random(using: &random), b = Fr.random(using: &random)
            let pa = g.multiplied(by: a), pb = g.multiplied(by: b)
            #expect(pa + pb == g.multiplied(by: a + b))
            #expect(pa.multiplied(by: b) == g.multiplied(by: a * b))
            #expect(pa == g.multiplied(byPublic: a.plainLimbs))
            #expect((pa + pb) + g == pa + (pb + g))
            #expect(try G1Point(compressed: pa.compressed) == pa)
            #expect(try G1Point(compressed: (-pa).compressed) == -pa)
        }
    }
}

func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { byte in String(byte, radix: 16).count == 1 ? "0" + String(byte, radix: 16) : String(byte, radix: 16) }.joined()
}
