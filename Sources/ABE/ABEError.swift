import CodedErrors

/// An ABE input refused or an operation that cannot go on: a policy that does not parse, keys that do not satisfy a
/// policy, bytes that are not a ciphertext. The codes are stable and documented (Docs/abe.md, "Errors").
public typealias ABEError = CodedError<ABEErrors>

/// The family of `ABEError`.
public enum ABEErrors: ErrorDomain {
    public static let prefix = ""
}

extension CodedError<ABEErrors>.Code {
    /// Policy text that does not follow the grammar, an attribute name that is not `AUTHORITY.name`, or a
    /// threshold out of range.
    public static let invalidPolicy = Self(rawValue: "invalid_policy")
    /// A policy over the limits: too many attributes, too deep, or too long.
    public static let policyTooLarge = Self(rawValue: "policy_too_large")
    /// An attribute named twice in one policy.
    public static let duplicateAttribute = Self(rawValue: "duplicate_attribute")
    /// Encryption under an authority whose public key was not given, or an attribute without a version.
    public static let unknownAuthority = Self(rawValue: "unknown_authority")
    /// The keys held do not satisfy the ciphertext's policy (at the versions and epochs it was made under).
    public static let notSatisfied = Self(rawValue: "not_satisfied")
    /// Bytes that are not a well-formed ciphertext, key or envelope.
    public static let invalidEncoding = Self(rawValue: "invalid_encoding")
    /// A key that does not belong where it is used: another user's, or for another attribute.
    public static let invalidKey = Self(rawValue: "invalid_key")
    /// The wrapped data key failed to open (AES-GCM authentication): a tampered or corrupted envelope.
    public static let openFailed = Self(rawValue: "open_failed")
}
