/// A short Weierstrass curve y² = x³ + b over a field (a = 0), as BLS12-381's G1 (over F_p) and G2 (over F_p²) are.
public protocol CurveParameters: Sendable {
    associatedtype Field: PairingField & LimbRepresentable
    /// 3·b, the constant of the complete formulas.
    static var b3: Field { get }
    static var b: Field { get }
    /// The standard generator, affine.
    static var generatorX: Field { get }
    static var generatorY: Field { get }
    /// Whether `point` (on the curve) is in the prime-order subgroup.
    static func isInSubgroup(_ point: ProjectivePoint<Self>) -> Bool
    /// 3b·x, by additions: 3b is 12 on G1 and 12(1 + u) on G2, cheaper than a product.
    static func timesB3(_ x: Field) -> Field
}

/// A point in homogeneous projective coordinates (X : Y : Z), standing for (X/Z, Y/Z); the identity is (0 : 1 : 0).
///
/// Addition and doubling are the complete formulas of Renes, Costello and Batina, "Complete addition formulas for
/// prime order elliptic curves" (EUROCRYPT 2016), Algorithms 7 and 9 for a = 0: one sequence of field operations for
/// every pair of inputs (equal points, inverse points, the identity), with no branch on the coordinates.
public struct ProjectivePoint<Curve: CurveParameters>: Sendable {
    public typealias Field = Curve.Field
    public var x: Field
    public var y: Field
    public var z: Field

    @inlinable
    public init(x: Field, y: Field, z: Field) {
        (self.x, self.y, self.z) = (x, y, z)
    }

    /// The affine point (x, y), on the curve or not: `isOnCurve` tells.
    @inlinable
    public init(affineX x: Field, y: Field) { self.init(x: x, y: y, z: .one) }

    public static var identity: Self { Self(x: .zero, y: .one, z: .zero) }
    public static var generator: Self { Self(affineX: Curve.generatorX, y: Curve.generatorY) }

    public var isIdentity: Bool { z == .zero }

    /// Whether the point satisfies Y²Z = X³ + b·Z³ (the identity does).
    public var isOnCurve: Bool {
        y.squared * z == x.squared * x + Curve.b * z.squared * z
    }

    /// The affine coordinates, or nil for the identity.
    public var affine: (x: Field, y: Field)? {
        guard let inverse = z.inverse else { return nil }
        return (x * inverse, y * inverse)
    }

    /// −P = (X : −Y : Z).
    @inlinable
    public static prefix func - (point: Self) -> Self { Self(x: point.x, y: -point.y, z: point.z) }

    /// P + Q (Algorithm 7 of Renes–Costello–Batina, a = 0): 12 products, and 2 multiplications by 3b done by additions.
    @inlinable
    public static func + (p: Self, q: Self) -> Self {
        var t0 = p.x * q.x, t1 = p.y * q.y, t2 = p.z * q.z
        var t3 = p.x + p.y, t4 = q.x + q.y
        t3 = t3 * t4
        t4 = t0 + t1
        t3 = t3 - t4
        t4 = p.y + p.z
        var x3 = q.y + q.z
        t4 = t4 * x3
        x3 = t1 + t2
        t4 = t4 - x3
        x3 = p.x + p.z
        var y3 = q.x + q.z
        x3 = x3 * y3
        y3 = t0 + t2
        y3 = x3 - y3
        x3 = t0 + t0
        t0 = x3 + t0
        t2 = Curve.timesB3(t2)
        var z3 = t1 + t2
        t1 = t1 - t2
        y3 = Curve.timesB3(y3)
        x3 = t4 * y3
        t2 = t3 * t1
        x3 = t2 - x3
        y3 = y3 * t0
        t1 = t1 * z3
        y3 = t1 + y3
        t0 = t0 * t3
        z3 = z3 * t4
        z3 = z3 + t0
        return Self(x: x3, y: y3, z: z3)
    }

    @inlinable
    public static func - (p: Self, q: Self) -> Self { p + (-q) }

    /// 2P (Algorithm 9 of Renes–Costello–Batina, a = 0): 6 products, 2 squarings, 1 multiplication by 3b (additions).
    @inlinable
    public var doubled: Self {
        var t0 = y.squared
        var z3 = t0 + t0
        z3 = z3 + z3
        z3 = z3 + z3
        var t1 = y * z
        var t2 = z.squared
        t2 = Curve.timesB3(t2)
        var x3 = t2 * z3
        var y3 = t0 + t2
        z3 = t1 * z3
        t1 = t2 + t2
        t2 = t1 + t2
        t0 = t0 - t2
        y3 = t0 * y3
        y3 = x3 + y3
        t1 = x * y
        x3 = t0 * t1
        x3 = x3 + x3
        return Self(x: x3, y: y3, z: z3)
    }

    /// `a` if `mask` is all ones, `b` if it is zero (coordinate by coordinate, by mask).
    @inlinable
    public static func select(_ mask: UInt64, _ a: Self, _ b: Self) -> Self {
        Self(x: Field.select(mask, a.x, b.x), y: Field.select(mask, a.y, b.y), z: Field.select(mask, a.z, b.z))
    }

    /// k·P for a secret scalar: a fixed 4-bit window over all 64 nibbles of k's plain value. The table
    /// 0·P … 15·P is built once; each window is four doublings, a lookup that reads all 16 entries and keeps one by
    /// mask, and one complete addition (which also adds the identity correctly), so the operations and memory
    /// accesses are the same for every k.
    public func multiplied(by scalar: Fr) -> Self {
        var window = [Self.identity, self]
        for index in 2..<16 { window.append(index % 2 == 0 ? window[index / 2].doubled : window[index - 1] + self) }
        let table = FlatTable([window])
        var result = Self.identity
        for limb in scalar.plainLimbs.reversed() {
            for nibble in stride(from: 60, through: 0, by: -4) {
                result = result.doubled.doubled.doubled.doubled
                result = result + table.lookup(0, (limb >> UInt64(nibble)) & 0xf)
            }
        }
        return result
    }

    /// k·P for a public k given as limbs (least significant first): plain double-and-add, for checks such as
    /// multiplying by the group order.
    public func multiplied(byPublic limbs: [UInt64]) -> Self {
        var result = Self.identity
        for limb in limbs.reversed() {
            for bit in stride(from: 63, through: 0, by: -1) {
                result = result.doubled
                if (limb >> UInt64(bit)) & 1 == 1 { result = result + self }
            }
        }
        return result
    }

    /// Whether the point is in the prime-order subgroup by the definition: r·P is the identity. `isInSubgroup` of
    /// G1 and G2 points uses the faster endomorphism tests; this one checks them.
    public var isInSubgroupByDefinition: Bool { multiplied(byPublic: Fr.orderLimbs).isIdentity }

    /// Whether the point is in the prime-order subgroup (G1's and G2's endomorphism tests).
    public var isInSubgroup: Bool { Curve.isInSubgroup(self) }

    /// |x|·P for BLS12-381's |x| = 0xd201000000010000 (63 doublings, 5 additions).
    var timesAbsoluteX: Self { multiplied(byPublic: [0xd201_0000_0001_0000]) }
}

/// All ones if a = b, else zero, without a branch.
@inlinable @inline(__always)
func equalMask(_ a: UInt64, _ b: UInt64) -> UInt64 {
    let difference = a ^ b
    return ((difference | (0 &- difference)) >> 63) &- 1
}

/// k·B for a fixed base B and secret k: a comb of 64 windows of 4 bits, table[i][j] = j·16^i·B (1,024 points, built
/// once per base), so a product is 64 complete additions and 64 masked lookups of 16 entries, no doubling, and the
/// same operations and memory accesses for every k.
public struct FixedBaseTable<Curve: CurveParameters>: Sendable {
    public typealias Point = ProjectivePoint<Curve>
    let table: FlatTable<Point>

    public init(_ base: Point) {
        var windows: [[Point]] = []
        var power = base  // 16^i·B
        for _ in 0..<64 {
            var window = [Point.identity, power]
            for j in 2..<16 { window.append(j % 2 == 0 ? window[j / 2].doubled : window[j - 1] + power) }
            windows.append(window)
            power = power.doubled.doubled.doubled.doubled
        }
        table = FlatTable(windows)
    }

    public func multiply(_ scalar: Fr) -> Point {
        var result = Point.identity
        for (limbIndex, limb) in scalar.plainLimbs.enumerated() {
            for nibble in 0..<16 {
                result = result + table.lookup(16 * limbIndex + nibble, (limb >> UInt64(4 * nibble)) & 0xf)
            }
        }
        return result
    }
}

extension ProjectivePoint: Equatable {
    /// Equal as points: X₁Z₂ = X₂Z₁ and Y₁Z₂ = Y₂Z₁ (every representation of the identity is equal to the others).
    public static func == (p: Self, q: Self) -> Bool {
        if p.isIdentity || q.isIdentity { return p.isIdentity && q.isIdentity }
        return p.x * q.z == q.x * p.z && p.y * q.z == q.y * p.z
    }
}

extension ProjectivePoint: LimbRepresentable {
    public static var limbCount: Int { 3 * Field.limbCount }
    public func appendLimbs(to limbs: inout [UInt64]) {
        x.appendLimbs(to: &limbs); y.appendLimbs(to: &limbs); z.appendLimbs(to: &limbs)
    }
    @inlinable
    public init(limbs: UnsafeBufferPointer<UInt64>, at offset: Int) {
        let width = Field.limbCount
        self.init(x: Field(limbs: limbs, at: offset), y: Field(limbs: limbs, at: offset + width),
                  z: Field(limbs: limbs, at: offset + 2 * width))
    }
}

/// BLS12-381's G1 curve: y² = x³ + 4 over F_p.
public enum G1Curve: CurveParameters {
    public static let b = Fp(4)
    public static let b3 = Fp(12)
    @inlinable
    public static func timesB3(_ x: Fp) -> Fp {
        let x4 = x.doubled.doubled
        return x4.doubled + x4
    }
    public static let generatorX = Fp(hexConstant:
        "17f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb")
    public static let generatorY = Fp(hexConstant:
        "08b3f481e3aaa0f1a09e30ed741d8ae4fcf5e095d5d00af600db18cb2c04b3edd03cc744a2888ae40caa232946c5e7e1")
}

/// A point of G1 (projective).
public typealias G1Point = ProjectivePoint<G1Curve>

extension ProjectivePoint where Curve == G1Curve {
    /// β, the cube root of unity in F_p for which φ(x, y) = (β·x, y) acts on G1 as multiplication by −x² (mod r).
    static let beta = Fp(hexConstant: "00000000000000005f19672fdf76ce51ba69c6076a0f77eaddb3a93be6f89688de17d813620a00022e01fffffffefffe")

    /// The endomorphism φ(x, y) = (β·x, y).
    public var endomorphism: G1Point { G1Point(x: x * G1Point.beta, y: y, z: z) }

}

extension G1Curve {
    /// Membership in G1 by Scott's test, "A note on group membership tests for G1, G2 and GT on BLS pairing-friendly
    /// curves" (ePrint 2021/1130): P is in G1 exactly when φ(P) = −x²·P, two 64-bit multiplications instead of a
    /// 255-bit one. Tested to agree with `isInSubgroupByDefinition` on points in and out of G1.
    public static func isInSubgroup(_ point: G1Point) -> Bool {
        (point.timesAbsoluteX.timesAbsoluteX + point.endomorphism).isIdentity
    }
}

/// Bytes of a hexadecimal constant written in this module (never input).
func hexBytes(_ text: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2)
        bytes.append(UInt8(text[index..<next], radix: 16) ?? 0)
        index = next
    }
    return bytes
}
