// The content-addressed blob store on a real LevelDB: addresses are SHA3-256 (FIPS 202 example vectors), bytes
// that do not match the address they are offered under are refused and nothing is written, a blob damaged on disk
// is detected on read, quarantined and never served, deletion removes blobs and their quarantined copies, and
// everything survives reopening.
import Dispatch
import Encoding
import Foundation
import KeyValue
import Storage
import TestSupport
import Testing
import TwinCrypto

@Suite("Blob store")
struct BlobStoreTests {
    /// SHA3-256 of "abc" and of the empty string (FIPS 202 / NIST CSRC example values).
    static let abc = "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"
    static let empty = "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"

    func withStore(_ body: (BlobStore, LevelDBStore, String) throws -> Void) throws {
        let dir = try makeTemporaryDirectory("blobs")
        defer { removeTemporaryDirectory(dir) }
        let level = try LevelDBStore(path: dir + "/db")
        defer { level.close() }
        try body(BlobStore(store: level), level, dir)
    }

    @Test("a blob is stored under the SHA3-256 of its bytes and read back; the published digests are the addresses")
    func addresses() throws {
        try withStore { blobs, _, _ throws in
            #expect(try blobs.put(Array("abc".utf8)).hex == Self.abc)
            #expect(try blobs.put([]).hex == Self.empty)
            #expect(try blobs.get(try #require(Hash32(hex: Self.abc))) == Array("abc".utf8))
            #expect(try blobs.get(try #require(Hash32(hex: Self.empty))) == [])
            #expect(try blobs.get(Hashing.sha3([1, 2, 3])) == nil)
            #expect(try blobs.count() == 2)
            // Storing it again changes nothing.
            try blobs.put(Array("abc".utf8), sync: true)
            #expect(try blobs.count() == 2)
        }
    }

    @Test("bytes offered under another address, and blobs over the limit, are refused and leave nothing behind")
    func refusals() throws {
        try withStore { blobs, _, _ throws in
            let wrong = Hashing.sha3(Array("something else".utf8))
            #expect { try blobs.put(Array("abc".utf8), expected: wrong) } throws: { ($0 as? BlobError)?.code == .addressMismatch }
            #expect { try blobs.put([UInt8](repeating: 7, count: BlobStore.blobBytesMax + 1)) } throws: {
                ($0 as? BlobError)?.code == .tooLarge
            }
            #expect(try blobs.count() == 0)
            let bytes = [UInt8](repeating: 9, count: BlobStore.blobBytesMax)
            #expect(try blobs.put(bytes, expected: Hashing.sha3(bytes)) == Hashing.sha3(bytes))
            #expect(try blobs.count() == 1)
        }
    }

    @Test("a blob damaged on disk is never served: the read fails with corrupted, the bytes go to quarantine, a fresh copy can be stored")
    func corruption() throws {
        try withStore { blobs, level, _ throws in
            let good = [UInt8]((0..<5_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
            let address = try blobs.put(good)
            // Flip one byte of the stored value, under the blob's own key, as a failing disk would.
            var damaged = good
            damaged[1_234] ^= 0x40
            try level.put([0x01] + address.bytes, damaged, sync: true)
            #expect { try blobs.get(address) } throws: { ($0 as? BlobError)?.code == .corrupted }
            #expect(try !blobs.contains(address))
            #expect(try blobs.get(address) == nil)
            #expect(try blobs.quarantined() == [address])
            #expect(try blobs.missing([address, Hashing.sha3(Array("abc".utf8))]).count == 2)
            // A peer's good copy repairs it.
            try blobs.put(good, expected: address, sync: true)
            #expect(try blobs.get(address) == good)
            try blobs.delete([address])
            #expect(try blobs.get(address) == nil)
            #expect(try blobs.quarantined().isEmpty)
        }
    }

    @Test("usage added from eight threads at once, alone or with a blob in the same write, loses no update")
    func concurrentUsage() throws {
        try withStore { blobs, _, _ in
            let owner = Hashing.sha3([42])
            DispatchQueue.concurrentPerform(iterations: 8) { thread in
                for i in 0..<20 {
                    if i % 2 == 0 {
                        _ = try? blobs.put([UInt8(thread), UInt8(i)], sync: false, usage: (owner, 3))
                    } else {
                        try? blobs.addUsage(owner, 5)
                    }
                }
            }
            #expect(try blobs.usage(owner) == 8 * 10 * 3 + 8 * 10 * 5)
            // The blob and its usage land together; storing the same bytes again still counts the upload.
            #expect(try blobs.get(Hashing.sha3([3, 4])) == [3, 4])
            _ = try blobs.put([3, 4], usage: (owner, 7))
            #expect(try blobs.usage(owner) == 640 + 7)
        }
    }

    @Test("stored blobs survive closing and reopening the database")
    func reopen() throws {
        let dir = try makeTemporaryDirectory("blobs-reopen")
        defer { removeTemporaryDirectory(dir) }
        var random = SeededRandom(seed: 42)
        let payloads = (0..<20).map { i in (0..<(i * 997)).map { _ in UInt8(truncatingIfNeeded: random.next()) } }
        var addresses: [Hash32] = []
        do {
            let level = try LevelDBStore(path: dir + "/db")
            let blobs = BlobStore(store: level)
            for payload in payloads { addresses.append(try blobs.put(payload)) }
            try blobs.put([0xFF], sync: true)
            level.close()
        }
        let level = try LevelDBStore(path: dir + "/db")
        defer { level.close() }
        let blobs = BlobStore(store: level)
        for (payload, address) in zip(payloads, addresses) { #expect(try blobs.get(address) == payload) }
        #expect(try blobs.count() == 21)  // 20 payloads of distinct sizes (the first empty) and [0xFF]
    }
}
