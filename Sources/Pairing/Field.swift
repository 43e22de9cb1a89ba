/// What `Fp`, `Fp2` and `Fr` share: the field operations each implements, and what follows from them.
public protocol PairingField: Sendable, Hashable {
    static var zero: Self { get }
    static var one: Self { get }
    static func + (a: Self, b: Self) -> Self
    static func - (a: Self, b: Self) -> Self
    static func * (a: Self, b: Self) -> Self
    var squared: Self { get }
    /// 1/self, or nil for zero.
    var inverse: Self? { get }
    /// `a` if `mask` is all ones, `b` if it is zero, without a branch.
    static func select(_ mask: UInt64, _ a: Self, _ b: Self) -> Self
}

extension PairingField {
    @inlinable
    public static prefix func - (a: Self) -> Self { zero - a }
    @inlinable
    public static func += (a: inout Self, b: Self) { a = a + b }
    @inlinable
    public static func -= (a: inout Self, b: Self) { a = a - b }
    @inlinable
    public static func *= (a: inout Self, b: Self) { a = a * b }
    /// 2·self.
    @inlinable
    public var doubled: Self { self + self }

    /// self^exponent, the exponent given as 64-bit limbs, least significant first. The exponent is public: the
    /// sequence of operations follows its bits, never the value of self.
    @inlinable
    public func pow(_ exponent: [UInt64]) -> Self {
        var result = Self.one
        for limb in exponent.reversed() {
            for bit in stride(from: 63, through: 0, by: -1) {
                result = result.squared
                if (limb >> UInt64(bit)) & 1 == 1 { result = result * self }
            }
        }
        return result
    }
}

/// The limb operations `Fp` and `Fr` implement for their own sizes, from which their modular sums and differences
/// follow (`modularSum`, `modularDifference`).
@usableFromInline
protocol MontgomeryLimbs: PairingField {
    static var modulus: Self { get }
    /// The limbs' sum, with no carry out (both operands below a modulus with headroom).
    static func addLimbs(_ a: Self, _ b: Self) -> Self
    /// The limbs' difference and the borrow out (1 if a < b).
    static func subtractWithBorrow(_ a: Self, _ b: Self) -> (Self, UInt64)
}

extension MontgomeryLimbs {
    /// `value` − modulus if that is not negative, else `value` (for `value` below twice the modulus), by mask.
    @inlinable @inline(__always)
    static func reduceOnce(_ value: Self) -> Self {
        let (reduced, borrow) = subtractWithBorrow(value, modulus)
        return select(0 &- borrow, value, reduced)
    }

    @inlinable @inline(__always)
    static func modularSum(_ a: Self, _ b: Self) -> Self { reduceOnce(addLimbs(a, b)) }

    @inlinable @inline(__always)
    static func modularDifference(_ a: Self, _ b: Self) -> Self {
        let (difference, borrow) = subtractWithBorrow(a, b)
        return addLimbs(difference, select(0 &- borrow, modulus, zero))
    }
}

/// x − y − borrow on one limb; `borrow` (0 or 1) becomes the borrow out.
@inlinable @inline(__always)
func limbSubtract(_ x: UInt64, _ y: UInt64, _ borrow: inout UInt64) -> UInt64 {
    // In 128 bits the difference wraps exactly when it is negative, setting bit 64 (LLVM makes this a sbb chain).
    let wide = UInt128(x) &- UInt128(y) &- UInt128(borrow)
    borrow = UInt64(truncatingIfNeeded: wide >> 64) & 1
    return UInt64(truncatingIfNeeded: wide)
}

/// x + y + carry on one limb; `carry` (0 or 1) becomes the carry out.
@inlinable @inline(__always)
func limbAdd(_ x: UInt64, _ y: UInt64, _ carry: inout UInt64) -> UInt64 {
    let wide = UInt128(x) &+ UInt128(y) &+ UInt128(carry)
    carry = UInt64(truncatingIfNeeded: wide >> 64)
    return UInt64(truncatingIfNeeded: wide)
}
