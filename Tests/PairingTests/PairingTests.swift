// The pairing against py_ecc 8.0.0 (Tests/Vectors/pairing-vectors.json, gen_pairing_vectors.py): e(a·G1, b·G2) for six
// scalar pairs equals the inverse (the conjugate, in GT) of py_ecc's value mapped to our tower: py_ecc runs the Miller
// loop over |x| without the conjugation that x < 0 calls for, which the usual definition (and zkcrypto's, blst's)
// applies. Against zkcrypto's `bls12_381` as published in neo-project/neo (GtConstants.cs, "pairing(G1 generator, G2
// generator)"): its value is ours cubed (its final exponentiation raises to 3·(p¹² − 1)/r), checked on the two
// coefficients of c0.c0 copied from there. Bilinearity (e(aP, bQ) = e(P, Q)^(ab)), non-degeneracy
// (e(G1, G2) ≠ 1, and it has order r), the identity's pairing, and the multi-pairing's single final
// exponentiation (Π e(Pᵢ, Qᵢ) equals the product of the pairings; e(P, Q)·e(−P, Q) = 1), seeded.
import Foundation
import Pairing
import TestSupport
import Testing

@Suite("BLS12-381 pairing", .serialized)
struct PairingTests {
    @Test("e(a·G1, b·G2) matches py_ecc")
    func vectors() throws {
        let object = try JSONSerialization.jsonObject(with: Data(try loadVector("pairing-vectors.json").utf8)) as? [String: Any] ?? [:]
        let cases = object["cases"] as? [[String: Any]] ?? []
        #expect(cases.count == 6)
        for (index, c) in cases.enumerated() {
            let p = try G1Point(compressed: try hex(c["g1"] as? String ?? ""))
            let q = try G2Point(compressed: try hex(c["g2"] as? String ?? ""))
            #expect(p == G1Point.generator.multiplied(by: try fr(c["a"] as? String ?? "")))
            let expected = try fp12(c["pairing"] as? [String] ?? [])
            let value = Pairing.pairing(p, q)
            #expect(value == expected.conjugate, "case \(index)")
            #expect(value * expected == .one, "case \(index): py_ecc's value is our inverse")
        }
        // zkcrypto's GT generator = e(G1, G2)³; its c0.c0 (Montgomery limbs in GtConstants.cs, turned to plain values).
        let cubed = Pairing.pairing(.generator, .generator).pow([3])
        #expect(cubed.c0.c0.c0 == (try fp("1250ebd871fc0a92a7b2d83168d0d727272d441befa15c503dd8e90ce98db3e7b6d194f60839c508a84305aaca1789b6")))
        #expect(cubed.c0.c0.c1 == (try fp("089a1c5b46e5110b86750ec6a532348868a84045483c92b7af5af689452eafabf1a8943e50439f1d59882a98eaa0170f")))
    }

    @Test("bilinear, non-degenerate, of order r; the multi-pairing shares one final exponentiation (seeded)")
    func properties() throws {
        var random = SeededRandom(seed: testSeed())
        let g1 = G1Point.generator, g2 = G2Point.generator
        let base = Pairing.pairing(g1, g2)
        #expect(base != .one && base.pow(Fr.orderLimbs) == .one)
        #expect(Pairing.pairing(.identity, g2) == .one && Pairing.pairing(g1, .identity) == .one)
        let a = Fr.random(using: &random), b = Fr.random(using: &random)
        let p = g1.multiplied(by: a), q = g2.multiplied(by: b)
        let ab = (a * b).plainLimbs
        #expect(Pairing.pairing(p, q) == base.pow(ab))
        #expect(Pairing.pairing(p, g2) == Pairing.pairing(g1, g2.multiplied(by: a)))
        #expect(Pairing.multiPairing([(p, q), (g1, g2)]) == Pairing.pairing(p, q) * base)
        #expect(Pairing.multiPairing([(p, q), (-p, q)]) == .one)
        // The fast final exponentiation equals the definition's, and the Frobenius is the p-th power.
        let loop = Pairing.millerLoop(p, q)
        #expect(Pairing.finalExponentiation(loop) == Pairing.finalExponentiationByDefinition(loop))
        let fieldModulus: [UInt64] = [0xb9fe_ffff_ffff_aaab, 0x1eab_fffe_b153_ffff, 0x6730_d2a0_f6b0_f624,
                                      0x6477_4b84_f385_12bf, 0x4b1b_a7b6_434b_acd7, 0x1a01_11ea_397f_e69a]
        #expect(loop.frobenius == loop.pow(fieldModulus))
    }

    @Test("the projective Miller loop with sparse lines equals the affine definition after the final exponentiation; multi-pairings of up to 4 pairs, with identities mixed in (seeded)")
    func millerLoop() throws {
        var random = SeededRandom(seed: testSeed() &+ 1)
        var pairs: [(G1Point, G2Point)] = []
        var expected = Fp12.one
        for _ in 0..<4 {
            let p = G1Point.generator.multiplied(by: Fr.random(using: &random))
            let q = G2Point.generator.multiplied(by: Fr.random(using: &random))
            let fast = Pairing.millerLoop(p, q), reference = Pairing.millerLoopByDefinition(p, q)
            #expect(fast != reference, "the two loops scale their lines differently")
            #expect(Pairing.finalExponentiation(fast) == Pairing.finalExponentiation(reference))
            pairs.append((p, q))
            expected = expected * Pairing.finalExponentiation(reference)
        }
        #expect(Pairing.multiPairing(pairs) == expected)
        #expect(Pairing.multiPairing(pairs + [(.identity, .generator), (.generator, .identity)]) == expected)
        #expect(Pairing.multiPairing([]) == .one)
    }

    @Test("the cyclotomic square equals the square on the cyclotomic subgroup, and cyclotomicPow the power (seeded)")
    func cyclotomic() throws {
        var random = SeededRandom(seed: testSeed() &+ 2)
        for _ in 0..<8 {
            let p = G1Point.generator.multiplied(by: Fr.random(using: &random))
            let f = Pairing.millerLoop(p, .generator)
            // The easy part f^((p⁶ − 1)(p² + 1)) lands in the cyclotomic subgroup.
            let inverse = try #require(f.inverse)
            var m = f.conjugate * inverse
            m = m.frobenius.frobenius * m
            #expect(m.cyclotomicSquared == m.squared)
            #expect(m.cyclotomicPow([0xd201_0000_0001_0000, 0x1234]) == m.pow([0xd201_0000_0001_0000, 0x1234]))
            #expect(f.cyclotomicSquared != f.squared, "outside the subgroup the shortcut does not hold")
        }
    }
}
