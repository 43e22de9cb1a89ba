// The fast paths against the definitions they replace: Scott's endomorphism membership tests for G1 and G2 agree with
// "r·P is the identity" on points inside the subgroups and on curve points outside them (the SSWU map's outputs before
// the cofactor is cleared, and G plus a point of cofactor order); φ and ψ have the eigenvalues −x² and x on G1 and G2;
// the windowed scalar multiplication, the fixed-base combs for G1, G2 and GT, and the constant-time GT power equal
// plain double-and-add / square-and-multiply, for seeded scalars and the edge scalars 0, 1, r − 1.
import Pairing
import TestSupport
import Testing

@Suite("BLS12-381 subgroup tests and fixed-base tables")
struct SubgroupAndTableTests {
    @Test("phi and psi act as -x^2 and x on G1 and G2")
    func eigenvalues() throws {
        // −x² mod r and x mod r (x = −0xd201000000010000), computed with Python.
        let minusXSquared: [UInt64] = [0xffff_fffe_0000_0001, 0xa778_0001_fffc_b7fc, 0x3339_d808_09a1_d804, 0x73ed_a753_299d_7d48]
        let xModR: [UInt64] = [0x2dfe_fffe_ffff_0001, 0x53bd_a402_fffe_5bfe, 0x3339_d808_09a1_d805, 0x73ed_a753_299d_7d48]
        #expect(G1Point.generator.endomorphism == G1Point.generator.multiplied(byPublic: minusXSquared))
        #expect(G2Point.generator.endomorphism == G2Point.generator.multiplied(byPublic: xModR))
    }

    @Test("the endomorphism membership tests agree with r*P = O, inside and outside the subgroups (seeded)")
    func membership() throws {
        var random = SeededRandom(seed: testSeed())
        var outside1 = 0, outside2 = 0
        for _ in 0..<12 {
            let k = Fr.random(using: &random)
            let p = G1Point.generator.multiplied(by: k), q = G2Point.generator.multiplied(by: k)
            #expect(p.isInSubgroup && p.isInSubgroupByDefinition && q.isInSubgroup && q.isInSubgroupByDefinition)
            // Random curve points: the map to the curve before cofactor clearing.
            let u = try HashToCurve.hashToFp(random.bytes(16), domain: [1], count: 1)[0]
            let u2 = try HashToCurve.hashToFp2(random.bytes(16), domain: [1], count: 1)[0]
            let r1 = G1Point.map(u), r2 = G2Point.map(u2)
            #expect(r1.isOnCurve && r2.isOnCurve)
            #expect(r1.isInSubgroup == r1.isInSubgroupByDefinition && r2.isInSubgroup == r2.isInSubgroupByDefinition)
            if !r1.isInSubgroupByDefinition { outside1 += 1 }
            if !r2.isInSubgroupByDefinition { outside2 += 1 }
            // A point of the subgroup plus one of cofactor order (r·R has order dividing the cofactor).
            let t1 = r1.multiplied(byPublic: Fr.orderLimbs), t2 = r2.multiplied(byPublic: Fr.orderLimbs)
            let mixed1 = p + t1, mixed2 = q + t2
            #expect(mixed1.isInSubgroup == mixed1.isInSubgroupByDefinition && !mixed1.isInSubgroup)
            #expect(mixed2.isInSubgroup == mixed2.isInSubgroupByDefinition && !mixed2.isInSubgroup)
            #expect(!t1.isIdentity && !t1.isInSubgroup && !t2.isIdentity && !t2.isInSubgroup)
        }
        #expect(outside1 == 12 && outside2 == 12)
        #expect(G1Point.identity.isInSubgroup && G2Point.identity.isInSubgroup)
    }

    @Test("windowed multiplication, fixed-base combs and GT powers equal the plain methods (seeded, and 0, 1, r - 1)")
    func tables() throws {
        var random = SeededRandom(seed: testSeed() &+ 1)
        let base1 = G1Point.generator.multiplied(byPublic: [12345]), base2 = G2Point.generator.multiplied(byPublic: [678])
        let gt = Pairing.pairing(base1, base2)
        let table1 = FixedBaseTable(base1), table2 = FixedBaseTable(base2), tableT = GTFixedBase(gt)
        let minusOne = Fr.zero - Fr.one
        let scalars = [Fr.zero, Fr.one, minusOne, Fr(16), Fr(0xffff)] + (0..<6).map { _ in Fr.random(using: &random) }
        for k in scalars {
            let limbs = k.plainLimbs
            let expected1 = base1.multiplied(byPublic: limbs), expected2 = base2.multiplied(byPublic: limbs)
            #expect(base1.multiplied(by: k) == expected1 && table1.multiply(k) == expected1, "\(k)")
            #expect(base2.multiplied(by: k) == expected2 && table2.multiply(k) == expected2, "\(k)")
            let expectedT = gt.pow(limbs)
            #expect(gt.power(k) == expectedT && tableT.power(k) == expectedT && gt.cyclotomicPow(limbs) == expectedT, "\(k)")
        }
        #expect(table1.multiply(minusOne) == -base1)
    }
}
