/// F_p⁶ = F_p²[v]/(v³ − ξ), ξ = 1 + u: c0 + c1·v + c2·v².
public struct Fp6: PairingField {
    public var c0: Fp2, c1: Fp2, c2: Fp2

    @inlinable
    public init(_ c0: Fp2, _ c1: Fp2, _ c2: Fp2) { (self.c0, self.c1, self.c2) = (c0, c1, c2) }

    public static let zero = Fp6(.zero, .zero, .zero)
    public static let one = Fp6(.one, .zero, .zero)

    @inlinable
    public static func + (a: Fp6, b: Fp6) -> Fp6 { Fp6(a.c0 + b.c0, a.c1 + b.c1, a.c2 + b.c2) }
    @inlinable
    public static func - (a: Fp6, b: Fp6) -> Fp6 { Fp6(a.c0 - b.c0, a.c1 - b.c1, a.c2 - b.c2) }

    /// Karatsuba over the three coefficients: six F_p² products.
    @inlinable
    public static func * (a: Fp6, b: Fp6) -> Fp6 {
        let t0 = a.c0 * b.c0, t1 = a.c1 * b.c1, t2 = a.c2 * b.c2
        let c0 = ((a.c1 + a.c2) * (b.c1 + b.c2) - t1 - t2).timesNonResidue + t0
        let c1 = (a.c0 + a.c1) * (b.c0 + b.c1) - t0 - t1 + t2.timesNonResidue
        let c2 = (a.c0 + a.c2) * (b.c0 + b.c2) - t0 - t2 + t1
        return Fp6(c0, c1, c2)
    }

    @inlinable
    public var squared: Fp6 { self * self }

    /// Times v: (c0, c1, c2)·v = (ξ·c2, c0, c1).
    @inlinable
    public var timesV: Fp6 { Fp6(c2.timesNonResidue, c0, c1) }

    public var inverse: Fp6? {
        let t0 = c0.squared - (c1 * c2).timesNonResidue
        let t1 = c2.squared.timesNonResidue - c0 * c1
        let t2 = c1.squared - c0 * c2
        guard let norm = (c0 * t0 + (c2 * t1 + c1 * t2).timesNonResidue).inverse else { return nil }
        return Fp6(t0 * norm, t1 * norm, t2 * norm)
    }

    @inlinable
    public static func select(_ mask: UInt64, _ a: Fp6, _ b: Fp6) -> Fp6 {
        Fp6(Fp2.select(mask, a.c0, b.c0), Fp2.select(mask, a.c1, b.c1), Fp2.select(mask, a.c2, b.c2))
    }
}

/// F_p¹² = F_p⁶[w]/(w² − v): c0 + c1·w, where the pairing takes its values (GT is its order-r subgroup).
public struct Fp12: PairingField {
    public var c0: Fp6, c1: Fp6

    @inlinable
    public init(_ c0: Fp6, _ c1: Fp6) { (self.c0, self.c1) = (c0, c1) }

    public static let zero = Fp12(.zero, .zero)
    public static let one = Fp12(.one, .zero)

    @inlinable
    public static func + (a: Fp12, b: Fp12) -> Fp12 { Fp12(a.c0 + b.c0, a.c1 + b.c1) }
    @inlinable
    public static func - (a: Fp12, b: Fp12) -> Fp12 { Fp12(a.c0 - b.c0, a.c1 - b.c1) }

    /// Karatsuba: three F_p⁶ products.
    @inlinable
    public static func * (a: Fp12, b: Fp12) -> Fp12 {
        let t0 = a.c0 * b.c0, t1 = a.c1 * b.c1
        return Fp12(t0 + t1.timesV, (a.c0 + a.c1) * (b.c0 + b.c1) - t0 - t1)
    }

    /// Two F_p⁶ products: c0 = (a0 + a1)(a0 + v·a1) − t − v·t, c1 = 2t, with t = a0·a1.
    @inlinable
    public var squared: Fp12 {
        let t = c0 * c1
        return Fp12((c0 + c1) * (c0 + c1.timesV) - t - t.timesV, t + t)
    }

    /// c0 − c1·w: the inverse of an element of norm 1 (every element of GT), and x ↦ x^(p⁶).
    @inlinable
    public var conjugate: Fp12 { Fp12(c0, -c1) }

    public var inverse: Fp12? {
        guard let norm = (c0.squared - c1.squared.timesV).inverse else { return nil }
        return Fp12(c0 * norm, -(c1 * norm))
    }

    @inlinable
    public static func select(_ mask: UInt64, _ a: Fp12, _ b: Fp12) -> Fp12 {
        Fp12(Fp6.select(mask, a.c0, b.c0), Fp6.select(mask, a.c1, b.c1))
    }
}

extension Fp12 {
    /// γₖ = ξ^(k(p − 1)/6) for k = 0…5: the p-power Frobenius sends w^k to γₖ·w^k (w⁶ = ξ).
    static let frobeniusCoefficients: [Fp2] = {
        // (p − 1)/6.
        let exponent: [UInt64] = [0x49aa_7fff_ffff_f1c7, 0x051c_aaaa_72e3_5555, 0xe688_231a_d3c8_2906,
                                  0xe613_e1eb_7deb_831f, 0x0c84_9bf3_b5e1_f223, 0x0455_82fc_5eea_a66f]
        let gamma = Fp2(.one, .one).pow(exponent)
        var powers = [Fp2.one]
        for _ in 1..<6 { powers.append(powers[powers.count - 1] * gamma) }
        return powers
    }()

    /// x ↦ x^p: every F_p² coefficient conjugated, the coefficient of w^k (k = 2j + i for c_i.c_j) times γₖ.
    public var frobenius: Fp12 {
        let g = Fp12.frobeniusCoefficients
        return Fp12(Fp6(c0.c0.conjugate, c0.c1.conjugate * g[2], c0.c2.conjugate * g[4]),
                    Fp6(c1.c0.conjugate * g[1], c1.c1.conjugate * g[3], c1.c2.conjugate * g[5]))
    }
}
