// The F_p⁶ and F_p¹² tower against an independent implementation: py_ecc 8.0.0's bls12_381_FQ12 represents F_p¹²
// directly as F_p[w]/(w¹² − 2w⁶ + 2); its products, squares, inverses and sums of 24 seeded random pairs (six of them
// in F_p⁶), mapped to our tower by u = w⁶ − 1 and v = w² (Tests/Vectors/fp12-vectors.json, gen_fp12_vectors.py),
// must equal ours. Seeded properties: the conjugate inverts elements of norm 1, and w² = v.
import Foundation
import Pairing
import TestSupport
import Testing

func fp12(_ coefficients: [String]) throws -> Fp12 {
    guard coefficients.count == 12 else { throw TestSupportError.badHex("\(coefficients.count) coefficients") }
    let f = try coefficients.map { try fp($0) }
    return Fp12(Fp6(Fp2(f[0], f[1]), Fp2(f[2], f[3]), Fp2(f[4], f[5])),
                Fp6(Fp2(f[6], f[7]), Fp2(f[8], f[9]), Fp2(f[10], f[11])))
}

@Suite("BLS12-381 F_p^12 tower")
struct Fp12Tests {
    @Test("products, squares, inverses and sums match py_ecc's F_p^12 through the tower map")
    func vectors() throws {
        let object = try JSONSerialization.jsonObject(with: Data(try loadVector("fp12-vectors.json").utf8)) as? [String: Any] ?? [:]
        let cases = object["cases"] as? [[String: [String]]] ?? []
        #expect(cases.count == 24)
        for (index, c) in cases.enumerated() {
            let a = try fp12(c["a"] ?? []), b = try fp12(c["b"] ?? [])
            #expect(a * b == (try fp12(c["product"] ?? [])), "case \(index)")
            #expect(a.squared == (try fp12(c["square"] ?? [])), "case \(index)")
            #expect(a.inverse == (try fp12(c["inverse"] ?? [])), "case \(index)")
            #expect(a + b == (try fp12(c["sum"] ?? [])), "case \(index)")
            if index < 6 {
                let product = try fp12(c["product"] ?? []), inverse = try fp12(c["inverse"] ?? [])
                #expect(a.c0 * b.c0 == product.c0 && a.c0.inverse == inverse.c0, "F_p^6 case \(index)")
            }
        }
    }

    @Test("w squared is v, and the conjugate inverts elements of norm 1 (seeded)")
    func properties() throws {
        var random = SeededRandom(seed: testSeed())
        func fpElement() -> Fp { (try? Fp(bytes: [0] + random.bytes(47))) ?? .zero }
        func element() -> Fp12 {
            Fp12(Fp6(Fp2(fpElement(), fpElement()), Fp2(fpElement(), fpElement()), Fp2(fpElement(), fpElement())),
                 Fp6(Fp2(fpElement(), fpElement()), Fp2(fpElement(), fpElement()), Fp2(fpElement(), fpElement())))
        }
        let w = Fp12(.zero, .one)
        #expect(w.squared == Fp12(Fp6(.zero, .one, .zero), .zero))
        for _ in 0..<10 {
            let a = element()
            let inverse = try #require(a.inverse)
            #expect(a * inverse == .one)
            // a^(p^6 - 1) = conj(a)/a has norm 1: its inverse is its conjugate.
            let unitary = a.conjugate * inverse
            #expect(unitary * unitary.conjugate == .one)
            #expect(a.squared == a * a)
        }
    }
}
