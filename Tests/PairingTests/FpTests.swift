// BLS12-381's base field against an independent implementation: every operation on 95 cases (edges such as 0, 1,
// p − 1, (p ± 1)/2, 2^380, and 60 seeded random pairs) matches py_ecc 8.0.0's bls12_381_FQ
// (Tests/Vectors/fp-vectors.json, gen_fp_vectors.py); encodings round-trip, and non-canonical or mis-sized bytes are
// refused. Seeded algebraic properties (ring laws, inverses, square roots, Montgomery round trips) cover more inputs.
import Foundation
import Pairing
import TestSupport
import Testing

struct FpCase: Sendable {
    var a: String, b: String, sum: String, difference: String, product: String, negation: String, square: String
    var inverse: String?
    var isSquare: Bool
    var rootOfSquare: String
}

struct FpVectors: Sendable {
    var modulus: String
    var cases: [FpCase]
    var nonCanonical: [String]

    static func load() throws -> FpVectors {
        let object = try JSONSerialization.jsonObject(with: Data(try loadVector("fp-vectors.json").utf8)) as? [String: Any] ?? [:]
        let cases = (object["cases"] as? [[String: Any]] ?? []).map { c in
            FpCase(a: c["a"] as? String ?? "", b: c["b"] as? String ?? "", sum: c["sum"] as? String ?? "",
                   difference: c["difference"] as? String ?? "", product: c["product"] as? String ?? "",
                   negation: c["negation"] as? String ?? "", square: c["square"] as? String ?? "",
                   inverse: c["inverse"] as? String, isSquare: c["is_square"] as? Bool ?? false,
                   rootOfSquare: c["root_of_square"] as? String ?? "")
        }
        return FpVectors(modulus: object["modulus"] as? String ?? "", cases: cases,
                         nonCanonical: object["non_canonical"] as? [String] ?? [])
    }
}

func fp(_ text: String) throws -> Fp { try Fp(bytes: try hex(text)) }

@Suite("BLS12-381 base field")
struct FpTests {
    @Test("every operation matches py_ecc on edge and random cases")
    func vectors() throws {
        let vectors = try FpVectors.load()
        #expect(vectors.cases.count == 95)
        for c in vectors.cases {
            let a = try fp(c.a), b = try fp(c.b)
            #expect((a + b).description == c.sum, "\(c.a) + \(c.b)")
            #expect((a - b).description == c.difference, "\(c.a) - \(c.b)")
            #expect((a * b).description == c.product, "\(c.a) * \(c.b)")
            #expect((-a).description == c.negation)
            #expect(a.squared.description == c.square)
            #expect(a.inverse?.description == c.inverse, "1 / \(c.a)")
            #expect(a.isSquare == c.isSquare, "is \(c.a) a square")
            #expect(a.squared.squareRoot?.description == c.rootOfSquare, "sqrt(\(c.a)^2)")
            #expect(a.bytes == (try hex(c.a)), "round trip")
        }
    }

    @Test("mis-sized and non-canonical encodings are refused")
    func encodings() throws {
        let vectors = try FpVectors.load()
        #expect(vectors.nonCanonical.count == 3)
        for text in vectors.nonCanonical {
            #expect(throws: PairingError.self) { try fp(text) }
        }
        for count in [0, 47, 49, 96] {
            #expect { try Fp(bytes: [UInt8](repeating: 0, count: count)) } throws: {
                ($0 as? PairingError)?.code == .invalidEncoding
            }
        }
        #expect(try fp(vectors.modulus.replacingOccurrences(of: "aaab", with: "aaaa")) == -Fp.one)
    }

    @Test("ring laws, inverses and roots hold on seeded random elements")
    func properties() throws {
        var random = SeededRandom(seed: testSeed())
        func element() -> Fp {
            // A uniform-enough element: 47 random bytes are always below p.
            (try? Fp(bytes: [0] + random.bytes(47))) ?? .zero
        }
        for _ in 0..<200 {
            let a = element(), b = element(), c = element()
            #expect(a * (b + c) == a * b + a * c)
            #expect((a * b) * c == a * (b * c))
            #expect(a + b == b + a && a * b == b * a)
            #expect(a - a == .zero && a + (-a) == .zero && a * .one == a)
            #expect(a.doubled == a + a)
            if let inverse = a.inverse { #expect(a * inverse == .one) }
            #expect(try Fp(bytes: a.bytes) == a)
            let root = try #require(a.squared.squareRoot)
            #expect(root == a || root == -a)
            // Exactly one of a and −a is "lexicographically largest" (for a ≠ 0).
            if !a.isZero { #expect(a.isLexicographicallyLargest != (-a).isLexicographicallyLargest) }
            // A non-square has no root; p ≡ 3 (mod 4), so −1 is not a square.
            #expect((-(a.squared)).squareRoot == nil || a.isZero)
        }
        #expect(Fp(7) == Fp(3) + Fp(4) && Fp(12) == Fp(3) * Fp(4))
        #expect(Fp.zero.inverse == nil && !(-Fp.one).isSquare && Fp.zero.isSquare)
    }
}
