/// A cryptographic operation refused its input. The code is stable and documented (Docs/crypto.md).
public struct TwinCryptoError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A secret key that is zero or not below the group order, or of the wrong length.
        public static let invalidSecretKey = Code(rawValue: "invalid_secret_key")
        /// A public key that is not a valid x coordinate on secp256k1, or of the wrong length.
        public static let invalidPublicKey = Code(rawValue: "invalid_public_key")
        /// A signature of the wrong length.
        public static let invalidSignature = Code(rawValue: "invalid_signature")
        /// A key, nonce or input of the wrong length for the primitive.
        public static let invalidLength = Code(rawValue: "invalid_length")
        /// AEAD authentication failed: wrong key, or ciphertext, nonce or associated data altered.
        public static let authenticationFailed = Code(rawValue: "authentication_failed")
        /// An envelope shorter or longer than its format allows.
        public static let malformedEnvelope = Code(rawValue: "malformed_envelope")
        /// An envelope or key file version this build does not know.
        public static let unsupportedVersion = Code(rawValue: "unsupported_version")
        /// An envelope addressed to another key.
        public static let wrongRecipient = Code(rawValue: "wrong_recipient")
        /// The operating system's random source failed.
        public static let randomnessUnavailable = Code(rawValue: "randomness_unavailable")
        /// A library call failed for a reason its inputs do not explain.
        public static let internalFailure = Code(rawValue: "internal_failure")
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
