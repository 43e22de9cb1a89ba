import Encoding

/// A key envelope: a 32-byte data key wrapped for one secp256k1 recipient (ECIES).
///
/// Format version 1, 113 bytes (Docs/crypto.md, "Key envelopes"):
///
///     version (1) = 0x01 | recipient key id (32) | ephemeral x-only key (32) | wrapped key (32) | GCM tag (16)
///
/// The sender draws an ephemeral key e, computes the x coordinate of e·P for the recipient's key P (libsecp256k1 ECDH
/// keeping x only), derives 44 bytes with HKDF-SHA256 (salt = ephemeral key || recipient key,
/// info = "TwinLedger/envelope/v1") as an AES-256-GCM key and nonce, and seals the data key with the version byte
/// and the recipient's key id as associated data. Each envelope has its own ephemeral key, so no key–nonce pair repeats.
public struct KeyEnvelope: Hashable, Sendable {
    public static let version: UInt8 = 1
    public static let byteCount = 1 + 32 + 32 + 32 + 16
    public static let dataKeyByteCount = 32
    static let info = Array("TwinLedger/envelope/v1".utf8)

    /// The envelope's bytes, as stored in the blob store and referenced from the ledger.
    public let bytes: [UInt8]

    /// The id (SHA3-256 of the x-only key) of the key that can open it.
    public var recipientKeyID: Hash32 {
        // Length is checked at construction, so the slice is always 32 bytes.
        Hash32(unsafeUninitializedBytes: { $0.copyBytes(from: bytes[1..<33]) })
    }

    /// Wraps `dataKey` (32 bytes) for `recipient`.
    public static func wrap(dataKey: [UInt8], for recipient: PublicKey) throws(TwinCryptoError) -> KeyEnvelope {
        try wrap(dataKey: dataKey, for: recipient, ephemeral: SecretKey())
    }

    /// Wrapping with a chosen ephemeral key: only for reproducing independent test vectors. Reusing an ephemeral
    /// key for two data keys to one recipient would reuse a GCM key and nonce.
    static func wrap(dataKey: [UInt8], for recipient: PublicKey, ephemeral: SecretKey) throws(TwinCryptoError) -> KeyEnvelope {
        guard dataKey.count == dataKeyByteCount else {
            throw TwinCryptoError(.invalidLength, "data key must be 32 bytes, got \(dataKey.count)")
        }
        let shared = try ephemeral.sharedX(with: recipient)
        let header = [version] + recipient.keyID.bytes
        let (key, nonce) = try derive(shared: shared, ephemeral: ephemeral.publicKey, recipient: recipient)
        let sealed = try AESGCM.seal(dataKey, key: key, nonce: nonce, authenticating: header)
        return KeyEnvelope(validated: header + ephemeral.publicKey.bytes + sealed)
    }

    /// Parses envelope bytes, checking length and version only; `unwrap` does the rest.
    public init(bytes: [UInt8]) throws(TwinCryptoError) {
        guard let first = bytes.first else { throw TwinCryptoError(.malformedEnvelope, "empty envelope") }
        guard first == Self.version else {
            throw TwinCryptoError(.unsupportedVersion, "envelope version \(first), expected \(Self.version)")
        }
        guard bytes.count == Self.byteCount else {
            throw TwinCryptoError(.malformedEnvelope, "envelope is \(bytes.count) bytes, expected \(Self.byteCount)")
        }
        self.bytes = bytes
    }

    private init(validated bytes: [UInt8]) { self.bytes = bytes }

    /// Recovers the data key with the recipient's secret key.
    public func unwrap(with secretKey: SecretKey) throws(TwinCryptoError) -> [UInt8] {
        guard recipientKeyID == secretKey.publicKey.keyID else {
            throw TwinCryptoError(.wrongRecipient, "envelope is for key \(recipientKeyID.hex.prefix(16))…")
        }
        let ephemeral: PublicKey
        do {
            ephemeral = try PublicKey(bytes: Array(bytes[33..<65]))
        } catch {
            throw TwinCryptoError(.malformedEnvelope, "ephemeral key is not on secp256k1")
        }
        let shared = try secretKey.sharedX(with: ephemeral)
        let (key, nonce) = try Self.derive(shared: shared, ephemeral: ephemeral, recipient: secretKey.publicKey)
        return try AESGCM.open(Array(bytes[65...]), key: key, nonce: nonce, authenticating: bytes[0..<33])
    }

    private static func derive(
        shared: [UInt8], ephemeral: PublicKey, recipient: PublicKey
    ) throws(TwinCryptoError) -> (key: [UInt8], nonce: [UInt8]) {
        let okm = try HKDFSHA256.derive(
            ikm: shared, salt: ephemeral.bytes + recipient.bytes, info: info,
            length: AESGCM.keyByteCount + AESGCM.nonceByteCount
        )
        return (Array(okm[0..<32]), Array(okm[32..<44]))
    }
}
