import Encoding
import Storage

/// Cuts a payload that arrives in pieces of any size (an HTTP body stream) into chunks, stores each in the blob store
/// as soon as it is whole, and ends with the manifest (Docs/shadows.md, "Upload"). At most one chunk is held in
/// memory, whatever the payload's size.
///
/// Chunks are written without a sync and the manifest with one: LevelDB's log is sequential, so the synced manifest
/// write makes every chunk before it durable too. A crash before the manifest leaves only whole chunks (each blob is
/// one write), which no manifest names; a later upload of the same payload finds them already stored.
public struct ChunkWriter: ~Copyable {
    let blobs: BlobStore
    let chunkBytes: Int
    let sizeLimit: UInt64
    private var buffer: [UInt8] = []
    private var chunks: [Hash32] = []
    private var size: UInt64 = 0

    /// A writer into `blobs`; a payload above `sizeLimit` bytes is refused (`too_large`) as soon as it passes it.
    public init(blobs: BlobStore, chunkBytes: UInt64 = Manifest.standardChunkBytes, sizeLimit: UInt64 = Manifest.sizeMax) {
        self.blobs = blobs
        self.chunkBytes = Int(chunkBytes)
        self.sizeLimit = min(sizeLimit, Manifest.sizeMax, chunkBytes * UInt64(Manifest.chunksMax))
        buffer.reserveCapacity(self.chunkBytes)
    }

    /// Bytes of the payload received so far.
    public var received: UInt64 { size }

    /// Takes the next piece of the payload.
    public mutating func append<C: Collection>(_ piece: C) throws(ShadowError) where C.Element == UInt8 {
        guard size + UInt64(piece.count) <= sizeLimit else {
            throw ShadowError(.tooLarge, "the payload passes \(sizeLimit) bytes")
        }
        size += UInt64(piece.count)
        var rest = piece[...]
        while !rest.isEmpty {
            let take = min(chunkBytes - buffer.count, rest.count)
            let end = rest.index(rest.startIndex, offsetBy: take)
            buffer.append(contentsOf: rest[..<end])
            rest = rest[end...]
            if buffer.count == chunkBytes { try flushChunk() }
        }
    }

    private mutating func flushChunk() throws(ShadowError) {
        do { chunks.append(try blobs.put(buffer)) } catch { throw ShadowError(.storage, "\(error)") }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Stores the last partial chunk and the manifest (synced; with `owner`, the payload's size is added to the
    /// owner's usage in the same write); returns the manifest and its address.
    public consuming func finish(mediaType: String, owner: Hash32? = nil) throws(ShadowError) -> (manifest: Manifest, address: Hash32) {
        if !buffer.isEmpty { try flushChunk() }
        let manifest = try Manifest(chunkBytes: UInt64(chunkBytes), size: size, mediaType: mediaType, chunks: chunks)
        let bytes = Canonical.encode(manifest)
        do {
            return (manifest, try blobs.put(bytes, sync: true, usage: owner.map { ($0, size) }))
        } catch {
            throw ShadowError(.storage, "\(error)")
        }
    }
}

extension BlobStore {
    /// The manifest at `address`: `nil` if absent, `invalid_manifest` if the blob is not one.
    public func manifest(_ address: Hash32) throws(ShadowError) -> Manifest? {
        let bytes: [UInt8]?
        do { bytes = try get(address) } catch { throw ShadowError(error.code == .corrupted ? .corrupted : .storage, "\(error)") }
        guard let bytes else { return nil }
        do { return try Canonical.decode(Manifest.self, from: bytes) } catch {
            throw ShadowError(.invalidManifest, "blob \(address.hex) is not a manifest: \(error)")
        }
    }

    /// Chunk `index` of `manifest`, checked against its address and its expected length.
    public func chunk(_ index: Int, of manifest: Manifest) throws(ShadowError) -> [UInt8] {
        try withChunk(index, of: manifest) { Array($0) }
    }

    /// Calls `body` with chunk `index` of `manifest` (valid only inside it), checked against its address and its
    /// expected length first.
    public func withChunk<R>(_ index: Int, of manifest: Manifest, _ body: (UnsafeRawBufferPointer) -> R) throws(ShadowError) -> R {
        guard manifest.chunks.indices.contains(index) else {
            throw ShadowError(.invalidManifest, "chunk \(index) of \(manifest.chunks.count)")
        }
        let address = manifest.chunks[index]
        let expected = manifest.length(ofChunk: index)
        let result: Result<R, ShadowError>?
        do {
            result = try withBlob(address) { bytes in
                bytes.count == expected ? .success(body(bytes))
                    : .failure(ShadowError(.invalidManifest, "chunk \(index) is \(bytes.count) bytes, the manifest says \(expected)"))
            }
        } catch {
            throw ShadowError(error.code == .corrupted ? .corrupted : .storage, "\(error)")
        }
        guard let result else { throw ShadowError(.missingChunk, "chunk \(index) (\(address.hex)) is not stored here") }
        return try result.get()
    }

    /// The chunks of `manifest` this store lacks.
    public func missingChunks(of manifest: Manifest) throws(ShadowError) -> [Hash32] {
        do { return try missing(manifest.chunks) } catch { throw ShadowError(.storage, "\(error)") }
    }
}
