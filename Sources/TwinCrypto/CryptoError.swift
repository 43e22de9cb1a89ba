import CodedErrors

/// A cryptographic operation refused its input. The code is stable and documented (Docs/crypto.md).
public typealias TwinCryptoError = CodedError<TwinCryptoErrors>

/// The family of `TwinCryptoError`.
public enum TwinCryptoErrors: ErrorDomain {
    public static let prefix = ""
}

extension CodedError<TwinCryptoErrors>.Code {
    /// A secret key that is zero or not below the group order, or of the wrong length.
    public static let invalidSecretKey = Self(rawValue: "invalid_secret_key")
    /// A public key that is not a valid x coordinate on secp256k1, or of the wrong length.
    public static let invalidPublicKey = Self(rawValue: "invalid_public_key")
    /// A signature of the wrong length.
    public static let invalidSignature = Self(rawValue: "invalid_signature")
    /// A key, nonce or input of the wrong length for the primitive.
    public static let invalidLength = Self(rawValue: "invalid_length")
    /// AEAD authentication failed: wrong key, or ciphertext, nonce or associated data altered.
    public static let authenticationFailed = Self(rawValue: "authentication_failed")
    /// An envelope shorter or longer than its format allows.
    public static let malformedEnvelope = Self(rawValue: "malformed_envelope")
    /// An envelope or key file version this build does not know.
    public static let unsupportedVersion = Self(rawValue: "unsupported_version")
    /// An envelope addressed to another key.
    public static let wrongRecipient = Self(rawValue: "wrong_recipient")
    /// The operating system's random source failed.
    public static let randomnessUnavailable = Self(rawValue: "randomness_unavailable")
    /// A library call failed for a reason its inputs do not explain.
    public static let internalFailure = Self(rawValue: "internal_failure")
}
