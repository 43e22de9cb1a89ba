// Sliding-window exponentiation (`ExponentPlan`) and batch inversion against the plain algorithms written out here:
// square-and-multiply bit by bit, and one inversion per element. The plans of the fixed exponents (p − 2, (p + 1)/4,
// r − 2, |x|, (|x| + 1)/3) pick the widths their comments promise; inverses and roots are also pinned by py_ecc's
// vectors in FpTests and FrTests.
import Foundation
import Pairing
import TestSupport
import Testing

/// x^e by the textbook left-to-right square-and-multiply, independent of `ExponentPlan`.
func squareAndMultiply<F: PairingField>(_ x: F, _ exponent: [UInt64]) -> F {
    var result = F.one
    for limb in exponent.reversed() {
        for bit in stride(from: 63, through: 0, by: -1) {
            result = result * result
            if (limb >> UInt64(bit)) & 1 == 1 { result = result * x }
        }
    }
    return result
}

@Suite("Sliding-window exponentiation and batch inversion")
struct ExponentPlanTests {
    @Test("plans give the plain power for dense, sparse, short and zero exponents (seeded)")
    func powers() throws {
        var random = SeededRandom(seed: testSeed() &+ 11)
        var exponents: [[UInt64]] = [[0], [1], [2], [3], [0xffff_ffff_ffff_ffff], [0, 1], [0xd201_0000_0001_0000],
                                     [0x4600_5555_5555_aaab], [1 << 63, 0], [0x8000_0000_0000_0001, 0x1]]
        for limbs in 1...6 {
            for _ in 0..<6 { exponents.append((0..<limbs).map { _ in random.next() }) }
            // Sparse: a few bits set.
            exponents.append((0..<limbs).map { _ in random.next() & random.next() & random.next() })
        }
        let base = Fr.random(using: &random), fpBase = Fp(0x1234_5678_9abc) * Fp(random.next())
        for exponent in exponents {
            #expect(base.pow(exponent) == squareAndMultiply(base, exponent), "Fr, exponent \(exponent)")
            #expect(fpBase.pow(exponent) == squareAndMultiply(fpBase, exponent), "Fp, exponent \(exponent)")
        }
    }

    @Test("the fixed exponents get the widths that make them cheap")
    func widths() {
        let pMinus2: [UInt64] = [0xb9fe_ffff_ffff_aaa9, 0x1eab_fffe_b153_ffff, 0x6730_d2a0_f6b0_f624,
                                 0x6477_4b84_f385_12bf, 0x4b1b_a7b6_434b_acd7, 0x1a01_11ea_397f_e69a]
        let plain = pMinus2.reduce(0) { $0 + $1.nonzeroBitCount } - 1
        let plan = ExponentPlan(pMinus2)
        #expect(plan.multiplications < 90 && plain > 180, "p − 2: \(plan.multiplications) products against \(plain)")
        // |x| has six bits set: plain square-and-multiply (five products) is already best.
        #expect(ExponentPlan([0xd201_0000_0001_0000]).multiplications == 5)
        // (|x| + 1)/3 alternates its bits: a window saves products.
        #expect(ExponentPlan([0x4600_5555_5555_aaab]).multiplications < 0x4600_5555_5555_aaab.nonzeroBitCount - 1)
        #expect(ExponentPlan([0]).multiplications == 0 && Fp(7).pow([0]) == .one)
    }

    @Test("batch inversion equals one inversion per element; a zero fails the batch")
    func batchInverse() throws {
        var random = SeededRandom(seed: testSeed() &+ 12)
        for count in [1, 2, 3, 8, 33] {
            let values = (0..<count).map { _ in Fp(random.next() | 1) * Fp(random.next() | 1) }
            let inverses = try #require(Fp.batchInverse(values))
            #expect(inverses == values.map { $0.inverse ?? .zero })
            #expect(zip(values, inverses).allSatisfy { $0 * $1 == .one })
            var withZero = values
            withZero.insert(.zero, at: count / 2)
            #expect(Fp.batchInverse(withZero) == nil)
        }
        #expect(Fp.batchInverse([]) == [])
    }
}
