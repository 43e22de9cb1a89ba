#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Crypto
import Encoding

/// The hash functions TwinLedger uses.
///
/// SHA3-256 (FIPS 202) names everything on the ledger and in the blob store; SHA-256 appears only where a standard
/// requires it (BIP340 tagged hashes, HKDF-SHA256).
public enum Hashing {
    /// SHA3-256 of `data`.
    @inlinable
    public static func sha3<D: ContiguousBytes>(_ data: D) -> Hash32 {
        var hasher = SHA3_256()
        data.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        return hash32(hasher.finalize())
    }

    /// SHA3-256 of raw bytes.
    @inlinable
    public static func sha3(_ buffer: UnsafeRawBufferPointer) -> Hash32 {
        var hasher = SHA3_256()
        hasher.update(bufferPointer: buffer)
        return hash32(hasher.finalize())
    }

    /// SHA3-256 of several byte strings concatenated, without building the concatenation.
    public static func sha3(parts: [[UInt8]]) -> Hash32 {
        var hasher = SHA3_256()
        for part in parts { part.withUnsafeBytes { hasher.update(bufferPointer: $0) } }
        return hash32(hasher.finalize())
    }

    /// SHA-256 of `data`.
    public static func sha256<D: ContiguousBytes>(_ data: D) -> Hash32 {
        var hasher = SHA256()
        data.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        return hash32(hasher.finalize())
    }

    /// BIP340's tagged hash: SHA256(SHA256(tag) || SHA256(tag) || data). Used for domain separation of
    /// everything TwinLedger signs, so a signature for one purpose never verifies for another.
    public static func taggedHash<D: ContiguousBytes>(tag: String, _ data: D) -> Hash32 {
        let tagHash = SHA256.hash(data: Array(tag.utf8))
        var hasher = SHA256()
        tagHash.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        tagHash.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        data.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        return hash32(hasher.finalize())
    }

    @usableFromInline
    static func hash32<D: Digest>(_ digest: D) -> Hash32 {
        Hash32(unsafeUninitializedBytes: { out in digest.withUnsafeBytes { out.copyMemory(from: $0) } })
    }
}

/// A streaming SHA3-256, for hashing large payloads chunk by chunk.
public struct SHA3Hasher: Sendable {
    private var hasher = SHA3_256()
    public init() {}
    public mutating func update(_ bytes: UnsafeRawBufferPointer) { hasher.update(bufferPointer: bytes) }
    public mutating func update<D: ContiguousBytes>(_ data: D) { data.withUnsafeBytes { hasher.update(bufferPointer: $0) } }
    public func finalize() -> Hash32 {
        let digest = hasher.finalize()
        return Hash32(unsafeUninitializedBytes: { out in digest.withUnsafeBytes { out.copyMemory(from: $0) } })
    }
}
