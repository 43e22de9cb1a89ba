/// An element of Z_r, BLS12-381's scalar field: the exponents of G1, G2 and GT, and the ABE scheme's secrets and
/// shares. r = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001 (255 bits).
///
/// Montgomery form on four 64-bit limbs (R = 2^256), least significant first, fully reduced; the same CIOS product and
/// masked reductions as `Fp`, with no branch on an element's value.
public struct Fr: PairingField, MontgomeryLimbs {
    @usableFromInline var l0: UInt64, l1: UInt64, l2: UInt64, l3: UInt64

    @inlinable init(limbs l0: UInt64, _ l1: UInt64, _ l2: UInt64, _ l3: UInt64) {
        (self.l0, self.l1, self.l2, self.l3) = (l0, l1, l2, l3)
    }

    /// The group order r, least significant limb first.
    public static let orderLimbs: [UInt64] = [modulus.l0, modulus.l1, modulus.l2, modulus.l3]
    @usableFromInline static let modulus = Fr(limbs: 0xffff_ffff_0000_0001, 0x53bd_a402_fffe_5bfe, 0x3339_d808_09a1_d805,
                                              0x73ed_a753_299d_7d48)
    @usableFromInline static let inverseModulus: UInt64 = 0xffff_fffe_ffff_ffff
    static let rSquared = Fr(limbs: 0xc999_e990_f3f2_9c6d, 0x2b6c_edcb_8792_5c23, 0x05d3_1496_7254_398f, 0x0748_d9d9_9f59_ff11)
    static let rCubed = Fr(limbs: 0xc62c_1807_439b_73af, 0x1b3e_0d18_8cf0_6990, 0x73d1_3c71_c7b5_f418, 0x6e2a_5bb9_c8db_33e9)

    public static let zero = Fr(limbs: 0, 0, 0, 0)
    public static let one = Fr(limbs: 0x0000_0001_ffff_fffe, 0x5884_b7fa_0003_4802, 0x998c_4fef_ecbc_4ff5, 0x1824_b159_acc5_056f)

    /// Encoded size: 32 bytes, big-endian.
    public static let byteCount = 32

    public init(_ value: UInt64) { self = Fr(limbs: value, 0, 0, 0) * Fr.rSquared }

    /// The scalar whose canonical big-endian encoding is `bytes` (exactly 32 bytes, below r).
    public init(bytes: some Collection<UInt8>) throws(PairingError) {
        guard bytes.count == Fr.byteCount else {
            throw PairingError(.invalidEncoding, "a scalar is 32 bytes, not \(bytes.count)")
        }
        let limbs = Fr.limbs(bigEndian: Array(bytes))
        let plain = Fr(limbs: limbs[0], limbs[1], limbs[2], limbs[3])
        guard Fr.subtractWithBorrow(plain, Fr.modulus).1 == 1 else {
            throw PairingError(.invalidEncoding, "a scalar is not below the group order")
        }
        self = plain * Fr.rSquared
    }

    /// The scalar `bytes` (64 bytes, big-endian) reduce to modulo r: for uniform scalars from 64 random bytes, whose
    /// bias is below 2^-256.
    public init(reducingWide bytes: [UInt8]) throws(PairingError) {
        guard bytes.count == 64 else { throw PairingError(.invalidEncoding, "a wide scalar is 64 bytes, not \(bytes.count)") }
        let high = Fr.limbs(bigEndian: Array(bytes[0..<32])), low = Fr.limbs(bigEndian: Array(bytes[32..<64]))
        // low·R²/R = low (as low·R in Montgomery form) and high·R³/R = high·2^256, both reduced by the product.
        self = Fr(limbs: low[0], low[1], low[2], low[3]) * Fr.rSquared + Fr(limbs: high[0], high[1], high[2], high[3]) * Fr.rCubed
    }

    /// A uniform scalar drawn from `generator` (64 bytes reduced modulo r).
    public static func random(using generator: inout some RandomNumberGenerator) -> Fr {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(64)
        for _ in 0..<8 { withUnsafeBytes(of: generator.next()) { bytes.append(contentsOf: $0) } }
        return (try? Fr(reducingWide: bytes)) ?? .zero
    }

    static func limbs(bigEndian bytes: [UInt8]) -> [UInt64] {
        var limbs = [UInt64](repeating: 0, count: 4)
        for (index, byte) in bytes.enumerated() {
            let position = 31 - index
            limbs[position / 8] |= UInt64(byte) << (8 * UInt64(position % 8))
        }
        return limbs
    }

    /// The plain value's limbs, least significant first (for scalar multiplication's bits).
    public var plainLimbs: [UInt64] {
        let plain = self * Fr(limbs: 1, 0, 0, 0)
        return [plain.l0, plain.l1, plain.l2, plain.l3]
    }

    /// The canonical encoding: 32 bytes, big-endian.
    public var bytes: [UInt8] {
        let limbs = plainLimbs
        return (0..<32).map { index in
            let position = 31 - index
            return UInt8(truncatingIfNeeded: limbs[position / 8] >> (8 * UInt64(position % 8)))
        }
    }

    public var isZero: Bool { (l0 | l1 | l2 | l3) == 0 }

    @inlinable @inline(__always)
    static func subtractWithBorrow(_ a: Fr, _ b: Fr) -> (Fr, UInt64) {
        var borrow: UInt64 = 0
        let r0 = limbSubtract(a.l0, b.l0, &borrow)
        let r1 = limbSubtract(a.l1, b.l1, &borrow)
        let r2 = limbSubtract(a.l2, b.l2, &borrow)
        let r3 = limbSubtract(a.l3, b.l3, &borrow)
        return (Fr(limbs: r0, r1, r2, r3), borrow)
    }

    @inlinable @inline(__always)
    static func addLimbs(_ a: Fr, _ b: Fr) -> Fr {
        var carry: UInt64 = 0
        let r0 = limbAdd(a.l0, b.l0, &carry)
        let r1 = limbAdd(a.l1, b.l1, &carry)
        let r2 = limbAdd(a.l2, b.l2, &carry)
        let r3 = limbAdd(a.l3, b.l3, &carry)
        return Fr(limbs: r0, r1, r2, r3)
    }

    @inlinable @inline(__always)
    public static func select(_ mask: UInt64, _ a: Fr, _ b: Fr) -> Fr {
        Fr(limbs: (a.l0 & mask) | (b.l0 & ~mask), (a.l1 & mask) | (b.l1 & ~mask), (a.l2 & mask) | (b.l2 & ~mask),
           (a.l3 & mask) | (b.l3 & ~mask))
    }

    @inlinable
    public static func + (a: Fr, b: Fr) -> Fr { modularSum(a, b) }
    @inlinable
    public static func - (a: Fr, b: Fr) -> Fr { modularDifference(a, b) }

    /// The Montgomery product a·b/R mod r.
    @inlinable
    public static func * (a: Fr, b: Fr) -> Fr {
        var t0: UInt64 = 0, t1: UInt64 = 0, t2: UInt64 = 0, t3: UInt64 = 0, t4: UInt64 = 0
        montgomeryRound(a, b.l0, &t0, &t1, &t2, &t3, &t4)
        montgomeryRound(a, b.l1, &t0, &t1, &t2, &t3, &t4)
        montgomeryRound(a, b.l2, &t0, &t1, &t2, &t3, &t4)
        montgomeryRound(a, b.l3, &t0, &t1, &t2, &t3, &t4)
        return reduceOnce(Fr(limbs: t0, t1, t2, t3))
    }

    /// One outer round of CIOS (see `Fp.montgomeryRound`).
    @inlinable @inline(__always)
    static func montgomeryRound(
        _ a: Fr, _ bi: UInt64, _ t0: inout UInt64, _ t1: inout UInt64, _ t2: inout UInt64, _ t3: inout UInt64,
        _ t4: inout UInt64
    ) {
        var c: UInt64
        (c, t0) = Fp.multiplyAdd(a.l0, bi, t0, 0)
        (c, t1) = Fp.multiplyAdd(a.l1, bi, t1, c)
        (c, t2) = Fp.multiplyAdd(a.l2, bi, t2, c)
        (c, t3) = Fp.multiplyAdd(a.l3, bi, t3, c)
        let (s, o) = t4.addingReportingOverflow(c)
        let t5: UInt64 = o ? 1 : 0
        let p = modulus
        let m = t0 &* inverseModulus
        var d: UInt64
        (d, _) = Fp.multiplyAdd(m, p.l0, t0, 0)
        (d, t0) = Fp.multiplyAdd(m, p.l1, t1, d)
        (d, t1) = Fp.multiplyAdd(m, p.l2, t2, d)
        (d, t2) = Fp.multiplyAdd(m, p.l3, t3, d)
        let (s2, o2) = s.addingReportingOverflow(d)
        t3 = s2
        t4 = t5 &+ (o2 ? 1 : 0)
    }

    @inlinable
    public var squared: Fr { self * self }

    /// r − 2.
    static let inverseExponent: [UInt64] = [0xffff_fffe_ffff_ffff, 0x53bd_a402_fffe_5bfe, 0x3339_d808_09a1_d805, 0x73ed_a753_299d_7d48]
    static let inversePlan = ExponentPlan(inverseExponent)

    /// 1/self, or nil for zero (self^(r−2)).
    public var inverse: Fr? {
        guard !isZero else { return nil }
        return pow(Fr.inversePlan)
    }
}

extension Fr: CustomStringConvertible {
    public var description: String {
        bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
}
