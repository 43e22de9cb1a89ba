import Encoding

/// How a client encrypts a shadow's payload before uploading it (Docs/shadows.md, "Client-side encryption").
///
/// The plaintext is cut into segments of `plaintextSegmentBytes` (1 MiB − 28, so that each sealed segment is exactly one
/// 1 MiB chunk on the nodes); each is sealed with AES-256-GCM under the shadow version's data key:
///
///     sealed segment i = nonce (12) | ciphertext | tag (16)
///     nonce            = i as u64 big-endian | 0x00000000
///     associated data  = "TwinLedger/shadow/v1" | shadow id (32) | version (u64 BE) | i (u64 BE) | count (u64 BE)
///
/// The data key is fresh for every shadow version, so a (key, nonce) pair never repeats. Binding the index and the
/// segment count in the associated data makes a reordered, truncated or extended payload fail to open. An empty
/// plaintext is one empty segment (28 bytes), so even it is authenticated.
public struct ShadowCipher: Sendable {
    public static let plaintextSegmentBytes = (1 << 20) - overheadBytes
    public static let overheadBytes = AESGCM.nonceByteCount + AESGCM.tagByteCount
    static let label = Array("TwinLedger/shadow/v1".utf8)

    public let dataKey: [UInt8]
    public let shadow: Hash32
    public let version: UInt64
    public let segmentBytes: Int

    public init(dataKey: [UInt8], shadow: Hash32, version: UInt64, segmentBytes: Int = ShadowCipher.plaintextSegmentBytes) throws(TwinCryptoError) {
        guard dataKey.count == AESGCM.keyByteCount else { throw TwinCryptoError(.invalidLength, "a data key is 32 bytes") }
        guard segmentBytes >= 1 else { throw TwinCryptoError(.invalidLength, "segments hold at least one byte") }
        (self.dataKey, self.shadow, self.version, self.segmentBytes) = (dataKey, shadow, version, segmentBytes)
    }

    /// How many segments a plaintext of `size` bytes has (one for an empty plaintext).
    public func segmentCount(plaintextSize size: UInt64) -> UInt64 {
        max(1, (size + UInt64(segmentBytes) - 1) / UInt64(segmentBytes))
    }

    /// The ciphertext's size for a plaintext of `size` bytes.
    public func ciphertextSize(plaintextSize size: UInt64) -> UInt64 {
        size + segmentCount(plaintextSize: size) * UInt64(Self.overheadBytes)
    }

    static func be(_ value: UInt64) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }

    func nonce(_ index: UInt64) -> [UInt8] { Self.be(index) + [0, 0, 0, 0] }

    func associatedData(_ index: UInt64, count: UInt64) -> [UInt8] {
        Self.label + shadow.bytes + Self.be(version) + Self.be(index) + Self.be(count)
    }

    /// Seals segment `index` of `count`.
    public func seal(_ plaintext: [UInt8], index: UInt64, count: UInt64) throws(TwinCryptoError) -> [UInt8] {
        guard plaintext.count <= segmentBytes, index < count else {
            throw TwinCryptoError(.invalidLength, "segment \(index) of \(count) with \(plaintext.count) bytes")
        }
        let nonce = nonce(index)
        return nonce + (try AESGCM.seal(plaintext, key: dataKey, nonce: nonce, authenticating: associatedData(index, count: count)))
    }

    /// Opens sealed segment `index` of `count`; `authentication_failed` for anything altered, moved or cut.
    public func open(_ sealed: [UInt8], index: UInt64, count: UInt64) throws(TwinCryptoError) -> [UInt8] {
        guard sealed.count >= Self.overheadBytes, sealed.count <= segmentBytes + Self.overheadBytes, index < count else {
            throw TwinCryptoError(.invalidLength, "sealed segment \(index) of \(count) with \(sealed.count) bytes")
        }
        guard Array(sealed[0..<AESGCM.nonceByteCount]) == nonce(index) else {
            throw TwinCryptoError(.authenticationFailed, "segment \(index) carries another segment's nonce")
        }
        return try AESGCM.open(Array(sealed[AESGCM.nonceByteCount...]), key: dataKey, nonce: nonce(index),
                               authenticating: associatedData(index, count: count))
    }

    /// Encrypts a whole plaintext (tests and small payloads; the CLI streams segment by segment).
    public func encrypt(_ plaintext: [UInt8]) throws(TwinCryptoError) -> [UInt8] {
        let count = segmentCount(plaintextSize: UInt64(plaintext.count))
        var out: [UInt8] = []
        out.reserveCapacity(Int(ciphertextSize(plaintextSize: UInt64(plaintext.count))))
        for index in 0..<count {
            let start = Int(index) * segmentBytes
            out += try seal(Array(plaintext[start..<min(plaintext.count, start + segmentBytes)]), index: index, count: count)
        }
        return out
    }

    /// Decrypts a whole ciphertext; its length gives the segment count.
    public func decrypt(_ ciphertext: [UInt8]) throws(TwinCryptoError) -> [UInt8] {
        let sealedBytes = segmentBytes + Self.overheadBytes
        let count = UInt64(max(1, (ciphertext.count + sealedBytes - 1) / sealedBytes))
        var out: [UInt8] = []
        for index in 0..<count {
            let start = Int(index) * sealedBytes
            guard start < ciphertext.count || (index == 0 && ciphertext.count == 0) else { break }
            out += try open(Array(ciphertext[start..<min(ciphertext.count, start + sealedBytes)]), index: index, count: count)
        }
        return out
    }
}
