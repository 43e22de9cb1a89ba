import CodedErrors

/// A pairing-group input refused: bytes that are not a canonical field element, or not a point of the group.
/// The codes are stable and documented (Docs/crypto.md, "BLS12-381").
public typealias PairingError = CodedError<PairingErrors>

/// The family of `PairingError`.
public enum PairingErrors: ErrorDomain {
    public static let prefix = ""
}

extension CodedError<PairingErrors>.Code {
    /// Bytes of the wrong length, a field element not below its modulus, or flag bits that do not fit.
    public static let invalidEncoding = Self(rawValue: "invalid_encoding")
    /// A point that is not on the curve.
    public static let notOnCurve = Self(rawValue: "not_on_curve")
    /// A point on the curve but outside the prime-order subgroup.
    public static let notInSubgroup = Self(rawValue: "not_in_subgroup")
    /// A hash-to-curve request out of RFC 9380's bounds: an empty domain separation tag, or an output length
    /// `expand_message_xmd` cannot give.
    public static let invalidHashInput = Self(rawValue: "invalid_hash_input")
}
