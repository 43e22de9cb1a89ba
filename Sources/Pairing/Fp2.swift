/// An element c0 + c1·u of F_p² = F_p[u]/(u² + 1), the field G2's coordinates live in.
public struct Fp2: PairingField {
    public var c0: Fp
    public var c1: Fp

    @inlinable
    public init(_ c0: Fp, _ c1: Fp) {
        self.c0 = c0
        self.c1 = c1
    }

    public static let zero = Fp2(.zero, .zero)
    public static let one = Fp2(.one, .zero)
    /// u, a square root of −1.
    public static let u = Fp2(.zero, .one)

    /// Encoded size: 96 bytes, c1 then c0, each 48 bytes big-endian (the order of the standard G2 encoding).
    public static let byteCount = 96

    /// The element encoded as c1 ‖ c0 (each canonical, below p).
    public init(bytes: some Collection<UInt8>) throws(PairingError) {
        guard bytes.count == Fp2.byteCount else {
            throw PairingError(.invalidEncoding, "an F_p² element is 96 bytes, not \(bytes.count)")
        }
        let array = Array(bytes)
        c1 = try Fp(bytes: array[0..<48])
        c0 = try Fp(bytes: array[48..<96])
    }

    /// c1 ‖ c0, 96 bytes.
    public var bytes: [UInt8] { c1.bytes + c0.bytes }

    public var isZero: Bool { c0.isZero && c1.isZero }

    @inlinable @inline(__always)
    public static func + (a: Fp2, b: Fp2) -> Fp2 { Fp2(a.c0 + b.c0, a.c1 + b.c1) }
    @inlinable @inline(__always)
    public static func - (a: Fp2, b: Fp2) -> Fp2 { Fp2(a.c0 - b.c0, a.c1 - b.c1) }
    @inlinable @inline(__always)
    public static prefix func - (a: Fp2) -> Fp2 { Fp2(-a.c0, -a.c1) }

    /// Karatsuba with lazy reduction: three limb products and two Montgomery reductions (`FpWide`).
    @inlinable
    public static func * (a: Fp2, b: Fp2) -> Fp2 { lazyProduct(a, b) }

    /// An F_p² element times an F_p one.
    @inlinable
    public func times(_ scalar: Fp) -> Fp2 { Fp2(c0 * scalar, c1 * scalar) }

    /// (c0 + c1)(c0 − c1) + 2·c0·c1·u: two F_p products.
    @inlinable
    public var squared: Fp2 {
        let product = c0 * c1
        return Fp2((c0 + c1) * (c0 - c1), product.doubled)
    }

    @inlinable
    public static func select(_ mask: UInt64, _ a: Fp2, _ b: Fp2) -> Fp2 {
        Fp2(Fp.select(mask, a.c0, b.c0), Fp.select(mask, a.c1, b.c1))
    }

    /// c0 − c1·u, which is also the Frobenius map x ↦ x^p.
    @inlinable
    public var conjugate: Fp2 { Fp2(c0, -c1) }

    /// Times ξ = 1 + u, the non-residue F_p⁶ is built over.
    @inlinable @inline(__always)
    public var timesNonResidue: Fp2 { Fp2(c0 - c1, c0 + c1) }

    /// c0² + c1², the norm to F_p.
    public var norm: Fp { c0.squared + c1.squared }

    /// 1/self (the conjugate over the norm), or nil for zero.
    public var inverse: Fp2? {
        guard let inverseNorm = norm.inverse else { return nil }
        return Fp2(c0 * inverseNorm, -(c1 * inverseNorm))
    }

    /// (p − 3)/4.
    static let sqrtExponentA: [UInt64] = [0xee7f_bfff_ffff_eaaa, 0x07aa_ffff_ac54_ffff, 0xd9cc_34a8_3dac_3d89,
                                          0xd91d_d2e1_3ce1_44af, 0x92c6_e9ed_90d2_eb35, 0x0680_447a_8e5f_f9a6]

    static let sqrtPlanA = ExponentPlan(sqrtExponentA)

    /// A square root, or nil if self is not a square in F_p². For p ≡ 3 (mod 4), Algorithm 9 of Adj and
    /// Rodríguez-Henríquez, "Square root computation over even extension fields" (2012): a₁ = a^((p−3)/4),
    /// α = a₁²·a, x₀ = a₁·a; if α = −1 the root is u·x₀, else (1 + α)^((p−1)/2)·x₀; the result is checked.
    public var squareRoot: Fp2? {
        if isZero { return .zero }
        let a1 = pow(Fp2.sqrtPlanA)
        let alpha = a1.squared * self
        let x0 = a1 * self
        let candidate: Fp2
        if alpha == -Fp2.one {
            candidate = Fp2(-x0.c1, x0.c0)
        } else {
            candidate = (Fp2.one + alpha).pow(Fp.legendrePlan) * x0
        }
        return candidate.squared == self ? candidate : nil
    }

    /// Whether self is a square in F_p² (its norm is a square in F_p).
    public var isSquare: Bool { norm.isSquare }

    /// The standard encoding's "sign": c1 above (p − 1)/2, or c1 = 0 and c0 above (p − 1)/2.
    public var isLexicographicallyLargest: Bool {
        c1.isZero ? c0.isLexicographicallyLargest : c1.isLexicographicallyLargest
    }
}

extension Fp2: CustomStringConvertible {
    public var description: String { "(\(c0), \(c1))" }
}
