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

/// A field element (or point) as a fixed number of 64-bit limbs in a flat array, for tables read by masked scans: a
/// scan over `[UInt64]` is a simple loop the compiler vectorizes, where selecting whole values coordinate by
/// coordinate is not.
public protocol LimbRepresentable: Sendable {
    static var limbCount: Int { get }
    /// Appends the limbs (in Montgomery form, as stored).
    func appendLimbs(to limbs: inout [UInt64])
    /// The value of `limbCount` limbs starting at `offset`.
    init(limbs: UnsafeBufferPointer<UInt64>, at offset: Int)
}

extension Fp: LimbRepresentable {
    public static let limbCount = 6
    public func appendLimbs(to limbs: inout [UInt64]) { limbs += [l0, l1, l2, l3, l4, l5] }
    @inlinable
    public init(limbs: UnsafeBufferPointer<UInt64>, at offset: Int) {
        self.init(limbs: limbs[offset], limbs[offset + 1], limbs[offset + 2], limbs[offset + 3], limbs[offset + 4], limbs[offset + 5])
    }
}

extension Fp2: LimbRepresentable {
    public static let limbCount = 12
    public func appendLimbs(to limbs: inout [UInt64]) { c0.appendLimbs(to: &limbs); c1.appendLimbs(to: &limbs) }
    @inlinable
    public init(limbs: UnsafeBufferPointer<UInt64>, at offset: Int) {
        self.init(Fp(limbs: limbs, at: offset), Fp(limbs: limbs, at: offset + 6))
    }
}

extension Fp12: LimbRepresentable {
    public static let limbCount = 72
    public func appendLimbs(to limbs: inout [UInt64]) {
        for half in [c0, c1] { for c in [half.c0, half.c1, half.c2] { c.appendLimbs(to: &limbs) } }
    }
    @inlinable
    public init(limbs: UnsafeBufferPointer<UInt64>, at offset: Int) {
        self.init(Fp6(Fp2(limbs: limbs, at: offset), Fp2(limbs: limbs, at: offset + 12), Fp2(limbs: limbs, at: offset + 24)),
                  Fp6(Fp2(limbs: limbs, at: offset + 36), Fp2(limbs: limbs, at: offset + 48), Fp2(limbs: limbs, at: offset + 60)))
    }
}

/// A constant-time table of `entries` values per window, flattened: `lookup` ORs together every entry of the window
/// masked by whether its index is the digit, so it reads all of them whatever the digit.
struct FlatTable<Value: LimbRepresentable>: Sendable {
    let limbs: [UInt64]
    let entries: Int

    init(_ windows: [[Value]]) {
        entries = windows.first?.count ?? 0
        var limbs: [UInt64] = []
        limbs.reserveCapacity(windows.count * entries * Value.limbCount)
        for window in windows { for value in window { value.appendLimbs(to: &limbs) } }
        self.limbs = limbs
    }

    /// Entry `digit` of window `window`.
    @inline(__always)
    func lookup(_ window: Int, _ digit: UInt64) -> Value {
        let width = Value.limbCount
        return limbs.withUnsafeBufferPointer { table in
            withUnsafeTemporaryAllocation(of: UInt64.self, capacity: width) { out in
                for j in 0..<width { out[j] = 0 }
                var start = window * entries * width
                for index in 0..<entries {
                    let mask = equalMask(UInt64(index), digit)
                    for j in 0..<width { out[j] |= table[start + j] & mask }
                    start += width
                }
                return Value(limbs: UnsafeBufferPointer(out), at: 0)
            }
        }
    }
}
