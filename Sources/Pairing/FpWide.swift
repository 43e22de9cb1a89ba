/// An unreduced 768-bit value: the full product of two field elements, or a short signed-free combination of such
/// products kept below p·2^384, reduced once at the end. This is lazy reduction: an F_p² product is three limb
/// products and two Montgomery reductions instead of three Montgomery products (Docs/crypto.md, "BLS12-381").
@usableFromInline
struct FpWide: Sendable {
    @usableFromInline var l0: UInt64, l1: UInt64, l2: UInt64, l3: UInt64, l4: UInt64, l5: UInt64
    @usableFromInline var l6: UInt64, l7: UInt64, l8: UInt64, l9: UInt64, l10: UInt64, l11: UInt64

    @inlinable @inline(__always)
    init(_ l0: UInt64, _ l1: UInt64, _ l2: UInt64, _ l3: UInt64, _ l4: UInt64, _ l5: UInt64,
         _ l6: UInt64, _ l7: UInt64, _ l8: UInt64, _ l9: UInt64, _ l10: UInt64, _ l11: UInt64) {
        (self.l0, self.l1, self.l2, self.l3, self.l4, self.l5) = (l0, l1, l2, l3, l4, l5)
        (self.l6, self.l7, self.l8, self.l9, self.l10, self.l11) = (l6, l7, l8, l9, l10, l11)
    }

    /// p², 2·p², 4·p²: added before a subtraction so that the value stays non-negative (and the same modulo p).
    @usableFromInline static let pSquared = FpWide(
        0x26aa_0000_1c71_8e39, 0x7ced_6b1d_7638_2eab, 0x162c_3383_6211_3cfd, 0x66bf_91ed_3e71_b743, 0x292e_85a8_7091_a049,
        0x1d68_619c_8618_5c7b, 0xf531_4933_0978_ef01, 0x50a6_2cfd_16dd_ca6e, 0x66e5_9e49_349e_8bd0, 0xe2dc_90e5_0e70_46b4,
        0x4bd2_78ea_a22f_25e9, 0x02a4_37a4_b8c3_5fc7)
    @usableFromInline static let twoPSquared = FpWide(
        0x4d54_0000_38e3_1c72, 0xf9da_d63a_ec70_5d56, 0x2c58_6706_c422_79fa, 0xcd7f_23da_7ce3_6e86, 0x525d_0b50_e123_4092,
        0x3ad0_c339_0c30_b8f6, 0xea62_9266_12f1_de02, 0xa14c_59fa_2dbb_94dd, 0xcdcb_3c92_693d_17a0, 0xc5b9_21ca_1ce0_8d68,
        0x97a4_f1d5_445e_4bd3, 0x0548_6f49_7186_bf8e)
    @usableFromInline static let fourPSquared = FpWide(
        0x9aa8_0000_71c6_38e4, 0xf3b5_ac75_d8e0_baac, 0x58b0_ce0d_8844_f3f5, 0x9afe_47b4_f9c6_dd0c, 0xa4ba_16a1_c246_8125,
        0x75a1_8672_1861_71ec, 0xd4c5_24cc_25e3_bc04, 0x4298_b3f4_5b77_29bb, 0x9b96_7924_d27a_2f41, 0x8b72_4394_39c1_1ad1,
        0x2f49_e3aa_88bc_97a7, 0x0a90_de92_e30d_7f1d)

    /// a + b (no overflow: callers keep sums below p·2^384).
    @inlinable @inline(__always)
    static func + (a: FpWide, b: FpWide) -> FpWide {
        var c: UInt64 = 0
        let r0 = limbAdd(a.l0, b.l0, &c), r1 = limbAdd(a.l1, b.l1, &c), r2 = limbAdd(a.l2, b.l2, &c)
        let r3 = limbAdd(a.l3, b.l3, &c), r4 = limbAdd(a.l4, b.l4, &c), r5 = limbAdd(a.l5, b.l5, &c)
        let r6 = limbAdd(a.l6, b.l6, &c), r7 = limbAdd(a.l7, b.l7, &c), r8 = limbAdd(a.l8, b.l8, &c)
        let r9 = limbAdd(a.l9, b.l9, &c), r10 = limbAdd(a.l10, b.l10, &c), r11 = limbAdd(a.l11, b.l11, &c)
        return FpWide(r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11)
    }

    /// a − b (callers ensure a ≥ b, adding a multiple of p² first where needed).
    @inlinable @inline(__always)
    static func - (a: FpWide, b: FpWide) -> FpWide {
        var c: UInt64 = 0
        let r0 = limbSubtract(a.l0, b.l0, &c), r1 = limbSubtract(a.l1, b.l1, &c), r2 = limbSubtract(a.l2, b.l2, &c)
        let r3 = limbSubtract(a.l3, b.l3, &c), r4 = limbSubtract(a.l4, b.l4, &c), r5 = limbSubtract(a.l5, b.l5, &c)
        let r6 = limbSubtract(a.l6, b.l6, &c), r7 = limbSubtract(a.l7, b.l7, &c), r8 = limbSubtract(a.l8, b.l8, &c)
        let r9 = limbSubtract(a.l9, b.l9, &c), r10 = limbSubtract(a.l10, b.l10, &c), r11 = limbSubtract(a.l11, b.l11, &c)
        return FpWide(r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11)
    }

    /// 2·a.
    @inlinable @inline(__always)
    var doubled: FpWide { self + self }
}

extension Fp {
    /// The full product a·b, 768 bits (schoolbook rows of `multiplyAdd`).
    @inlinable @inline(__always)
    static func wideProduct(_ a: Fp, _ b: Fp) -> FpWide {
        var t0: UInt64 = 0, t1: UInt64 = 0, t2: UInt64 = 0, t3: UInt64 = 0, t4: UInt64 = 0, t5: UInt64 = 0
        var t6: UInt64 = 0, t7: UInt64 = 0, t8: UInt64 = 0, t9: UInt64 = 0, t10: UInt64 = 0, t11: UInt64 = 0
        productRow(a, b.l0, &t0, &t1, &t2, &t3, &t4, &t5, &t6)
        productRow(a, b.l1, &t1, &t2, &t3, &t4, &t5, &t6, &t7)
        productRow(a, b.l2, &t2, &t3, &t4, &t5, &t6, &t7, &t8)
        productRow(a, b.l3, &t3, &t4, &t5, &t6, &t7, &t8, &t9)
        productRow(a, b.l4, &t4, &t5, &t6, &t7, &t8, &t9, &t10)
        productRow(a, b.l5, &t5, &t6, &t7, &t8, &t9, &t10, &t11)
        return FpWide(t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11)
    }

    /// t[0…6] += a·bᵢ, where t6 is still zero (each row's top limb is fresh).
    @inlinable @inline(__always)
    static func productRow(
        _ a: Fp, _ bi: UInt64, _ t0: inout UInt64, _ t1: inout UInt64, _ t2: inout UInt64, _ t3: inout UInt64,
        _ t4: inout UInt64, _ t5: inout UInt64, _ t6: inout UInt64
    ) {
        var c: UInt64
        (c, t0) = multiplyAdd(a.l0, bi, t0, 0)
        (c, t1) = multiplyAdd(a.l1, bi, t1, c)
        (c, t2) = multiplyAdd(a.l2, bi, t2, c)
        (c, t3) = multiplyAdd(a.l3, bi, t3, c)
        (c, t4) = multiplyAdd(a.l4, bi, t4, c)
        (c, t5) = multiplyAdd(a.l5, bi, t5, c)
        t6 = c
    }

    /// Montgomery reduction of a value below p·2^384: value / 2^384 mod p, reduced.
    @inlinable @inline(__always)
    static func reduce(_ w: FpWide) -> Fp {
        var t0 = w.l0, t1 = w.l1, t2 = w.l2, t3 = w.l3, t4 = w.l4, t5 = w.l5
        var t6 = w.l6, t7 = w.l7, t8 = w.l8, t9 = w.l9, t10 = w.l10, t11 = w.l11
        var carry: UInt64 = 0
        reduceRound(&t0, &t1, &t2, &t3, &t4, &t5, &t6, &carry)
        reduceRound(&t1, &t2, &t3, &t4, &t5, &t6, &t7, &carry)
        reduceRound(&t2, &t3, &t4, &t5, &t6, &t7, &t8, &carry)
        reduceRound(&t3, &t4, &t5, &t6, &t7, &t8, &t9, &carry)
        reduceRound(&t4, &t5, &t6, &t7, &t8, &t9, &t10, &carry)
        reduceRound(&t5, &t6, &t7, &t8, &t9, &t10, &t11, &carry)
        // The value is now below 2p (input below p·2^384), in t6…t11; the carry out is zero.
        return reduceOnce(Fp(limbs: t6, t7, t8, t9, t10, t11))
    }

    /// Adds m·p to t0…t5 with m clearing t0, then the carry and the previous round's carry into t6.
    @inlinable @inline(__always)
    static func reduceRound(
        _ t0: inout UInt64, _ t1: inout UInt64, _ t2: inout UInt64, _ t3: inout UInt64, _ t4: inout UInt64,
        _ t5: inout UInt64, _ t6: inout UInt64, _ carry: inout UInt64
    ) {
        let p = modulus
        let m = t0 &* inverseModulus
        var c: UInt64
        (c, _) = multiplyAdd(m, p.l0, t0, 0)
        (c, t1) = multiplyAdd(m, p.l1, t1, c)
        (c, t2) = multiplyAdd(m, p.l2, t2, c)
        (c, t3) = multiplyAdd(m, p.l3, t3, c)
        (c, t4) = multiplyAdd(m, p.l4, t4, c)
        (c, t5) = multiplyAdd(m, p.l5, t5, c)
        let wide = UInt128(t6) &+ UInt128(c) &+ UInt128(carry)
        t6 = UInt64(truncatingIfNeeded: wide)
        carry = UInt64(truncatingIfNeeded: wide >> 64)
        t0 = 0
    }

    /// The limbs of a + b with no reduction (both below p: the sum is below 2p < 2^382).
    @inlinable @inline(__always)
    static func lazySum(_ a: Fp, _ b: Fp) -> Fp { addLimbs(a, b) }
}

extension Fp2 {
    /// Lazy reduction: (a0·b0 − a1·b1 + p²) and ((a0 + a1)(b0 + b1) − a0·b0 − a1·b1) as wide values, each reduced
    /// once; the sums are left unreduced (below 2p, so the product stays below 4p² < p·2^384).
    @inlinable @inline(__always)
    static func lazyProduct(_ a: Fp2, _ b: Fp2) -> Fp2 {
        let v0 = Fp.wideProduct(a.c0, b.c0), v1 = Fp.wideProduct(a.c1, b.c1)
        let s = Fp.wideProduct(Fp.lazySum(a.c0, a.c1), Fp.lazySum(b.c0, b.c1))
        return Fp2(Fp.reduce(v0 + FpWide.pSquared - v1), Fp.reduce(s - v0 - v1))
    }
}
