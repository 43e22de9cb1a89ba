/// An element of BLS12-381's base field F_p,
/// p = 0x1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab (381 bits).
///
/// Kept in Montgomery form: the limbs hold a·R mod p with R = 2^384, six 64-bit limbs, least significant first, always
/// fully reduced (below p), so equal elements have equal limbs. Multiplication is the CIOS Montgomery product on
/// `multipliedFullWidth`; additions reduce with a masked subtraction. No operation branches on or indexes memory by
/// the value of an element: the running time depends only on public exponents (`pow`) — Docs/crypto.md says what is
/// and is not constant-time.
public struct Fp: PairingField, MontgomeryLimbs {
    @usableFromInline var l0: UInt64, l1: UInt64, l2: UInt64, l3: UInt64, l4: UInt64, l5: UInt64

    @inlinable init(limbs l0: UInt64, _ l1: UInt64, _ l2: UInt64, _ l3: UInt64, _ l4: UInt64, _ l5: UInt64) {
        (self.l0, self.l1, self.l2, self.l3, self.l4, self.l5) = (l0, l1, l2, l3, l4, l5)
    }

    /// The modulus p, least significant limb first.
    @usableFromInline static let modulus = Fp(limbs: 0xb9fe_ffff_ffff_aaab, 0x1eab_fffe_b153_ffff, 0x6730_d2a0_f6b0_f624,
                                              0x6477_4b84_f385_12bf, 0x4b1b_a7b6_434b_acd7, 0x1a01_11ea_397f_e69a)
    /// −p⁻¹ mod 2^64.
    @usableFromInline static let inverseModulus: UInt64 = 0x89f3_fffc_fffc_fffd
    /// R² mod p: multiplying by it moves a plain value into Montgomery form.
    static let rSquared = Fp(limbs: 0xf4df_1f34_1c34_1746, 0x0a76_e6a6_09d1_04f1, 0x8de5_476c_4c95_b6d5,
                             0x67eb_88a9_939d_83c0, 0x9a79_3e85_b519_952d, 0x1198_8fe5_92ca_e3aa)

    public static let zero = Fp(limbs: 0, 0, 0, 0, 0, 0)
    /// 1 in Montgomery form: R mod p.
    public static let one = Fp(limbs: 0x7609_0000_0002_fffd, 0xebf4_000b_c40c_0002, 0x5f48_9857_53c7_58ba,
                               0x77ce_5853_7052_5745, 0x5c07_1a97_a256_ec6d, 0x15f6_5ec3_fa80_e493)

    /// Encoded size: 48 bytes, big-endian.
    public static let byteCount = 48

    /// The field element with this small value.
    public init(_ value: UInt64) {
        self = Fp(limbs: value, 0, 0, 0, 0, 0) * Fp.rSquared
    }

    /// The element whose canonical big-endian encoding is `bytes` (exactly 48 bytes, a value below p).
    public init(bytes: some Collection<UInt8>) throws(PairingError) {
        guard bytes.count == Fp.byteCount else {
            throw PairingError(.invalidEncoding, "a field element is 48 bytes, not \(bytes.count)")
        }
        var limbs = [UInt64](repeating: 0, count: 6)
        for (index, byte) in bytes.enumerated() {
            let position = 47 - index
            limbs[position / 8] |= UInt64(byte) << (8 * UInt64(position % 8))
        }
        let plain = Fp(limbs: limbs[0], limbs[1], limbs[2], limbs[3], limbs[4], limbs[5])
        guard plain.isBelowModulus else { throw PairingError(.invalidEncoding, "a field element is not below p") }
        self = plain * Fp.rSquared
    }

    /// The canonical encoding: 48 bytes, big-endian.
    public var bytes: [UInt8] {
        let plain = self.montgomeryReduced
        let limbs = [plain.l0, plain.l1, plain.l2, plain.l3, plain.l4, plain.l5]
        return (0..<48).map { index in
            let position = 47 - index
            return UInt8(truncatingIfNeeded: limbs[position / 8] >> (8 * UInt64(position % 8)))
        }
    }

    /// The plain value (out of Montgomery form): self · 1 / R.
    var montgomeryReduced: Fp { self * Fp(limbs: 1, 0, 0, 0, 0, 0) }

    /// Limbs below p (an encoding's check; not needed for elements, which always are).
    var isBelowModulus: Bool {
        let (_, borrow) = Fp.subtractWithBorrow(self, Fp.modulus)
        return borrow == 1
    }

    public var isZero: Bool { (l0 | l1 | l2 | l3 | l4 | l5) == 0 }

    // MARK: Addition

    /// a − b on the limbs, and the borrow out (1 if a < b).
    @inlinable @inline(__always)
    static func subtractWithBorrow(_ a: Fp, _ b: Fp) -> (Fp, UInt64) {
        var borrow: UInt64 = 0
        let r0 = limbSubtract(a.l0, b.l0, &borrow)
        let r1 = limbSubtract(a.l1, b.l1, &borrow)
        let r2 = limbSubtract(a.l2, b.l2, &borrow)
        let r3 = limbSubtract(a.l3, b.l3, &borrow)
        let r4 = limbSubtract(a.l4, b.l4, &borrow)
        let r5 = limbSubtract(a.l5, b.l5, &borrow)
        return (Fp(limbs: r0, r1, r2, r3, r4, r5), borrow)
    }

    /// a + b on the limbs (no carry out: both below p < 2^381).
    @inlinable @inline(__always)
    static func addLimbs(_ a: Fp, _ b: Fp) -> Fp {
        var carry: UInt64 = 0
        let r0 = limbAdd(a.l0, b.l0, &carry)
        let r1 = limbAdd(a.l1, b.l1, &carry)
        let r2 = limbAdd(a.l2, b.l2, &carry)
        let r3 = limbAdd(a.l3, b.l3, &carry)
        let r4 = limbAdd(a.l4, b.l4, &carry)
        let r5 = limbAdd(a.l5, b.l5, &carry)
        return Fp(limbs: r0, r1, r2, r3, r4, r5)
    }

    /// `a` if `mask` is all ones, `b` if it is zero.
    @inlinable @inline(__always)
    public static func select(_ mask: UInt64, _ a: Fp, _ b: Fp) -> Fp {
        Fp(limbs: (a.l0 & mask) | (b.l0 & ~mask), (a.l1 & mask) | (b.l1 & ~mask), (a.l2 & mask) | (b.l2 & ~mask),
           (a.l3 & mask) | (b.l3 & ~mask), (a.l4 & mask) | (b.l4 & ~mask), (a.l5 & mask) | (b.l5 & ~mask))
    }



    // MARK: Multiplication

    /// a·b + c + carry as (high, low); cannot overflow 128 bits.
    @inlinable @inline(__always)
    static func multiplyAdd(_ a: UInt64, _ b: UInt64, _ c: UInt64, _ carry: UInt64) -> (high: UInt64, low: UInt64) {
        let wide = UInt128(a) &* UInt128(b) &+ UInt128(c) &+ UInt128(carry)
        return (UInt64(truncatingIfNeeded: wide >> 64), UInt64(truncatingIfNeeded: wide))
    }

    @inlinable @inline(__always)
    public static func + (a: Fp, b: Fp) -> Fp { modularSum(a, b) }
    @inlinable @inline(__always)
    public static func - (a: Fp, b: Fp) -> Fp { modularDifference(a, b) }

    /// The Montgomery product a·b/R mod p: coarsely integrated operand scanning in the "no-carry" form, which needs
    /// no seventh limb because p's top limb is below 2^63 − 1 (Docs/crypto.md, "BLS12-381"): each round adds a·bᵢ
    /// and m·p in one pass over the limbs and shifts down by a limb.
    @inlinable
    public static func * (a: Fp, b: Fp) -> Fp {
        var t0: UInt64 = 0, t1: UInt64 = 0, t2: UInt64 = 0, t3: UInt64 = 0, t4: UInt64 = 0, t5: UInt64 = 0
        montgomeryRound(a, b.l0, &t0, &t1, &t2, &t3, &t4, &t5)
        montgomeryRound(a, b.l1, &t0, &t1, &t2, &t3, &t4, &t5)
        montgomeryRound(a, b.l2, &t0, &t1, &t2, &t3, &t4, &t5)
        montgomeryRound(a, b.l3, &t0, &t1, &t2, &t3, &t4, &t5)
        montgomeryRound(a, b.l4, &t0, &t1, &t2, &t3, &t4, &t5)
        montgomeryRound(a, b.l5, &t0, &t1, &t2, &t3, &t4, &t5)
        // t < 2p, so one conditional subtraction reduces it.
        return reduceOnce(Fp(limbs: t0, t1, t2, t3, t4, t5))
    }

    /// One round: t = (t + a·bᵢ + m·p) / 2^64, m chosen to clear the low limb. The carries A (of a·bᵢ) and C (of
    /// m·p) run side by side; with t < 2p and p's top limb below 2^63 − 1, their sum fits the top limb.
    @inlinable @inline(__always)
    static func montgomeryRound(
        _ a: Fp, _ bi: UInt64, _ t0: inout UInt64, _ t1: inout UInt64, _ t2: inout UInt64, _ t3: inout UInt64,
        _ t4: inout UInt64, _ t5: inout UInt64
    ) {
        let p = modulus
        var carryA: UInt64, carryC: UInt64, low: UInt64
        (carryA, t0) = multiplyAdd(a.l0, bi, t0, 0)
        let m = t0 &* inverseModulus
        (carryC, _) = multiplyAdd(m, p.l0, t0, 0)
        (carryA, low) = multiplyAdd(a.l1, bi, t1, carryA)
        (carryC, t0) = multiplyAdd(m, p.l1, low, carryC)
        (carryA, low) = multiplyAdd(a.l2, bi, t2, carryA)
        (carryC, t1) = multiplyAdd(m, p.l2, low, carryC)
        (carryA, low) = multiplyAdd(a.l3, bi, t3, carryA)
        (carryC, t2) = multiplyAdd(m, p.l3, low, carryC)
        (carryA, low) = multiplyAdd(a.l4, bi, t4, carryA)
        (carryC, t3) = multiplyAdd(m, p.l4, low, carryC)
        (carryA, low) = multiplyAdd(a.l5, bi, t5, carryA)
        (carryC, t4) = multiplyAdd(m, p.l5, low, carryC)
        t5 = carryC &+ carryA
    }

    @inlinable
    public var squared: Fp { self * self }

    /// p − 2: Fermat's inverse exponent.
    static let inverseExponent: [UInt64] = [0xb9fe_ffff_ffff_aaa9, 0x1eab_fffe_b153_ffff, 0x6730_d2a0_f6b0_f624,
                                            0x6477_4b84_f385_12bf, 0x4b1b_a7b6_434b_acd7, 0x1a01_11ea_397f_e69a]
    /// (p + 1) / 4: p ≡ 3 (mod 4), so a square's root is its power by this.
    static let sqrtExponent: [UInt64] = [0xee7f_bfff_ffff_eaab, 0x07aa_ffff_ac54_ffff, 0xd9cc_34a8_3dac_3d89,
                                         0xd91d_d2e1_3ce1_44af, 0x92c6_e9ed_90d2_eb35, 0x0680_447a_8e5f_f9a6]
    /// (p − 1) / 2: the Legendre symbol's exponent.
    static let legendreExponent: [UInt64] = [0xdcff_7fff_ffff_d555, 0x0f55_ffff_58a9_ffff, 0xb398_6950_7b58_7b12,
                                             0xb23b_a5c2_79c2_895f, 0x258d_d3db_21a5_d66b, 0x0d00_88f5_1cbf_f34d]

    /// Sliding-window plans for the three exponents above, made once.
    static let inversePlan = ExponentPlan(inverseExponent)
    static let sqrtPlan = ExponentPlan(sqrtExponent)
    static let legendrePlan = ExponentPlan(legendreExponent)

    /// 1/self, or nil for zero (a^(p−2), the same operations for every nonzero input).
    public var inverse: Fp? {
        guard !isZero else { return nil }
        return pow(Fp.inversePlan)
    }

    /// A square root, or nil if self is not a square. Of the two roots this is a^((p+1)/4); `negated` gives the other.
    public var squareRoot: Fp? {
        let root = pow(Fp.sqrtPlan)
        return root.squared == self ? root : nil
    }

    /// Whether self is a nonzero square (Euler's criterion) or zero.
    public var isSquare: Bool {
        let symbol = pow(Fp.legendrePlan)
        return symbol == .one || symbol.isZero
    }

    /// Whether the plain value is above (p − 1)/2: the "sign" the compressed point encoding records
    /// (the lexicographically largest of y and −y).
    public var isLexicographicallyLargest: Bool {
        let plain = montgomeryReduced
        // plain > (p-1)/2  ⇔  (p-1)/2 − plain borrows.
        let half = Fp(limbs: Fp.legendreExponent[0], Fp.legendreExponent[1], Fp.legendreExponent[2],
                      Fp.legendreExponent[3], Fp.legendreExponent[4], Fp.legendreExponent[5])
        return Fp.subtractWithBorrow(half, plain).1 == 1
    }
}

extension Fp {
    /// The inverses of `values` with one inversion and 3(n − 1) products (Montgomery's trick), or nil if any is zero.
    public static func batchInverse(_ values: [Fp]) -> [Fp]? {
        guard let last = values.indices.last else { return [] }
        var prefixes: [Fp] = []
        prefixes.reserveCapacity(values.count)
        var running = Fp.one
        for value in values {
            running = running * value
            prefixes.append(running)
        }
        guard var inverse = running.inverse else { return nil }
        var result = [Fp](repeating: .zero, count: values.count)
        for index in stride(from: last, to: 0, by: -1) {
            result[index] = inverse * prefixes[index - 1]
            inverse = inverse * values[index]
        }
        result[0] = inverse
        return result
    }
}

extension Fp: CustomStringConvertible {
    /// The plain value in hexadecimal (96 digits).
    public var description: String {
        bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
}
