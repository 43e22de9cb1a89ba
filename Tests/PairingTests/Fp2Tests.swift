// F_p² against an independent implementation: sums, differences, Karatsuba products, squares, inverses, squareness
// and the product by ξ = 1 + u on 64 cases (edges and 40 seeded random pairs) match py_ecc 8.0.0's bls12_381_FQ2
// (Tests/Vectors/fp2-vectors.json, gen_fp2_vectors.py). Square roots exist exactly for squares and square back;
// conjugation is the Frobenius map; the encoding (c1 ‖ c0) round-trips and refuses what is not canonical.
import Foundation
import Pairing
import TestSupport
import Testing

func fp2(_ pair: [String]) throws -> Fp2 {
    guard pair.count == 2 else { throw TestSupportError.badHex("\(pair)") }
    return Fp2(try fp(pair[0]), try fp(pair[1]))
}

@Suite("BLS12-381 quadratic extension")
struct Fp2Tests {
    @Test("every operation matches py_ecc on edge and random cases")
    func vectors() throws {
        let object = try JSONSerialization.jsonObject(with: Data(try loadVector("fp2-vectors.json").utf8)) as? [String: Any] ?? [:]
        let cases = object["cases"] as? [[String: Any]] ?? []
        #expect(cases.count == 64)
        func field(_ c: [String: Any], _ name: String) throws -> Fp2 { try fp2(c[name] as? [String] ?? []) }
        for c in cases {
            let a = try field(c, "a"), b = try field(c, "b")
            #expect(a + b == (try field(c, "sum")))
            #expect(a - b == (try field(c, "difference")))
            #expect(a * b == (try field(c, "product")), "\(a) * \(b)")
            #expect(a.squared == (try field(c, "square")))
            #expect(a.timesNonResidue == (try field(c, "times_xi")))
            if c["inverse"] != nil { #expect(a.inverse == (try field(c, "inverse"))) } else { #expect(a.inverse == nil) }
            let square = c["is_square"] as? Bool ?? false
            #expect(a.isSquare == square, "is \(a) a square")
            if square {
                let root = try #require(a.squareRoot, "a square has a root")
                #expect(root.squared == a)
            } else {
                #expect(a.squareRoot == nil)
            }
        }
    }

    @Test("roots of squares, conjugation as Frobenius, the encoding, on seeded random elements")
    func properties() throws {
        var random = SeededRandom(seed: testSeed())
        func element() -> Fp2 {
            Fp2((try? Fp(bytes: [0] + random.bytes(47))) ?? .zero, (try? Fp(bytes: [0] + random.bytes(47))) ?? .zero)
        }
        // p as limbs: x^p is the conjugate.
        let p: [UInt64] = [0xb9fe_ffff_ffff_aaab, 0x1eab_fffe_b153_ffff, 0x6730_d2a0_f6b0_f624,
                           0x6477_4b84_f385_12bf, 0x4b1b_a7b6_434b_acd7, 0x1a01_11ea_397f_e69a]
        for index in 0..<60 {
            let a = element(), b = element()
            #expect(a * (a + b) == a.squared + a * b)
            if let inverse = a.inverse { #expect(a * inverse == .one) }
            let root = try #require(a.squared.squareRoot)
            #expect(root == a || root == -a)
            #expect(try Fp2(bytes: a.bytes) == a)
            if index < 5 { #expect(a.pow(p) == a.conjugate) }
            if !a.isZero { #expect(a.isLexicographicallyLargest != (-a).isLexicographicallyLargest) }
        }
        #expect(Fp2.u.squared == -Fp2.one)
        // The product's lazy reduction against the definition by F_p operations, at the extremes of its bounds
        // (coefficients p − 1, where the unreduced sums and products are largest) and on random elements.
        let top = -Fp.one, small = Fp(3)
        let extremes = [Fp2(top, top), Fp2(top, .zero), Fp2(.zero, top), Fp2(top, small), Fp2(small, top), Fp2(.one, .one), .zero]
        var cases = extremes.flatMap { a in extremes.map { (a, $0) } }
        for _ in 0..<200 { cases.append((element(), element())) }
        for (a, b) in cases {
            #expect(a * b == Fp2(a.c0 * b.c0 - a.c1 * b.c1, a.c0 * b.c1 + a.c1 * b.c0), "\(a) * \(b)")
            #expect(a.squared == a * a)
        }
        #expect(throws: PairingError.self) { try Fp2(bytes: [UInt8](repeating: 0xff, count: 96)) }
        #expect(throws: PairingError.self) { try Fp2(bytes: [UInt8](repeating: 0, count: 95)) }
    }
}
