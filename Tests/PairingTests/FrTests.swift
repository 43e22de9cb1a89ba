// The scalar field Z_r against Python's integers (r and inverses from py_ecc 8.0.0; Tests/Vectors/fr-vectors.json,
// gen_fr_vectors.py): sums, differences, products and inverses on 64 cases, 64-byte wide reductions (0, r, r − 1, r²,
// 2^512 − 1 and random), the encoding's bounds, and seeded field laws including uniform random scalars.
import Foundation
import Pairing
import TestSupport
import Testing

func fr(_ text: String) throws -> Fr { try Fr(bytes: try hex(text)) }

@Suite("BLS12-381 scalar field")
struct FrTests {
    @Test("every operation and wide reduction matches the reference")
    func vectors() throws {
        let object = try JSONSerialization.jsonObject(with: Data(try loadVector("fr-vectors.json").utf8)) as? [String: Any] ?? [:]
        let cases = object["cases"] as? [[String: String]] ?? []
        #expect(cases.count == 64)
        for c in cases {
            let a = try fr(c["a"] ?? ""), b = try fr(c["b"] ?? "")
            #expect((a + b).description == c["sum"])
            #expect((a - b).description == c["difference"])
            #expect((a * b).description == c["product"], "\(a) * \(b)")
            #expect(a.inverse?.description == c["inverse"])
            #expect(a.description == c["a"])
        }
        let wide = object["wide"] as? [[String: String]] ?? []
        #expect(wide.count == 17)
        for w in wide {
            #expect(try Fr(reducingWide: try hex(w["bytes"] ?? "")).description == w["reduced"])
        }
        let order = try hex(object["order"] as? String ?? "")
        #expect(throws: PairingError.self) { try Fr(bytes: order) }
        #expect(throws: PairingError.self) { try Fr(bytes: [UInt8](repeating: 0, count: 31)) }
        #expect(throws: PairingError.self) { try Fr(reducingWide: [UInt8](repeating: 0, count: 63)) }
    }

    @Test("field laws on seeded random scalars")
    func properties() throws {
        var random = SeededRandom(seed: testSeed())
        var seen = Set<Fr>()
        for _ in 0..<200 {
            let a = Fr.random(using: &random), b = Fr.random(using: &random), c = Fr.random(using: &random)
            seen.insert(a)
            #expect(a * (b + c) == a * b + a * c && (a - b) + b == a)
            if let inverse = a.inverse { #expect(a * inverse == .one) }
            #expect(try Fr(bytes: a.bytes) == a)
        }
        #expect(seen.count == 200)
        #expect(Fr(6) * Fr(7) == Fr(42) && Fr.zero.inverse == nil && -Fr.one + Fr.one == .zero)
    }
}
