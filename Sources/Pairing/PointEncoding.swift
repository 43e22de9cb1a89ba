/// A field points' coordinates live in (F_p for G1, F_p² for G2): what the compressed encoding needs of it.
public protocol CoordinateField: PairingField {
    static var byteCount: Int { get }
    init(bytes: some Collection<UInt8>) throws(PairingError)
    var bytes: [UInt8] { get }
    var squareRoot: Self? { get }
    var isLexicographicallyLargest: Bool { get }
}

extension Fp: CoordinateField {}
extension Fp2: CoordinateField {}

/// The standard compressed encoding of G1 and G2 points (the ZCash BLS12-381 serialization, as IETF and Ethereum use
/// it): x in `Field.byteCount` bytes (G1: 48 bytes big-endian; G2: c1 ‖ c0, 96 bytes), with the first byte's three
/// top bits as flags: 0x80 compressed (always set here), 0x40 the point at infinity (every other bit zero), 0x20 y is
/// the lexicographically largest of ±y.
extension ProjectivePoint where Curve.Field: CoordinateField {
    public static var compressedByteCount: Int { Field.byteCount }

    /// The compressed encoding.
    public var compressed: [UInt8] {
        guard let (x, y) = affine else { return [0xc0] + [UInt8](repeating: 0, count: Field.byteCount - 1) }
        var bytes = x.bytes
        bytes[0] |= 0x80
        if y.isLexicographicallyLargest { bytes[0] |= 0x20 }
        return bytes
    }

    /// The point a compressed encoding names, refused unless canonical, on the curve and in the prime-order
    /// subgroup (`invalid_encoding`, `not_on_curve`, `not_in_subgroup`).
    public init(compressed bytes: some Collection<UInt8>) throws(PairingError) {
        var array = Array(bytes)
        guard array.count == Field.byteCount else {
            throw PairingError(.invalidEncoding, "a compressed point here is \(Field.byteCount) bytes, not \(array.count)")
        }
        let flags = array[0] & 0xe0
        guard flags & 0x80 != 0 else { throw PairingError(.invalidEncoding, "the compression flag is not set") }
        array[0] &= 0x1f
        if flags & 0x40 != 0 {
            guard flags & 0x20 == 0, array.allSatisfy({ $0 == 0 }) else {
                throw PairingError(.invalidEncoding, "the point at infinity has other bits set")
            }
            self = .identity
            return
        }
        let x = try Field(bytes: array)
        guard var y = (x.squared * x + Curve.b).squareRoot else {
            throw PairingError(.notOnCurve, "no point of the curve has this x")
        }
        if y.isLexicographicallyLargest != (flags & 0x20 != 0) { y = -y }
        let point = Self(affineX: x, y: y)
        guard point.isInSubgroup else { throw PairingError(.notInSubgroup, "the point is not in the prime-order subgroup") }
        self = point
    }
}
