#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Crypto

/// AES-256-GCM with 96-bit nonces and 128-bit tags (NIST SP 800-38D), through swift-crypto.
public enum AESGCM {
    public static let keyByteCount = 32
    public static let nonceByteCount = 12
    public static let tagByteCount = 16

    /// Encrypts `plaintext`; returns ciphertext followed by the 16-byte tag.
    public static func seal(
        _ plaintext: some DataProtocol, key: [UInt8], nonce: [UInt8], authenticating aad: some DataProtocol
    ) throws(TwinCryptoError) -> [UInt8] {
        let (symmetricKey, gcmNonce) = try parameters(key: key, nonce: nonce)
        do {
            let box = try AES.GCM.seal(plaintext, using: symmetricKey, nonce: gcmNonce, authenticating: aad)
            var out = [UInt8](box.ciphertext)
            out.append(contentsOf: box.tag)
            return out
        } catch {
            throw TwinCryptoError(.internalFailure, "AES-GCM seal: \(error)")
        }
    }

    /// Decrypts ciphertext-and-tag produced by `seal`; fails with `authenticationFailed` on any alteration.
    public static func open(
        _ sealed: [UInt8], key: [UInt8], nonce: [UInt8], authenticating aad: some DataProtocol
    ) throws(TwinCryptoError) -> [UInt8] {
        let (symmetricKey, gcmNonce) = try parameters(key: key, nonce: nonce)
        guard sealed.count >= tagByteCount else {
            throw TwinCryptoError(.invalidLength, "sealed box of \(sealed.count) bytes is shorter than its tag")
        }
        do {
            let box = try AES.GCM.SealedBox(
                nonce: gcmNonce, ciphertext: sealed.dropLast(tagByteCount), tag: sealed.suffix(tagByteCount)
            )
            return [UInt8](try AES.GCM.open(box, using: symmetricKey, authenticating: aad))
        } catch {
            throw TwinCryptoError(.authenticationFailed, "AES-GCM tag did not verify")
        }
    }

    private static func parameters(key: [UInt8], nonce: [UInt8]) throws(TwinCryptoError) -> (SymmetricKey, AES.GCM.Nonce) {
        guard key.count == keyByteCount else {
            throw TwinCryptoError(.invalidLength, "AES-256 key must be 32 bytes, got \(key.count)")
        }
        guard nonce.count == nonceByteCount, let gcmNonce = try? AES.GCM.Nonce(data: nonce) else {
            throw TwinCryptoError(.invalidLength, "GCM nonce must be 12 bytes, got \(nonce.count)")
        }
        return (SymmetricKey(data: key), gcmNonce)
    }
}

/// HKDF with HMAC-SHA256 (RFC 5869), through swift-crypto.
public enum HKDFSHA256 {
    /// The extract step: PRK = HMAC-SHA256(salt, IKM). An empty salt means 32 zero bytes, as the RFC says.
    public static func extract(ikm: [UInt8], salt: [UInt8]) -> [UInt8] {
        [UInt8](HKDF<SHA256>.extract(inputKeyMaterial: SymmetricKey(data: ikm), salt: salt))
    }

    /// The expand step: `length` bytes of OKM from PRK and `info`; at most 255 * 32 bytes.
    public static func expand(prk: [UInt8], info: [UInt8], length: Int) throws(TwinCryptoError) -> [UInt8] {
        guard length > 0, length <= 255 * 32 else {
            throw TwinCryptoError(.invalidLength, "HKDF-SHA256 output must be 1...8160 bytes, got \(length)")
        }
        let key = HKDF<SHA256>.expand(pseudoRandomKey: prk, info: info, outputByteCount: length)
        return key.withUnsafeBytes { [UInt8]($0) }
    }

    /// Extract then expand.
    public static func derive(ikm: [UInt8], salt: [UInt8], info: [UInt8], length: Int) throws(TwinCryptoError) -> [UInt8] {
        try expand(prk: extract(ikm: ikm, salt: salt), info: info, length: length)
    }
}
