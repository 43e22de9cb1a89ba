// G2 against py_ecc 8.0.0 (Tests/Vectors/g2-vectors.json, gen_g2_vectors.py): k·G2 for 14 scalars through the
// ladder, sums and doubles of random points, compared in the standard 96-byte compressed encoding (x.c1 with the
// flags, then x.c0); decoding refuses a short encoding, a missing flag, a malformed infinity, x.c1 = p, an x with no
// point and a curve point outside the subgroup, each with its code; seeded group-law properties over F_p².
import Foundation
import Pairing
import TestSupport
import Testing

@Suite("BLS12-381 G2")
struct G2Tests {
    func vectors() throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(try loadVector("g2-vectors.json").utf8)) as? [String: Any] ?? [:]
    }

    func point(_ text: Any?) throws -> G2Point { try G2Point(compressed: try hex(text as? String ?? "")) }

    @Test("scalar multiples, sums and doubles match py_ecc in the compressed encoding")
    func arithmetic() throws {
        let object = try vectors()
        let multiples = object["multiples"] as? [[String: String]] ?? []
        #expect(multiples.count == 14)
        for m in multiples {
            let kG = G2Point.generator.multiplied(by: try fr(m["k"] ?? ""))
            #expect(hexString(kG.compressed) == m["point"])
            let decoded = try point(m["point"])
            #expect(kG.isOnCurve && kG == decoded)
        }
        let sums = object["sums"] as? [[String: String]] ?? []
        #expect(sums.count == 5)
        for s in sums {
            let p = try point(s["p"]), q = try point(s["q"])
            #expect(hexString((p + q).compressed) == s["sum"])
            #expect(hexString(p.doubled.compressed) == s["double"] && hexString((p + p).compressed) == s["double"])
        }
    }

    @Test("decoding refuses what is not a canonical point of G2, with its code")
    func decoding() throws {
        let cases = try vectors()["invalid"] as? [[String: Any]] ?? []
        #expect(cases.count == 7)
        for c in cases {
            let bytes = try hex(c["bytes"] as? String ?? "")
            let note = c["note"] as? String ?? ""
            if let code = c["error"] as? String {
                do {
                    _ = try G2Point(compressed: bytes)
                    Issue.record("accepted: \(note)")
                } catch {
                    #expect(error.code.rawValue == code, "\(note)")
                }
            } else {
                #expect(try G2Point(compressed: bytes).isIdentity, "\(note)")
            }
        }
    }

    @Test("the group law holds on G2 and encodings round-trip (seeded)")
    func properties() throws {
        var random = SeededRandom(seed: testSeed())
        let g = G2Point.generator
        #expect(g.isOnCurve && g.isInSubgroup && (g - g).isIdentity && g + .identity == g)
        for _ in 0..<3 {
            let a = Fr.random(using: &random), b = Fr.random(using: &random)
            let pa = g.multiplied(by: a), pb = g.multiplied(by: b)
            #expect(pa + pb == g.multiplied(by: a + b))
            #expect(pa.multiplied(by: b) == g.multiplied(by: a * b))
            #expect(try G2Point(compressed: pa.compressed) == pa && (try G2Point(compressed: (-pa).compressed)) == -pa)
        }
    }
}
