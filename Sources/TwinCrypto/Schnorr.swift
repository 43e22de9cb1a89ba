#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import CSecp256k1
import Encoding

/// A secp256k1 secret key, able to sign BIP340 Schnorr signatures.
///
/// The secret (the 32-byte scalar and libsecp256k1's 96-byte keypair) lives in memory this object allocates and
/// zeroes when it is released; it is never copied into Swift arrays except through `unsafeSecretBytes()`, which key
/// files and envelopes call.
public final class SecretKey: @unchecked Sendable {
    /// The 32-byte scalar, then the `secp256k1_keypair` (96 bytes) derived from it.
    private let secret: UnsafeMutableRawBufferPointer
    private let keypair: UnsafeMutablePointer<secp256k1_keypair>
    /// The BIP340 x-only public key.
    public let publicKey: PublicKey

    /// A fresh key from the operating system's CSPRNG.
    public convenience init() throws(TwinCryptoError) {
        // A random 32-byte string is a valid scalar except with probability about 2^-128; retry on that event.
        var attempts = 0
        while true {
            attempts += 1
            var candidate = SecureRandom.bytes(32)
            defer { zeroize(&candidate) }
            if let key = try? SecretKey(bytes: candidate) {
                self.init(taking: key)
                return
            }
            if attempts > 8 { throw TwinCryptoError(.randomnessUnavailable, "the random source yields no valid scalars") }
        }
    }

    /// A key from its 32-byte big-endian scalar; fails unless 0 < scalar < n.
    public init(bytes: [UInt8]) throws(TwinCryptoError) {
        let context = Secp256k1Context.shared.pointer
        guard bytes.count == 32 else {
            throw TwinCryptoError(.invalidSecretKey, "secret key must be 32 bytes, got \(bytes.count)")
        }
        guard secp256k1_ec_seckey_verify(context, bytes) == 1 else {
            throw TwinCryptoError(.invalidSecretKey, "secret key is zero or not below the group order")
        }
        secret = .allocate(byteCount: 32, alignment: 8)
        secret.copyBytes(from: bytes)
        keypair = .allocate(capacity: 1)
        keypair.initialize(to: secp256k1_keypair())
        var xonly = secp256k1_xonly_pubkey()
        guard secp256k1_keypair_create(context, keypair, bytes) == 1,
            secp256k1_keypair_xonly_pub(context, &xonly, nil, keypair) == 1
        else {
            // Unreachable after seckey_verify; cleaned up rather than trapped.
            secret.initializeMemory(as: UInt8.self, repeating: 0)
            secret.deallocate()
            keypair.deallocate()
            throw TwinCryptoError(.invalidSecretKey, "libsecp256k1 refused the key")
        }
        publicKey = PublicKey(parsed: xonly)
    }

    private init(taking other: SecretKey) {
        secret = .allocate(byteCount: 32, alignment: 8)
        secret.copyMemory(from: UnsafeRawBufferPointer(other.secret))
        keypair = .allocate(capacity: 1)
        keypair.initialize(to: other.keypair.pointee)
        publicKey = other.publicKey
    }

    deinit {
        secret.initializeMemory(as: UInt8.self, repeating: 0)
        secret.deallocate()
        UnsafeMutableRawBufferPointer(start: keypair, count: MemoryLayout<secp256k1_keypair>.size)
            .initializeMemory(as: UInt8.self, repeating: 0)
        keypair.deallocate()
    }

    /// A copy of the 32-byte scalar, for writing key files. The caller should overwrite it when done.
    public func unsafeSecretBytes() -> [UInt8] { Array(UnsafeRawBufferPointer(secret)) }

    /// A BIP340 signature over `message` (any length), with 32 bytes of fresh auxiliary randomness.
    public func sign<M: ContiguousBytes>(_ message: M) throws(TwinCryptoError) -> Signature {
        try sign(message, auxiliaryRandom: SecureRandom.bytes(32))
    }

    /// A BIP340 signature with the given auxiliary randomness (32 bytes). Deterministic for fixed inputs: the BIP340
    /// test vectors pin its output. Production signing uses `sign(_:)`.
    public func sign<M: ContiguousBytes>(_ message: M, auxiliaryRandom aux: [UInt8]) throws(TwinCryptoError) -> Signature {
        guard aux.count == 32 else { throw TwinCryptoError(.invalidLength, "auxiliary randomness must be 32 bytes") }
        let context = Secp256k1Context.shared.pointer
        var signature = [UInt8](repeating: 0, count: 64)
        let ok = aux.withUnsafeBytes { auxBuffer in
            message.withUnsafeBytes { messageBuffer in
                var extra = secp256k1_schnorrsig_extraparams(
                    magic: (0xDA, 0x6F, 0xB3, 0x8C), noncefp: nil,
                    ndata: UnsafeMutableRawPointer(mutating: auxBuffer.baseAddress)
                )
                return secp256k1_schnorrsig_sign_custom(
                    context, &signature, messageBuffer.baseAddress?.assumingMemoryBound(to: UInt8.self),
                    messageBuffer.count, keypair, &extra
                )
            }
        }
        guard ok == 1 else { throw TwinCryptoError(.internalFailure, "secp256k1_schnorrsig_sign_custom failed") }
        return Signature(validated: signature)
    }

    /// ECDH with `peer` as libsecp256k1 computes it, keeping only the x coordinate of the shared point, so the
    /// result is the same whichever of the two y parities either x-only key stands for.
    func sharedX(with peer: PublicKey) throws(TwinCryptoError) -> [UInt8] {
        let context = Secp256k1Context.shared.pointer
        var point = try peer.evenYPoint()
        var output = [UInt8](repeating: 0, count: 32)
        guard let secretScalar = secret.bindMemory(to: UInt8.self).baseAddress else {
            throw TwinCryptoError(.internalFailure, "secret key storage is empty")
        }
        let ok = secp256k1_ecdh(context, &output, &point, secretScalar, xCoordinateOnly, nil)
        guard ok == 1 else { throw TwinCryptoError(.internalFailure, "secp256k1_ecdh failed") }
        return output
    }
}

/// A BIP340 x-only public key, parsed once (parsing costs about as much as a fifth of a verification; the
/// process keeps recently parsed keys, `ParsedKeyCache`, so a key seen again is not parsed again).
public struct PublicKey: Hashable, Sendable, CustomStringConvertible, CanonicalCodable {
    /// The 32-byte x coordinate.
    public let bytes: [UInt8]
    /// The parsed point; nil for a key made with `init(uncheckedBytes:)`, parsed when it verifies.
    private let parsed: secp256k1_xonly_pubkey?

    /// Parses a 32-byte x-only key; fails unless x is the coordinate of a point on secp256k1.
    public init(bytes: [UInt8]) throws(TwinCryptoError) {
        guard bytes.count == 32 else {
            throw TwinCryptoError(.invalidPublicKey, "x-only public key must be 32 bytes, got \(bytes.count)")
        }
        guard let key = ParsedKeyCache.parse(bytes) else {
            throw TwinCryptoError(.invalidPublicKey, "not an x coordinate on secp256k1")
        }
        self.bytes = bytes
        parsed = key
    }

    /// A key from 32 bytes without the curve check, which costs about as much as half a signature verification.
    /// For keys read back from the ledger's own state, which were checked when they were first accepted: the point is
    /// parsed only if the key verifies a signature, and bytes that are not a valid key then simply fail to verify.
    /// Nil unless there are exactly 32 bytes.
    public init?(uncheckedBytes bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        self.bytes = bytes
        parsed = nil
    }

    init(parsed: secp256k1_xonly_pubkey) {
        var key = parsed
        var out = [UInt8](repeating: 0, count: 32)
        _ = secp256k1_xonly_pubkey_serialize(Secp256k1Context.shared.pointer, &out, &key)
        bytes = out
        self.parsed = parsed
    }

    /// True if `signature` is a valid BIP340 signature of `message` under this key.
    public func verify<M: ContiguousBytes>(_ signature: Signature, for message: M) -> Bool {
        guard var key = parsed ?? ParsedKeyCache.parse(bytes) else { return false }
        return message.withUnsafeBytes { messageBuffer in
            secp256k1_schnorrsig_verify(
                Secp256k1Context.shared.pointer, signature.bytes,
                messageBuffer.baseAddress?.assumingMemoryBound(to: UInt8.self), messageBuffer.count, &key
            ) == 1
        }
    }

    /// The key's identifier: SHA3-256 of its 32 bytes. Envelopes and the ledger name keys by it.
    public var keyID: Hash32 { Hashing.sha3(bytes) }

    public var hex: String { Hex.encode(bytes) }
    public var description: String { hex }

    public static func == (a: PublicKey, b: PublicKey) -> Bool { a.bytes == b.bytes }
    public func hash(into hasher: inout Hasher) { hasher.combine(bytes) }

    /// The point with this x coordinate and even y, the one BIP340 says the key stands for.
    func evenYPoint() throws(TwinCryptoError) -> secp256k1_pubkey {
        var point = secp256k1_pubkey()
        let compressed = [0x02] + bytes
        guard secp256k1_ec_pubkey_parse(Secp256k1Context.shared.pointer, &point, compressed, 33) == 1 else {
            throw TwinCryptoError(.invalidPublicKey, "x coordinate has no point")
        }
        return point
    }

    public func encode(to writer: inout CanonicalWriter) { writer.write(fixed: bytes) }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        let bytes = try reader.readFixed(32)
        do {
            try self.init(bytes: bytes)
        } catch {
            throw reader.invalidValue("public key is not on secp256k1")
        }
    }
}

/// A 64-byte BIP340 signature (R.x || s).
public struct Signature: Hashable, Sendable, CanonicalCodable {
    public let bytes: [UInt8]

    /// Any 64 bytes; whether they verify is decided by `PublicKey.verify`.
    public init(bytes: [UInt8]) throws(TwinCryptoError) {
        guard bytes.count == 64 else {
            throw TwinCryptoError(.invalidSignature, "signature must be 64 bytes, got \(bytes.count)")
        }
        self.bytes = bytes
    }

    init(validated bytes: [UInt8]) { self.bytes = bytes }

    public var hex: String { Hex.encode(bytes) }

    public func encode(to writer: inout CanonicalWriter) { writer.write(fixed: bytes) }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        bytes = try reader.readFixed(64)
    }
}

/// The ECDH "hash" that returns the shared point's x coordinate unchanged; HKDF does the hashing afterwards.
private let xCoordinateOnly: secp256k1_ecdh_hash_function = { output, x, _, _ in
    guard let output, let x else { return 0 }
    output.update(from: x, count: 32)
    return 1
}
