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

extension Fp6 {
    /// self·(a + b·v): five F_p² products.
    func multiplied(by a: Fp2, _ b: Fp2) -> Fp6 {
        let aa = c0 * a, bb = c1 * b
        return Fp6(aa + (c2 * b).timesNonResidue, (c0 + c1) * (a + b) - aa - bb, bb + c2 * a)
    }

    /// self·(c·v): three F_p² products.
    func multiplied(byV c: Fp2) -> Fp6 { Fp6((c2 * c).timesNonResidue, c0 * c, c1 * c) }
}

extension Fp12 {
    /// self times a Miller-loop line c00 + c01·v + c11·v·w (the three other coefficients zero): 13 F_p² products
    /// instead of a full product's 18. With the line l0 + l1·w, l0 = c00 + c01·v and l1 = c11·v, Karatsuba gives
    /// (f0·l0 + f1·l1·v) + ((f0 + f1)(l0 + l1) − f0·l0 − f1·l1)·w.
    func multiplied(byLine line: Pairing.Line) -> Fp12 {
        let t0 = c0.multiplied(by: line.c00, line.c01), t1 = c1.multiplied(byV: line.c11)
        return Fp12(t0 + t1.timesV, (c0 + c1).multiplied(by: line.c00, line.c01 + line.c11) - t0 - t1)
    }

    /// The square of an element of the cyclotomic subgroup (norm 1 to F_p⁶ and to F_p⁴, as everything after the final
    /// exponentiation's easy part is), by Granger and Scott, "Faster squaring in the cyclotomic subgroup of sixth
    /// degree extensions" (PKC 2010), section 3.1: F_p¹² as F_p⁴³ with F_p⁴ = F_p²[w³], so three F_p⁴ squarings (nine
    /// F_p² squarings) instead of a general square's twelve F_p² products. Wrong for other elements: the test checks
    /// it against `squared` on cyclotomic elements only.
    public var cyclotomicSquared: Fp12 {
        // f = A + B·w + C·w² over F_p⁴ = F_p²[s], s = w³: A = c0.c0 + c1.c1·s, B = c1.c0 + c0.c2·s,
        // C = c0.c1 + c1.c2·s. Granger–Scott: f² = (3A² − 2Ā) + (3s·C² + 2B̄)·w + (3B² − 2C̄)·w², the bar being
        // s ↦ −s.
        let (a0, a1) = Fp12.fp4Square(c0.c0, c1.c1)
        let (b0, b1) = Fp12.fp4Square(c1.c0, c0.c2)
        let (d0, d1) = Fp12.fp4Square(c0.c1, c1.c2)
        func threeMinusTwo(_ t: Fp2, _ z: Fp2) -> Fp2 { (t - z).doubled + t }
        func threePlusTwo(_ t: Fp2, _ z: Fp2) -> Fp2 { (t + z).doubled + t }
        return Fp12(
            Fp6(threeMinusTwo(a0, c0.c0), threeMinusTwo(b0, c0.c1), threeMinusTwo(d0, c0.c2)),
            Fp6(threePlusTwo(d1.timesNonResidue, c1.c0), threePlusTwo(a1, c1.c1), threePlusTwo(b1, c1.c2)))
    }

    /// (a + b·s)² in F_p⁴ = F_p²[s]/(s² − ξ): (a² + ξ·b², (a + b)² − a² − b²), with lazy reduction: the three F_p²
    /// squares stay wide (each (x0 + x1)(x0 − x1) and 2·x0·x1 of reduced x, so below p² and 2p²), and each of the four
    /// output coefficients is reduced once, after adding 2p² or 4p² to keep its value non-negative (at most 6p²,
    /// under the p·2^384 Montgomery reduction accepts).
    static func fp4Square(_ a: Fp2, _ b: Fp2) -> (Fp2, Fp2) {
        let (a0, a1) = wideSquare(a), (b0, b1) = wideSquare(b), (s0, s1) = wideSquare(a + b)
        let c0 = Fp2(Fp.reduce(a0 + b0 + FpWide.twoPSquared - b1), Fp.reduce(a1 + b0 + b1))
        let c1 = Fp2(Fp.reduce(s0 + FpWide.twoPSquared - a0 - b0), Fp.reduce(s1 + FpWide.fourPSquared - a1 - b1))
        return (c0, c1)
    }

    /// x² = (x0 + x1)(x0 − x1) + 2·x0·x1·u, both parts unreduced.
    @inline(__always)
    static func wideSquare(_ x: Fp2) -> (FpWide, FpWide) {
        (Fp.wideProduct(x.c0 + x.c1, x.c0 - x.c1), Fp.wideProduct(x.c0, x.c1).doubled)
    }

    /// self^exponent for self in the cyclotomic subgroup (public exponent, least significant limb first), by a
    /// sliding window over cyclotomic squarings.
    public func cyclotomicPow(_ exponent: [UInt64]) -> Fp12 { cyclotomicPow(ExponentPlan(exponent)) }

    /// self^exponent for self in the cyclotomic subgroup, by a plan made once for a fixed exponent.
    public func cyclotomicPow(_ plan: ExponentPlan) -> Fp12 { plan.power(of: self) { $0.cyclotomicSquared } }
}
