#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import CKeccak
import Crypto
import Encoding

/// The hash functions TwinLedger uses.
///
/// SHA3-256 (FIPS 202) names everything on the ledger and in the blob store; SHA-256 appears only where a standard
/// requires it (BIP340 tagged hashes, HKDF-SHA256).
///
/// SHA3-256 of an input shorter than the sponge's rate (136 bytes) is one Keccak permutation, and such inputs are
/// most of what the ledger hashes (state keys, small records, the state tree's 65- and 129-byte nodes, tens of
/// thousands per block). They go to a one-block implementation in C (`CKeccak`) that hashes from the stack;
/// swift-crypto's streaming hasher, which allocates and clears a context per hash, takes everything longer. Both are
/// checked against FIPS 202 values and Python's hashlib at every length around the boundary.
public enum Hashing {
    /// Inputs shorter than this are hashed in one block by `CKeccak`.
    public static let oneBlockLimit = Int(TWL_SHA3_256_RATE)

    /// SHA3-256 of `data`.
    @inlinable
    public static func sha3<D: ContiguousBytes>(_ data: D) -> Hash32 {
        data.withUnsafeBytes { sha3($0) }
    }

    /// SHA3-256 of raw bytes.
    public static func sha3(_ buffer: UnsafeRawBufferPointer) -> Hash32 {
        if buffer.count < oneBlockLimit {
            return Hash32(unsafeUninitializedBytes: { out in
                // Cannot fail: the length is checked above. An empty buffer may have no base address.
                _ = twl_sha3_256_short(
                    buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), buffer.count,
                    out.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: UInt8.self)
                )
            })
        }
        return streamingSHA3(buffer)
    }

    /// SHA3-256 through swift-crypto, at any length.
    public static func streamingSHA3(_ buffer: UnsafeRawBufferPointer) -> Hash32 {
        var hasher = SHA3_256()
        hasher.update(bufferPointer: buffer)
        return hash32(hasher.finalize())
    }

    /// SHA3-256 of several byte strings concatenated, without building the concatenation.
    public static func sha3(parts: [[UInt8]]) -> Hash32 {
        let total = parts.reduce(0) { $0 + $1.count }
        if total < oneBlockLimit {
            return withUnsafeTemporaryAllocation(byteCount: max(total, 1), alignment: 8) { joined in
                var offset = 0
                for part in parts {
                    part.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: joined[offset...]).copyMemory(from: $0) }
                    offset += part.count
                }
                return sha3(UnsafeRawBufferPointer(rebasing: joined[..<total]))
            }
        }
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

/// Many inputs hashed at once: SHA3-256 of each. Inputs under 136 bytes share permutations eight at a time
/// (`twl_sha3_256_many`), which is 4-5x faster per hash than one at a time; longer ones go through `Hashing.sha3`.
/// The state tree collects the inputs of a whole level of nodes and hashes them together.
public struct SHA3Batch: Sendable {
    var data: [UInt8] = []
    var offsets: [Int] = []
    var lengths: [Int] = []
    var hasLong = false

    public init() {}

    /// Room for `count` inputs of about `bytesEach` bytes.
    public mutating func reserveCapacity(_ count: Int, bytesEach: Int) {
        data.reserveCapacity(count * bytesEach)
        offsets.reserveCapacity(count)
        lengths.reserveCapacity(count)
    }

    public var count: Int { offsets.count }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        offsets.append(data.count)
        lengths.append(bytes.count)
        data.append(contentsOf: bytes)
        if bytes.count >= Hashing.oneBlockLimit { hasLong = true }
    }

    public mutating func append<D: ContiguousBytes>(_ input: D) { input.withUnsafeBytes { append($0) } }

    /// Appends `tag || bytes` (a state tree node's hash input, read straight from its slot).
    public mutating func append(tag: UInt8, _ bytes: UnsafeRawBufferPointer) {
        offsets.append(data.count)
        lengths.append(bytes.count + 1)
        data.append(tag)
        data.append(contentsOf: bytes)
        if bytes.count + 1 >= Hashing.oneBlockLimit { hasLong = true }
    }

    /// Appends `tag || a || b` (65 bytes: a state tree leaf's hash input).
    public mutating func append(tag: UInt8, _ a: Hash32, _ b: Hash32) {
        offsets.append(data.count)
        lengths.append(65)
        data.append(tag)
        a.withUnsafeBytes { data.append(contentsOf: $0) }
        b.withUnsafeBytes { data.append(contentsOf: $0) }
    }

    /// Appends `tag || a || b || c || d` (129 bytes: a state tree branch's hash input).
    public mutating func append(tag: UInt8, _ a: Hash32, _ b: Hash32, _ c: Hash32, _ d: Hash32) {
        offsets.append(data.count)
        lengths.append(129)
        data.append(tag)
        a.withUnsafeBytes { data.append(contentsOf: $0) }
        b.withUnsafeBytes { data.append(contentsOf: $0) }
        c.withUnsafeBytes { data.append(contentsOf: $0) }
        d.withUnsafeBytes { data.append(contentsOf: $0) }
    }

    /// The digests, in the order the inputs were appended.
    public func digests() -> [Hash32] {
        guard hasLong else { return Self.oneBlockDigests(data, offsets, lengths) }
        // Batch the short inputs, hash the long ones one by one, and put them back in order.
        let short = lengths.indices.filter { lengths[$0] < Hashing.oneBlockLimit }
        var shortDigests = Self.oneBlockDigests(data, short.map { offsets[$0] }, short.map { lengths[$0] })[...]
        return (0..<count).map { i in
            if lengths[i] < Hashing.oneBlockLimit { return shortDigests.removeFirst() }
            return data.withUnsafeBytes { Hashing.sha3(UnsafeRawBufferPointer(rebasing: $0[offsets[i]..<(offsets[i] + lengths[i])])) }
        }
    }

    /// SHA3-256 of inputs all under 136 bytes, eight to a permutation.
    static func oneBlockDigests(_ data: [UInt8], _ offsets: [Int], _ lengths: [Int]) -> [Hash32] {
        let n = offsets.count
        guard n > 0 else { return [] }
        return [Hash32](unsafeUninitializedCapacity: n) { out, initialized in
            let bytes = UnsafeMutableRawBufferPointer(out)
            data.withUnsafeBufferPointer { input in
                offsets.withUnsafeBufferPointer { offsets in
                    lengths.withUnsafeBufferPointer { lengths in
                        // Cannot fail: the caller passes only inputs under 136 bytes.
                        _ = twl_sha3_256_many(
                            input.baseAddress, offsets.baseAddress, lengths.baseAddress, n,
                            bytes.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: UInt8.self)
                        )
                    }
                }
            }
            initialized = n
        }
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
