/// The optimal ate pairing e: G1 × G2 → GT ⊂ F_p¹² of BLS12-381, and the multi-pairing that shares one final
/// exponentiation (Docs/crypto.md, "BLS12-381").
///
/// This first version is written for clarity and is checked against py_ecc; it is not yet fast. The Miller loop runs
/// over |x| = 0xd201000000010000 (the curve's parameter x is negative, so the loop's value is conjugated) in affine
/// coordinates on the twist's image in E(F_p¹²), ψ(x, y) = (x/w², y/w³) (G2's curve is the M-type twist
/// y² = x³ + 4ξ with ξ = w⁶), with the chord-and-tangent line through the
/// running point evaluated at P. The final exponentiation raises to exactly (p¹² − 1)/r through the Frobenius and
/// powers by x (`finalExponentiation`). It is not constant-time (the affine line formulas branch on and invert the
/// running point): ABE decryption pairs a user's secret attribute keys, on the user's own machine; Docs/crypto.md
/// records this as a residual risk.
public enum Pairing {
    /// |x| for BLS12-381's x = −0xd201000000010000.
    static let loopCount: UInt64 = 0xd201_0000_0001_0000

    /// (p⁶ + 1)/r, least significant limb first (2,030 bits).
    static let hardExponent: [UInt64] = [
        0x8739_e1cd_c070_5d6a, 0x09a5_256d_e038_1a16, 0x9cf0_f70a_61c7_91e2, 0x3a09_c449_7903_f76e, 0x2d72_7156_3890_f133,
        0x2247_41b3_6fec_7760, 0x3382_59c2_2a12_bd40, 0x38ee_1cd4_778e_0de7, 0xc3b5_ef4b_188a_20b0, 0x1d61_5d49_e276_4d7b,
        0x8161_01dd_d076_117d, 0xf007_c01e_7ebe_3afc, 0x27d7_bd90_9350_21c3, 0xc3b5_e2f5_57c0_b15f, 0x5e88_6c94_c4f8_2384,
        0xee6a_95db_11e6_3f56, 0x2b82_2f51_4a9c_4f6f, 0x12d6_a874_d21b_73da, 0x1304_275e_f499_dffb, 0x9678_78fe_bcb9_5d1f,
        0x4744_497f_8b2f_2922, 0x85a2_e707_f084_1855, 0x9f0c_5012_6c80_2eec, 0xfb46_e197_bd2f_a489, 0x548c_e080_9bc5_f61a,
        0xcf56_fb15_73be_aa8c, 0xad73_75a3_763b_df7c, 0xe0ec_9031_179b_decc, 0x6579_aea8_3c48_c1da, 0xdbf8_5ae6_64cf_5bb3,
        0x7b6f_235c_55ca_7566, 0x0000_28b3_1487_7503,
    ]

    /// e(P, Q).
    public static func pairing(_ p: G1Point, _ q: G2Point) -> Fp12 {
        finalExponentiation(millerLoop(p, q))
    }

    /// Π e(Pᵢ, Qᵢ) with one Miller loop that shares its squarings among the pairs, and one final exponentiation.
    public static func multiPairing(_ pairs: [(G1Point, G2Point)]) -> Fp12 {
        finalExponentiation(multiMillerLoop(pairs))
    }

    /// The Miller loop's value f_{|x|,Q}(P), conjugated (x < 0); 1 when either point is the identity.
    public static func millerLoop(_ p: G1Point, _ q: G2Point) -> Fp12 { multiMillerLoop([(p, q)]) }

    /// Π f_{|x|,Qᵢ}(Pᵢ), conjugated, in one loop: each step squares the running value once for all pairs, then
    /// multiplies in each pair's line. The running point T stays on the twist in homogeneous projective coordinates
    /// (the complete formulas of `ProjectivePoint`), and each line is evaluated at P straight into its three nonzero
    /// F_p² coefficients (c0.c0, c0.c1, c1.c1 of the tower: Docs/crypto.md, "Miller loop"), scaled by factors in
    /// F_p² and F_p⁴ that the final exponentiation sends to 1. Pairs with an identity contribute 1.
    @inline(never)  // each call is long; inlining it into callers only bloated them (measured slower)
    public static func multiMillerLoop(_ pairs: [(G1Point, G2Point)]) -> Fp12 {
        let live = pairs.filter { !$0.0.isIdentity && !$0.1.isIdentity }
        // Affine coordinates with one inversion for all the Z's (Montgomery's trick): G1's Z, and G2's through its
        // norm, 1/z = z̄/N(z) (nonzero for z ≠ 0: −1 is not a square in F_p).
        var denominators: [Fp] = []
        denominators.reserveCapacity(2 * live.count)
        for (p, q) in live { denominators += [p.z, q.z.norm] }
        guard !live.isEmpty, let inverses = Fp.batchInverse(denominators) else { return .one }
        var prepared: [MillerPair] = []
        prepared.reserveCapacity(live.count)
        for (index, (p, q)) in live.enumerated() {
            let pz = inverses[2 * index], normInverse = inverses[2 * index + 1]
            let qz = Fp2(q.z.c0 * normInverse, -(q.z.c1 * normInverse))
            let (qx, qy) = (q.x * qz, q.y * qz)
            prepared.append(MillerPair(negatedX: -(p.x * pz), y: p.y * pz, qx: qx, qy: qy, t: G2Point(affineX: qx, y: qy)))
        }
        var f = Fp12.one
        let top = 63 - loopCount.leadingZeroBitCount
        for bit in stride(from: top - 1, through: 0, by: -1) {
            if bit != top - 1 { f = f.squared }  // the first square would square 1
            for index in prepared.indices { f = f.multiplied(byLine: prepared[index].doublingStep()) }
            if (loopCount >> UInt64(bit)) & 1 == 1 {
                for index in prepared.indices { f = f.multiplied(byLine: prepared[index].additionStep()) }
            }
        }
        return f.conjugate
    }

    /// One pair's state in the Miller loop: P (its x negated, as the lines use it), Q affine, and T.
    struct MillerPair {
        let negatedX: Fp
        let y: Fp
        let qx: Fp2
        let qy: Fp2
        var t: G2Point

        /// The tangent at T evaluated at P, then T ← 2T. With T = (X : Y : Z), the tangent of ψ(T) through P, times
        /// 2Y·Z·w³ (w³ ∈ F_p⁴), is (Y² − 3b'Z²) + (−3X²·x_P)·v + (2YZ·y_P)·v·w.
        mutating func doublingStep() -> Line {
            // Renes–Costello–Batina's doubling (Algorithm 9, a = 0) with the line's Y², YZ, Z² shared.
            let yy = t.y.squared, yz = t.y * t.z, zz = t.z.squared, xx = t.x.squared, xy = t.x * t.y
            let b3zz = G2Curve.timesB3(zz)
            let line = Line(c00: yy - b3zz, c01: (xx.doubled + xx).times(negatedX), c11: yz.doubled.times(y))
            let yy8 = yy.doubled.doubled.doubled
            let x3 = b3zz * yy8, z3 = yz * yy8
            let t0 = yy - (b3zz.doubled + b3zz)
            let y3 = x3 + t0 * (yy + b3zz)
            t = G2Point(x: (t0 * xy).doubled, y: y3, z: z3)
            return line
        }

        /// The line through T and Q evaluated at P, then T ← T + Q. With θ = Y − y_Q·Z and Λ = X − x_Q·Z, the line
        /// times Λ·w³ is (θ·x_Q − Λ·y_Q) + (−θ·x_P)·v + (Λ·y_P)·v·w. (T = ±Q never occurs: T is a multiple of Q below
        /// |x|, far under its order r.)
        mutating func additionStep() -> Line {
            let theta = t.y - qy * t.z, lambda = t.x - qx * t.z
            let line = Line(c00: theta * qx - lambda * qy, c01: theta.times(negatedX), c11: lambda.times(y))
            t = t + G2Point(affineX: qx, y: qy)
            return line
        }
    }

    /// A line's value: c00 + c01·v + c11·v·w, the other three F_p² coefficients zero.
    struct Line {
        let c00: Fp2
        let c01: Fp2
        let c11: Fp2
    }

    /// An F_p¹² point in affine coordinates (the twist's image, or G1 embedded).
    struct Point12 {
        var x: Fp12
        var y: Fp12
    }

    static func embed(_ value: Fp) -> Fp12 { Fp12(Fp6(Fp2(value, .zero), .zero, .zero), .zero) }
    static func embed(_ value: Fp2) -> Fp12 { Fp12(Fp6(value, .zero, .zero), .zero) }
    /// 1/w² and 1/w³ (w² = v and w³ = v·w in the tower).
    static let wSquaredInverse = Fp12(Fp6(.zero, .one, .zero), .zero).inverse ?? .one
    static let wCubedInverse = Fp12(.zero, Fp6(.zero, .one, .zero)).inverse ?? .one

    /// The line through `a` and `b` (the tangent when they are equal) evaluated at `t`, and a + b.
    static func line(_ a: Point12, _ b: Point12, at t: Point12) -> (value: Fp12, sum: Point12) {
        let slope: Fp12
        if a.x != b.x {
            slope = (b.y - a.y) * ((b.x - a.x).inverse ?? .zero)
        } else {
            // Doubling (the loop never meets a + (−a): Q has order r, far above the loop's multiples).
            let xx = a.x.squared
            slope = (xx + xx + xx) * ((a.y + a.y).inverse ?? .zero)
        }
        let x3 = slope.squared - a.x - b.x
        let y3 = slope * (a.x - x3) - a.y
        return (slope * (t.x - a.x) - (t.y - a.y), Point12(x: x3, y: y3))
    }

    /// The Miller loop by its definition, in affine coordinates on E(F_p¹²) with an inversion per step: kept to check
    /// the fast loop against (their values differ by factors in proper subfields, which the final exponentiation
    /// removes). 1 when either point is the identity.
    public static func millerLoopByDefinition(_ p: G1Point, _ q: G2Point) -> Fp12 {
        guard let (px, py) = p.affine, let (qx, qy) = q.affine else { return .one }
        let target = Point12(x: embed(px), y: embed(py))
        let twisted = Point12(x: embed(qx) * wSquaredInverse, y: embed(qy) * wCubedInverse)
        var r = twisted
        var f = Fp12.one
        let top = 63 - loopCount.leadingZeroBitCount
        for bit in stride(from: top - 1, through: 0, by: -1) {
            let (doubling, doubled) = line(r, r, at: target)
            f = f.squared * doubling
            r = doubled
            if (loopCount >> UInt64(bit)) & 1 == 1 {
                let (addition, sum) = line(r, twisted, at: target)
                f = f * addition
                r = sum
            }
        }
        return f.conjugate
    }

    /// f^((p¹² − 1)/r): into GT. After the easy part every value is in the cyclotomic subgroup, where squaring has the
    /// cheaper form of `cyclotomicSquared`. The easy part f^((p⁶ − 1)(p² + 1)) takes a conjugate, an inversion and a Frobenius;
    /// the hard part (p⁴ − p² + 1)/r is written, exactly, as ((x − 1)²/3)·(x + p)·(x² + p² − 1) + 1 (an identity of
    /// BLS12 curves, checked for this x with Python) and (x − 1)²/3 = ((|x| + 1)/3)·(|x| + 1), so it costs five 64-bit
    /// powers and the
    /// Frobenius, instead of a 2,030-bit power. In the cyclotomic subgroup the easy part lands in, an inverse is a
    /// conjugate, which is how the negative x is applied.
    @inline(never)
    public static func finalExponentiation(_ f: Fp12) -> Fp12 {
        guard let inverse = f.inverse else { return .zero }
        var m = f.conjugate * inverse  // f^(p⁶ − 1)
        m = m.frobenius.frobenius * m  // ^(p² + 1)
        let k = m.cyclotomicPow(hardFactorThirdPlan)  // ^((|x| + 1)/3)
        let a = k.cyclotomicPow(loopCountPlan) * k  // ^((x − 1)²/3) = ^((|x| + 1)/3 · (|x| + 1))
        let b = a.cyclotomicPow(loopCountPlan).conjugate * a.frobenius  // ^(x + p), x < 0
        let c = b.cyclotomicPow(loopCountPlan).cyclotomicPow(loopCountPlan) * b.frobenius.frobenius * b.conjugate  // ^(x² + p² − 1)
        return c * m
    }

    /// (|x| + 1)/3 = −(x − 1)/3 (an integer: 3 divides x − 1), so that (x − 1)²/3 = ((|x| + 1)/3)·(|x| + 1).
    static let hardFactorThird: UInt64 = 0x4600_5555_5555_aaab
    /// Sliding-window plans for the two exponents of the hard part (a 3-bit window for (|x| + 1)/3, whose bits
    /// alternate; none for the sparse |x|).
    static let hardFactorThirdPlan = ExponentPlan([hardFactorThird])
    static let loopCountPlan = ExponentPlan([loopCount])

    /// The plain exponentiation by (p⁶ + 1)/r after the easy part p⁶ − 1: the definition, kept to check the fast one.
    public static func finalExponentiationByDefinition(_ f: Fp12) -> Fp12 {
        guard let inverse = f.inverse else { return .zero }
        return (f.conjugate * inverse).pow(hardExponent)
    }
}
