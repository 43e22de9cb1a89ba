import CodedErrors
import Encoding

/// What a shadow's payload is made of (Docs/shadows.md, "Manifest"): its ciphertext cut into chunks of
/// `chunkBytes`, each a blob under its own address, listed in order, and the payload's total size. The manifest is
/// itself a blob; `shadow.register` names its address, so the ledger commits to every chunk through it.
///
/// The chunks hold ciphertext (the client encrypts before it uploads); the manifest is readable by every node, which
/// needs the chunk addresses to store, replicate, serve and erase them. `mediaType` is the client's label for the
/// payload (`application/octet-stream` reveals nothing); Docs/threat-model.md lists what a manifest reveals.
///
/// Encoding: `version 0x01 | chunk_bytes:uint | size:uint | media_type:string | chunks:list<hash32>`, canonical.
/// Valid when every chunk but the last is exactly `chunk_bytes` long, so the count is `ceil(size / chunk_bytes)`
/// (no chunk for an empty payload).
public struct Manifest: Sendable, Hashable, CanonicalCodable {
    /// The chunk size this release writes: 1 MiB.
    public static let standardChunkBytes: UInt64 = 1 << 20
    /// The largest payload a manifest may describe: 16 GiB (16,384 chunks of 1 MiB).
    public static let sizeMax: UInt64 = 16 << 30
    /// At most this many chunks, so that a manifest (33 bytes a chunk) fits in one blob.
    public static let chunksMax = 16_384
    static let mediaTypeBytesMax = 127
    static let chunkBytesRange: ClosedRange<UInt64> = 4_096...(1 << 20)

    public var chunkBytes: UInt64
    public var size: UInt64
    public var mediaType: String
    public var chunks: [Hash32]

    /// A manifest; refused unless its fields agree (see the type's documentation).
    public init(chunkBytes: UInt64 = Manifest.standardChunkBytes, size: UInt64, mediaType: String, chunks: [Hash32]) throws(ShadowError) {
        (self.chunkBytes, self.size, self.mediaType, self.chunks) = (chunkBytes, size, mediaType, chunks)
        try check()
    }

    /// How many chunks a payload of `size` bytes has.
    public static func chunkCount(size: UInt64, chunkBytes: UInt64) -> Int {
        Int((size + chunkBytes - 1) / chunkBytes)
    }

    /// The length of chunk `index`.
    public func length(ofChunk index: Int) -> Int {
        let start = UInt64(index) * chunkBytes
        return Int(min(chunkBytes, size - start))
    }

    func check() throws(ShadowError) {
        guard Self.chunkBytesRange.contains(chunkBytes) else {
            throw ShadowError(.invalidManifest, "chunk size \(chunkBytes) (4 KiB to 1 MiB)")
        }
        guard size <= Self.sizeMax, Self.chunkCount(size: size, chunkBytes: chunkBytes) <= Self.chunksMax else {
            throw ShadowError(.tooLarge, "a payload of \(size) bytes in chunks of \(chunkBytes) (at most \(Self.sizeMax) bytes, \(Self.chunksMax) chunks)")
        }
        guard chunks.count == Self.chunkCount(size: size, chunkBytes: chunkBytes) else {
            throw ShadowError(.invalidManifest, "\(chunks.count) chunks for \(size) bytes in chunks of \(chunkBytes)")
        }
        guard !mediaType.isEmpty, mediaType.utf8.count <= Self.mediaTypeBytesMax,
            mediaType.utf8.allSatisfy({ (0x21...0x7E).contains($0) })
        else { throw ShadowError(.invalidManifest, "media type must be 1-127 printable ASCII characters") }
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(uint: chunkBytes)
        writer.write(uint: size)
        writer.write(string: mediaType)
        writer.write(list: chunks)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        chunkBytes = try reader.readUInt()
        size = try reader.readUInt()
        mediaType = try reader.readString(limit: Self.mediaTypeBytesMax)
        chunks = try reader.readList(of: Hash32.self, limit: Self.chunksMax)
        do { try check() } catch { throw reader.invalidValue(error.message) }
    }
}

/// Why a shadow operation failed.
public typealias ShadowError = CodedError<ShadowErrors>

/// The family of `ShadowError`.
public enum ShadowErrors: ErrorDomain {
    public static let prefix = ""
}

extension CodedError<ShadowErrors>.Code {
    /// A manifest whose fields disagree, or bytes that are not one.
    public static let invalidManifest = Self(rawValue: "invalid_manifest")
    /// A payload above the manifest's or the node's limit.
    public static let tooLarge = Self(rawValue: "too_large")
    /// A chunk the manifest lists is not stored (not yet replicated, or erased).
    public static let missingChunk = Self(rawValue: "missing_chunk")
    /// A stored chunk did not match its address; it was quarantined.
    public static let corrupted = Self(rawValue: "corrupted")
    /// The patient's bytes on this node would pass its quota.
    public static let quotaExceeded = Self(rawValue: "quota_exceeded")
    /// The body's length is not the size its signed request declared.
    public static let sizeMismatch = Self(rawValue: "size_mismatch")
    /// The blob store failed.
    public static let storage = Self(rawValue: "storage")
}
