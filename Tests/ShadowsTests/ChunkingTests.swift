// Chunking and manifests: payloads of every awkward size (empty, one byte, a chunk less one, exactly a chunk, a chunk
// and one, several and a half) fed in seeded pieces of random sizes come out as the same chunks, in order, under a
// manifest whose canonical bytes are pinned by a hand-derived vector; a manifest whose fields disagree does not
// decode; a payload over the limit is refused as soon as it passes it; a missing, damaged or wrong-sized chunk is
// reported by its code, never returned.
import Encoding
import Foundation
import KeyValue
import Shadows
import Storage
import TestSupport
import Testing
import TwinCrypto

@Suite("Chunking and manifests")
struct ChunkingTests {
    static let chunk: UInt64 = 4_096

    func withBlobs(_ body: (BlobStore, LevelDBStore) throws -> Void) throws {
        let dir = try makeTemporaryDirectory("chunks")
        defer { removeTemporaryDirectory(dir) }
        let level = try LevelDBStore(path: dir + "/db")
        defer { level.close() }
        try body(BlobStore(store: level), level)
    }

    /// Writes `payload` through a ChunkWriter in pieces of seeded random sizes (0 to 3 chunks); returns the manifest.
    func upload(_ payload: [UInt8], into blobs: BlobStore, seed: UInt64) throws -> (Manifest, Hash32) {
        var random = SeededRandom(seed: seed)
        var writer = ChunkWriter(blobs: blobs, chunkBytes: Self.chunk)
        var offset = 0
        while offset < payload.count {
            let length = min(payload.count - offset, Int(random.next() % (3 * Self.chunk + 1)))
            try writer.append(payload[offset..<(offset + length)])
            offset += length
        }
        return try writer.finish(mediaType: "application/octet-stream")
    }

    @Test("every awkward size, fed in random pieces, is cut into the same chunks and reassembles exactly",
          arguments: [0, 1, 4_095, 4_096, 4_097, 3 * 4_096 + 2_048, 10 * 4_096])
    func roundTrip(size: Int) throws {
        try withBlobs { blobs, _ throws in
            var random = SeededRandom(seed: UInt64(size) &+ 1)
            let payload = random.bytes(size)
            let (manifest, address) = try upload(payload, into: blobs, seed: 7)
            #expect(manifest.size == UInt64(size))
            #expect(manifest.chunks.count == (size + 4_095) / 4_096)
            // The chunks are the payload's consecutive 4 KiB slices, each under its SHA3-256.
            for (index, chunkAddress) in manifest.chunks.enumerated() {
                let slice = Array(payload[(index * 4_096)..<min(size, (index + 1) * 4_096)])
                #expect(chunkAddress == Hashing.sha3(slice))
                #expect(try blobs.chunk(index, of: manifest) == slice)
            }
            #expect(try blobs.manifest(address) == manifest)
            #expect(address == Hashing.sha3(Canonical.encode(manifest)))
            // Other piece sizes give the same manifest.
            #expect(try upload(payload, into: blobs, seed: 99).1 == address)
            #expect(try blobs.missingChunks(of: manifest).isEmpty)
        }
    }

    @Test("the manifest's canonical bytes, derived by hand from Docs/shadows.md")
    func manifestVector() throws {
        let first = Hashing.sha3(Array("chunk 0".utf8)), second = Hashing.sha3(Array("chunk 1".utf8))
        let manifest = try Manifest(chunkBytes: 4_096, size: 5_000, mediaType: "text/plain", chunks: [first, second])
        // version 01 | chunk_bytes 4096 = varint 80 20 | size 5000 = varint 88 27 | "text/plain" (0a + 10 bytes) |
        // 2 chunks (02) of 32 bytes each.
        let expected = [0x01, 0x80, 0x20, 0x88, 0x27, 0x0A] + Array("text/plain".utf8) + [0x02] + first.bytes + second.bytes
        #expect(Canonical.encode(manifest) == expected)
        #expect(try Canonical.decode(Manifest.self, from: expected) == manifest)
    }

    @Test("manifests whose fields disagree are refused, built or decoded")
    func invalidManifests() throws {
        let one = Hashing.sha3([1])
        #expect { try Manifest(chunkBytes: 4_096, size: 5_000, mediaType: "x/y", chunks: [one]) } throws: {
            ($0 as? ShadowError)?.code == .invalidManifest
        }
        #expect { try Manifest(chunkBytes: 1_000, size: 10, mediaType: "x/y", chunks: [one]) } throws: {
            ($0 as? ShadowError)?.code == .invalidManifest
        }
        #expect { try Manifest(chunkBytes: 4_096, size: 10, mediaType: "with space", chunks: [one]) } throws: {
            ($0 as? ShadowError)?.code == .invalidManifest
        }
        #expect { try Manifest(chunkBytes: 4_096, size: Manifest.sizeMax, mediaType: "x/y", chunks: []) } throws: {
            ($0 as? ShadowError)?.code == .tooLarge
        }
        // A well-formed encoding of a manifest with one chunk too few does not decode.
        var writer = CanonicalWriter()
        writer.write(fixed: [0x01])
        writer.write(uint: 4_096)
        writer.write(uint: 5_000)
        writer.write(string: "x/y")
        writer.write(list: [one])
        #expect { try Canonical.decode(Manifest.self, from: writer.bytes) } throws: { $0 is CanonicalDecodingError }
    }

    @Test("a payload over the writer's limit is refused as soon as it passes it, before its chunk is stored")
    func sizeLimit() throws {
        try withBlobs { blobs, _ throws in
            var writer = ChunkWriter(blobs: blobs, chunkBytes: Self.chunk, sizeLimit: 10_000)
            var random = SeededRandom(seed: 3)
            try writer.append(random.bytes(9_000))
            #expect { try writer.append([UInt8](repeating: 2, count: 1_001)) } throws: { ($0 as? ShadowError)?.code == .tooLarge }
            #expect(writer.received == 9_000)
            #expect(try blobs.count() == 2)  // the two whole chunks of the first 9,000 bytes
        }
    }

    @Test("a missing, damaged or wrong-sized chunk is reported by its code and never returned")
    func badChunks() throws {
        try withBlobs { blobs, level throws in
            var random = SeededRandom(seed: 5)
            let payload = random.bytes(3 * 4_096)
            let (manifest, _) = try upload(payload, into: blobs, seed: 1)
            try blobs.delete([manifest.chunks[0]])
            #expect { try blobs.chunk(0, of: manifest) } throws: { ($0 as? ShadowError)?.code == .missingChunk }
            #expect(try blobs.missingChunks(of: manifest) == [manifest.chunks[0]])
            var damaged = try blobs.chunk(1, of: manifest)
            damaged[0] ^= 1
            try level.put([0x01] + manifest.chunks[1].bytes, damaged, sync: true)
            #expect { try blobs.chunk(1, of: manifest) } throws: { ($0 as? ShadowError)?.code == .corrupted }
            // A manifest that claims a shorter last chunk than the one stored under its address.
            let short = try Manifest(chunkBytes: 4_096, size: 3 * 4_096 - 1, mediaType: "x/y", chunks: manifest.chunks)
            #expect { try blobs.chunk(2, of: short) } throws: { ($0 as? ShadowError)?.code == .invalidManifest }
            #expect { try blobs.chunk(3, of: manifest) } throws: { ($0 as? ShadowError)?.code == .invalidManifest }
            // A chunk is not a manifest.
            #expect { try blobs.manifest(manifest.chunks[2]) } throws: { ($0 as? ShadowError)?.code == .invalidManifest }
        }
    }
}
