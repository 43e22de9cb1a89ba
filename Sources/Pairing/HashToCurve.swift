import Crypto

/// Hashing to G1 and G2 by RFC 9380, "Hashing to Elliptic Curves": the random-oracle suites
/// BLS12381G1_XMD:SHA-256_SSWU_RO_ and BLS12381G2_XMD:SHA-256_SSWU_RO_ (Section 8.8). Each hash is
/// `expand_message_xmd` with SHA-256 (Section 5.3.1), `hash_to_field` into two field elements (Section 5.2, L = 64),
/// the simplified SWU map onto a curve isogenous to ours (Section 6.6.2) and the isogeny (Appendix E.2, E.3), the sum of
/// the two points, and the multiplication by h_eff that clears the cofactor (Section 7).
///
/// The inputs hashed here are public (identities, attribute names), and the map is not written to be constant-time:
/// it branches on whether a value is square. Docs/crypto.md says so.
public enum HashToCurve {
    /// The longest output `expand_message_xmd` gives with SHA-256: 255 blocks of 32 bytes.
    public static let maximumExpandedLength = 255 * 32

    /// `expand_message_xmd(msg, DST, len_in_bytes)` with SHA-256 (RFC 9380, Section 5.3.1), including the rule for
    /// domain separation tags longer than 255 bytes (Section 5.3.3).
    public static func expandMessageXMD(
        _ message: some Collection<UInt8>, domain: some Collection<UInt8>, length: Int
    ) throws(PairingError) -> [UInt8] {
        guard !domain.isEmpty else { throw PairingError(.invalidHashInput, "a domain separation tag is not empty") }
        guard length > 0, length <= maximumExpandedLength else {
            throw PairingError(.invalidHashInput, "expand_message_xmd gives 1 to \(maximumExpandedLength) bytes, not \(length)")
        }
        var tag = Array(domain)
        if tag.count > 255 { tag = Array(SHA256.hash(data: Array("H2C-OVERSIZE-DST-".utf8) + tag)) }
        let tagPrime = tag + [UInt8(tag.count)]
        let blocks = (length + 31) / 32

        var first = SHA256()
        first.update(data: [UInt8](repeating: 0, count: 64))  // Z_pad: one SHA-256 input block of zeros
        first.update(data: Array(message))
        first.update(data: [UInt8(length >> 8), UInt8(length & 0xff), 0])
        first.update(data: tagPrime)
        let b0 = Array(first.finalize())

        var output: [UInt8] = []
        output.reserveCapacity(blocks * 32)
        var previous = [UInt8](repeating: 0, count: 32)  // b_0 xor b_0 = 0 makes the first block's input b_0 ‖ 1
        for index in 1...blocks {
            var block = SHA256()
            block.update(data: zip(b0, previous).map { $0 ^ $1 })
            block.update(data: [UInt8(index)])
            block.update(data: tagPrime)
            previous = Array(block.finalize())
            output += previous
        }
        return Array(output.prefix(length))
    }

    /// `hash_to_field` for F_p (Section 5.2): `count` elements, each the reduction mod p of 64 expanded bytes.
    public static func hashToFp(
        _ message: some Collection<UInt8>, domain: some Collection<UInt8>, count: Int
    ) throws(PairingError) -> [Fp] {
        let bytes = try expandMessageXMD(message, domain: domain, length: 64 * count)
        return (0..<count).map { Fp(reducing64: bytes[(64 * $0)..<(64 * $0 + 64)]) }
    }

    /// `hash_to_field` for F_p² (Section 5.2): `count` elements, each two reductions of 64 bytes (c0, then c1).
    public static func hashToFp2(
        _ message: some Collection<UInt8>, domain: some Collection<UInt8>, count: Int
    ) throws(PairingError) -> [Fp2] {
        let bytes = try expandMessageXMD(message, domain: domain, length: 128 * count)
        return (0..<count).map { index in
            Fp2(Fp(reducing64: bytes[(128 * index)..<(128 * index + 64)]),
                Fp(reducing64: bytes[(128 * index + 64)..<(128 * index + 128)]))
        }
    }

    /// The simplified SWU map of u onto y² = x³ + A·x + B (Section 6.6.2, the straight-line description), affine.
    static func simplifiedSWU<F: SWUField>(_ u: F, a: F, b: F, z: F) -> (x: F, y: F) {
        let zu2 = z * u.squared
        let denominator = zu2.squared + zu2
        let x1: F
        if let tv1 = denominator.inverse {
            x1 = (-b * (a.inverse ?? .zero)) * (F.one + tv1)
        } else {
            x1 = b * ((z * a).inverse ?? .zero)  // the exceptional u: g(B/(Z·A)) is square by the choice of Z
        }
        let gx1 = (x1.squared + a) * x1 + b
        var x: F, y: F
        if let root = gx1.squareRoot {
            (x, y) = (x1, root)
        } else {
            x = zu2 * x1
            y = ((x.squared + a) * x + b).squareRoot ?? .zero  // g(x2) = Z³u⁶·g(x1) is square when g(x1) is not
        }
        if u.sign != y.sign { y = -y }
        return (x, y)
    }

    /// A polynomial with coefficients constant term first, at x (Horner's rule).
    static func evaluate<F: PairingField>(_ coefficients: [F], at x: F) -> F {
        var result = F.zero
        for coefficient in coefficients.reversed() { result = result * x + coefficient }
        return result
    }

    /// The rational map (x, y) ↦ (xNum(x)/xDen(x), y·yNum(x)/yDen(x)), as a projective point; a zero denominator
    /// (a point of the kernel) gives the identity.
    static func isogeny<Curve: CurveParameters>(
        _ point: (x: Curve.Field, y: Curve.Field),
        _ maps: (xNumerator: [Curve.Field], xDenominator: [Curve.Field], yNumerator: [Curve.Field], yDenominator: [Curve.Field])
    ) -> ProjectivePoint<Curve> {
        let xNumerator = evaluate(maps.xNumerator, at: point.x), xDenominator = evaluate(maps.xDenominator, at: point.x)
        let yNumerator = evaluate(maps.yNumerator, at: point.x) * point.y
        let yDenominator = evaluate(maps.yDenominator, at: point.x)
        let z = xDenominator * yDenominator
        if z == .zero { return .identity }
        return ProjectivePoint(x: xNumerator * yDenominator, y: yNumerator * xDenominator, z: z)
    }
}

/// A field the simplified SWU map runs over: F_p for G1, F_p² for G2.
protocol SWUField: PairingField {
    var squareRoot: Self? { get }
    /// sgn0 (RFC 9380, Section 4.1).
    var sign: Bool { get }
}

extension Fp: SWUField {
    /// sgn0: the parity of the plain value.
    var sign: Bool { montgomeryReduced.l0 & 1 == 1 }

    /// A constant written in this module in hexadecimal (never input); 96 digits.
    init(hexConstant: String) {
        self = (try? Fp(bytes: hexBytes(hexConstant))) ?? .zero
    }

    /// The reduction mod p of a 64-byte big-endian value: high · 2^256 + low, each half below p.
    init(reducing64 bytes: some Collection<UInt8>) {
        let bytes = Array(bytes)
        let padding = [UInt8](repeating: 0, count: 16)
        let high = (try? Fp(bytes: padding + bytes[0..<32])) ?? .zero, low = (try? Fp(bytes: padding + bytes[32..<64])) ?? .zero
        self = high * Fp.twoTo256 + low
    }

    /// 2^256 mod p (below p as it stands).
    static let twoTo256 = (try? Fp(bytes: [UInt8](repeating: 0, count: 15) + [1] + [UInt8](repeating: 0, count: 32))) ?? .zero
}

extension Fp2: SWUField {
    /// sgn0 for F_p²: the sign of c0, or of c1 when c0 is zero.
    var sign: Bool { c0.sign || (c0.isZero && c1.sign) }
}

extension ProjectivePoint where Curve == G1Curve {
    /// hash_to_curve for the suite BLS12381G1_XMD:SHA-256_SSWU_RO_ under the domain separation tag `domain`.
    public static func hash(_ message: some Collection<UInt8>, domain: some Collection<UInt8>) throws(PairingError) -> G1Point {
        let u = try HashToCurve.hashToFp(message, domain: domain, count: 2)
        return (map(u[0]) + map(u[1])).multiplied(byPublic: HashToCurveConstants.g1CofactorLimbs)
    }

    /// map_to_curve: the simplified SWU map onto E' and the 11-isogeny to E (no cofactor clearing).
    public static func map(_ u: Fp) -> G1Point {
        let c = HashToCurveConstants.self
        let point = HashToCurve.simplifiedSWU(u, a: c.g1A, b: c.g1B, z: c.g1Z)
        return HashToCurve.isogeny(point, (c.g1XNumerator, c.g1XDenominator, c.g1YNumerator, c.g1YDenominator))
    }
}

extension ProjectivePoint where Curve == G2Curve {
    /// hash_to_curve for the suite BLS12381G2_XMD:SHA-256_SSWU_RO_ under the domain separation tag `domain`.
    public static func hash(_ message: some Collection<UInt8>, domain: some Collection<UInt8>) throws(PairingError) -> G2Point {
        let u = try HashToCurve.hashToFp2(message, domain: domain, count: 2)
        return (map(u[0]) + map(u[1])).multiplied(byPublic: HashToCurveConstants.g2CofactorLimbs)
    }

    /// map_to_curve: the simplified SWU map onto E' and the 3-isogeny to E (no cofactor clearing).
    public static func map(_ u: Fp2) -> G2Point {
        let c = HashToCurveConstants.self
        let point = HashToCurve.simplifiedSWU(u, a: c.g2A, b: c.g2B, z: c.g2Z)
        return HashToCurve.isogeny(point, (c.g2XNumerator, c.g2XDenominator, c.g2YNumerator, c.g2YDenominator))
    }
}
