import Encoding
import Pairing
import TwinCrypto

/// A data key wrapped under a policy: an RW15 ciphertext of a fresh random m ∈ GT, and the data key sealed with
/// AES-256-GCM under KEK = HKDF-SHA256(m's 576 bytes, salt empty, info "TWINLEDGER-V01-ABE-KEK"), the ciphertext's
/// canonical bytes as associated data (Docs/abe.md, "Wrapping a data key"). Any change to the ciphertext — a
/// component, the policy, a version, an epoch — changes either m or the associated data, so opening fails
/// (open_failed) instead of returning a wrong key.
public struct ABEEnvelope: Sendable, Equatable {
    public static let kdfInfo = Array("TWINLEDGER-V01-ABE-KEK".utf8)
    /// The longest data key wrapped.
    public static let keyBytesMax = 64

    public let ciphertext: ABECiphertext
    public let nonce: [UInt8]
    public let sealedKey: [UInt8]

    public init(ciphertext: ABECiphertext, nonce: [UInt8], sealedKey: [UInt8]) {
        (self.ciphertext, self.nonce, self.sealedKey) = (ciphertext, nonce, sealedKey)
    }

    /// Wraps `dataKey` (1-64 bytes) under `policy`.
    public static func seal(
        _ dataKey: [UInt8], policy: Policy, authorities: [String: AuthorityPublicKey], versions: [AttributeName: UInt64],
        using generator: inout some RandomNumberGenerator
    ) throws(ABEError) -> ABEEnvelope {
        guard (1...keyBytesMax).contains(dataKey.count) else {
            throw ABEError(.invalidKey, "a wrapped data key is 1-\(keyBytesMax) bytes, not \(dataKey.count)")
        }
        let m = Precomputed.gT.power(Fr.random(using: &generator))
        let ciphertext = try RW15.encrypt(m, policy: policy, authorities: authorities, versions: versions, using: &generator)
        var nonce = [UInt8](repeating: 0, count: AESGCM.nonceByteCount)
        for index in nonce.indices { nonce[index] = UInt8.random(in: .min ... .max, using: &generator) }
        do {
            let sealed = try AESGCM.seal(dataKey, key: try kek(m), nonce: nonce, authenticating: ciphertext.bytes)
            return ABEEnvelope(ciphertext: ciphertext, nonce: nonce, sealedKey: sealed)
        } catch {
            throw ABEError(.invalidKey, "sealing the data key: \(error)")
        }
    }

    /// The data key, for the user `gid` holding `keys`.
    public func open(gid: [UInt8], keys: [AttributeKey]) throws(ABEError) -> [UInt8] {
        let m = try RW15.decrypt(ciphertext, gid: gid, keys: keys)
        do {
            return try AESGCM.open(sealedKey, key: try ABEEnvelope.kek(m), nonce: nonce, authenticating: ciphertext.bytes)
        } catch {
            throw ABEError(.openFailed, "the wrapped data key did not authenticate: the envelope was altered")
        }
    }

    static func kek(_ m: Fp12) throws(TwinCryptoError) -> [UInt8] {
        try HKDFSHA256.derive(ikm: m.bytes, salt: [], info: kdfInfo, length: AESGCM.keyByteCount)
    }
}

extension ABEEnvelope: CanonicalCodable {
    /// ciphertext (its body), nonce (12 bytes), sealed key (bytes: key and 16-byte tag).
    public func encode(to writer: inout CanonicalWriter) {
        writer.write(ciphertext)
        writer.write(fixed: nonce)
        writer.write(bytes: sealedKey)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        let ciphertext = try ABECiphertext(from: &reader)
        let nonce = try reader.readFixed(AESGCM.nonceByteCount)
        let sealed = try reader.readBytes(limit: ABEEnvelope.keyBytesMax + AESGCM.tagByteCount)
        guard sealed.count > AESGCM.tagByteCount else { throw reader.invalidValue("the sealed key is shorter than its tag") }
        self.init(ciphertext: ciphertext, nonce: nonce, sealedKey: sealed)
    }

    public var bytes: [UInt8] { Canonical.encode(self) }
    public init(bytes: some Collection<UInt8>) throws(ABEError) {
        self = try decodeABE(ABEEnvelope.self, bytes, "an ABE envelope")
    }
}
