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
    /// sequence of operations follows its bits (a sliding window, `ExponentPlan`), never the value of self.
    @inlinable
    public func pow(_ exponent: [UInt64]) -> Self { pow(ExponentPlan(exponent)) }

    /// self^exponent by a plan made once for a fixed exponent.
    @inlinable
    public func pow(_ plan: ExponentPlan) -> Self { plan.power(of: self, square: { $0.squared }) }
}

/// Left-to-right sliding-window exponentiation by a public exponent: from the most significant bit, runs of zero bits
/// cost squarings only, and each odd window of at most `width` bits costs its squarings and one product by a power
/// from a table of the odd powers x, x³, …, x^(2^width − 1) (one squaring and 2^(width−1) − 1 products to build).
/// The width is the one with the fewest products, table included: 5 for a 381-bit exponent such as p − 2 (83
/// products instead of the 228 of plain square-and-multiply), 1 (no table) for a sparse one such as |x|. The
/// sequence of operations depends on the exponent alone.
public struct ExponentPlan: Sendable {
    /// In order: the squarings, then the product by table entry `entry` (the odd power 2·entry + 1; −1: none, only
    /// the trailing squarings).
    @usableFromInline let steps: [(squarings: Int, entry: Int)]
    @usableFromInline let width: Int
    /// Products the plan costs, the table's included (for choosing the width, and for tests).
    public let multiplications: Int

    public init(_ exponent: [UInt64]) {
        var best: (steps: [(Int, Int)], width: Int, cost: Int) = ([], 1, Int.max)
        for width in 1...5 {
            let steps = ExponentPlan.windows(exponent, width: width)
            let windows = steps.filter { $0.1 >= 0 }.count
            let cost = max(0, windows - 1) + (width > 1 ? (1 << (width - 1)) : 0)
            if cost < best.cost { best = (steps, width, cost) }
        }
        (steps, width, multiplications) = best
    }

    /// The windows of `exponent` at this width, most significant first.
    static func windows(_ exponent: [UInt64], width: Int) -> [(Int, Int)] {
        func bit(_ i: Int) -> Bool { (exponent[i / 64] >> UInt64(i % 64)) & 1 == 1 }
        var top = exponent.count * 64 - 1
        while top >= 0 && !bit(top) { top -= 1 }
        var steps: [(Int, Int)] = []
        var squarings = 0
        var i = top
        while i >= 0 {
            if !bit(i) {
                squarings += 1
                i -= 1
                continue
            }
            var j = max(i - width + 1, 0)
            while !bit(j) { j += 1 }
            var value = 0
            for k in stride(from: i, through: j, by: -1) { value = value << 1 | (bit(k) ? 1 : 0) }
            steps.append((squarings + i - j + 1, value >> 1))
            squarings = 0
            i = j - 1
        }
        if squarings > 0 { steps.append((squarings, -1)) }
        return steps
    }

    /// x^exponent with the given squaring (a field's, or the cyclotomic one in GT); 1 for a zero exponent.
    @inlinable
    public func power<F: PairingField>(of x: F, square: (F) -> F) -> F {
        var table = [x]
        if width > 1 {
            let xx = square(x)
            table.reserveCapacity(1 << (width - 1))
            for _ in 1..<(1 << (width - 1)) { table.append(table[table.count - 1] * xx) }
        }
        var result: F? = nil
        for (squarings, entry) in steps {
            guard var value = result else {
                // The first window: the squarings before it would square 1.
                if entry >= 0 { result = table[entry] }
                continue
            }
            for _ in 0..<squarings { value = square(value) }
            if entry >= 0 { value = value * table[entry] }
            result = value
        }
        return result ?? .one
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
