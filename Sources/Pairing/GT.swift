/// GT, the order-r subgroup of F_p¹²* where the pairing lands: its standard generator, the canonical 576-byte
/// encoding, and powers by secret scalars.
extension Fp12 {
    /// Encoded size: twelve F_p coefficients of 48 bytes.
    public static let byteCount = 576

    /// The twelve F_p coefficients in tower order, c0.c0.c0, c0.c0.c1, c0.c1.c0, … c1.c2.c1 (the element is
    /// Σ c_i.c_j.c_k · u^k · v^j · w^i), each 48 bytes big-endian: Docs/abe.md, "Encodings".
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Fp12.byteCount)
        for half in [c0, c1] {
            for coefficient in [half.c0, half.c1, half.c2] { out += coefficient.c0.bytes + coefficient.c1.bytes }
        }
        return out
    }

    /// The element these 576 bytes encode, each coefficient below p. Membership in GT is not checked here (it costs
    /// an exponentiation by r); Docs/abe.md says where that is and is not needed.
    public init(bytes: some Collection<UInt8>) throws(PairingError) {
        let bytes = Array(bytes)
        guard bytes.count == Fp12.byteCount else {
            throw PairingError(.invalidEncoding, "an F_p^12 element is 576 bytes, not \(bytes.count)")
        }
        var f: [Fp] = []
        for index in 0..<12 { f.append(try Fp(bytes: bytes[(48 * index)..<(48 * index + 48)])) }
        self.init(Fp6(Fp2(f[0], f[1]), Fp2(f[2], f[3]), Fp2(f[4], f[5])),
                  Fp6(Fp2(f[6], f[7]), Fp2(f[8], f[9]), Fp2(f[10], f[11])))
    }

    /// Whether self is in GT: self^r = 1 (an exponentiation; for inputs where it matters).
    public var isInGT: Bool { !isZero && pow(Fr.orderLimbs) == .one }

    public var isZero: Bool { self == .zero }

    /// e(g1, g2), the generator of GT the ABE scheme writes gT.
    public static let gtGenerator = Pairing.pairing(.generator, .generator)

    /// self^k for a secret k, self in GT: a fixed 4-bit window over all 64 nibbles of k's plain value (cyclotomic
    /// squarings), the table entry picked by masked selection over all 16 entries, so the operations and memory
    /// accesses are the same for every k.
    public func power(_ scalar: Fr) -> Fp12 {
        var window = [Fp12.one, self]
        for _ in 2..<16 { window.append(window[window.count - 1] * self) }
        let table = FlatTable([window])
        var result = Fp12.one
        for limb in scalar.plainLimbs.reversed() {
            for nibble in stride(from: 60, through: 0, by: -4) {
                result = result.cyclotomicSquared.cyclotomicSquared.cyclotomicSquared.cyclotomicSquared
                result = result * table.lookup(0, (limb >> UInt64(nibble)) & 0xf)
            }
        }
        return result
    }
}

/// g^k for a fixed g in GT and secret k: the comb of `FixedBaseTable`, table[i][j] = g^(j·16^i) (1,024 elements,
/// 590 KB, built once per base), so a power is 64 products and 64 masked lookups of 16 entries.
public struct GTFixedBase: Sendable {
    let table: FlatTable<Fp12>

    public init(_ base: Fp12) {
        var windows: [[Fp12]] = []
        var power = base
        for _ in 0..<64 {
            var window = [Fp12.one, power]
            for j in 2..<16 { window.append(window[j - 1] * power) }
            windows.append(window)
            power = power.cyclotomicSquared.cyclotomicSquared.cyclotomicSquared.cyclotomicSquared
        }
        table = FlatTable(windows)
    }

    public func power(_ scalar: Fr) -> Fp12 {
        var result = Fp12.one
        for (limbIndex, limb) in scalar.plainLimbs.enumerated() {
            for nibble in 0..<16 {
                result = result * table.lookup(16 * limbIndex + nibble, (limb >> UInt64(4 * nibble)) & 0xf)
            }
        }
        return result
    }
}
