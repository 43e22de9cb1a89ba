/// G1's standard compressed encoding (the one of the ZCash BLS12-381 specification, used by IETF and Ethereum): 48
/// bytes, x big-endian, with the three top bits of the first byte as flags: 0x80 compressed (always set here), 0x40
/// the point at infinity (every other bit zero), 0x20 y is the lexicographically largest of ±y.
extension ProjectivePoint where Curve == G1Curve {
    public static let compressedByteCount = 48

    /// The 48-byte compressed encoding.
    public var compressed: [UInt8] {
        guard let (x, y) = affine else { return [0xc0] + [UInt8](repeating: 0, count: 47) }
        var bytes = x.bytes
        bytes[0] |= 0x80
        if y.isLexicographicallyLargest { bytes[0] |= 0x20 }
        return bytes
    }

    /// The point a compressed encoding names, refused unless canonical, on the curve and in the prime-order
    /// subgroup (`invalid_encoding`, `not_on_curve`, `not_in_subgroup`).
    public init(compressed bytes: some Collection<UInt8>) throws(PairingError) {
        var array = Array(bytes)
        guard array.count == Self.compressedByteCount else {
            throw PairingError(.invalidEncoding, "a compressed G1 point is 48 bytes, not \(array.count)")
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
        let x = try Fp(bytes: array)
        guard var y = (x.squared * x + G1Curve.b).squareRoot else {
            throw PairingError(.notOnCurve, "no point of G1's curve has this x")
        }
        if y.isLexicographicallyLargest != (flags & 0x20 != 0) { y = -y }
        let point = Self(affineX: x, y: y)
        guard point.isInSubgroup else { throw PairingError(.notInSubgroup, "the point is not in G1's prime-order subgroup") }
        self = point
    }
}
