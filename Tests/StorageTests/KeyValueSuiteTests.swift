// One storage test suite, run against every KeyValueStore implementation (MemoryStore, LevelDBStore, and CachedStore
// over LevelDB with a budget small enough that its generations rotate all the time).
//
// Covers: get/put/delete; empty keys and values; batches applied atomically with later operations winning; prefix
// scans in byte order with start keys and limits (0xFF boundaries included); snapshots isolated from later writes;
// and a seeded random-operation comparison against a plain dictionary model.
import Foundation
import KeyValue
import Storage
import TestSupport
import Testing

enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory, leveldb, cached
    var testDescription: String { rawValue }
}

/// A store of the given kind, with a cleanup to call when done.
func makeStore(_ kind: StoreKind) throws -> (any KeyValueStore, () -> Void) {
    switch kind {
    case .memory:
        return (MemoryStore(), {})
    case .leveldb:
        let dir = try makeTemporaryDirectory("kv")
        let store = try LevelDBStore(path: dir + "/db")
        return (store, { store.close(); removeTemporaryDirectory(dir) })
    case .cached:
        let dir = try makeTemporaryDirectory("kv")
        let base = try LevelDBStore(path: dir + "/db")
        return (CachedStore(base: base, capacityBytes: 2_048), { base.close(); removeTemporaryDirectory(dir) })
    }
}

func b(_ s: String) -> [UInt8] { Array(s.utf8) }

@Suite("KeyValueStore conformance")
struct KeyValueSuiteTests {
    @Test("get, put, delete, empty keys and values", arguments: StoreKind.allCases)
    func basics(_ kind: StoreKind) throws {
        let (store, cleanup) = try makeStore(kind)
        defer { cleanup() }
        #expect(try store.get(b("a")) == nil)
        try store.put(b("a"), b("1"))
        try store.put([], [])
        #expect(try store.get(b("a")) == b("1"))
        #expect(try store.get([]) == [])
        try store.put(b("a"), b("2"), sync: true)
        #expect(try store.get(b("a")) == b("2"))
        try store.delete(b("a"))
        #expect(try store.get(b("a")) == nil)
        try store.delete(b("never-there"))
        let big = [UInt8](repeating: 0xAB, count: 1 << 20)
        try store.put(b("big"), big)
        #expect(try store.get(b("big")) == big)
    }

    @Test("a batch is applied whole, in order, later operations winning", arguments: StoreKind.allCases)
    func batches(_ kind: StoreKind) throws {
        let (store, cleanup) = try makeStore(kind)
        defer { cleanup() }
        try store.put(b("x"), b("old"))
        var batch = WriteBatch()
        batch.put(b("k1"), b("v1"))
        batch.put(b("k2"), b("v2"))
        batch.delete(b("x"))
        batch.put(b("k1"), b("v1b"))
        batch.delete(b("k2"))
        batch.put(b("k2"), b("v2b"))
        try store.write(batch, sync: false)
        #expect(try store.get(b("k1")) == b("v1b"))
        #expect(try store.get(b("k2")) == b("v2b"))
        #expect(try store.get(b("x")) == nil)
        try store.write(WriteBatch(), sync: true)
    }

    @Test("prefix scans are in unsigned byte order, honour start and limit", arguments: StoreKind.allCases)
    func scans(_ kind: StoreKind) throws {
        let (store, cleanup) = try makeStore(kind)
        defer { cleanup() }
        let keys: [[UInt8]] = [[0x01], [0x01, 0x00], [0x01, 0x7F], [0x01, 0x80], [0x01, 0xFF], [0x01, 0xFF, 0xFF],
                               [0x02], [0x00, 0xFF], [0xFF], [0xFF, 0x00]]
        var batch = WriteBatch()
        for key in keys.shuffled() { batch.put(key, key) }
        try store.write(batch, sync: false)
        let under01 = try store.scan(prefix: [0x01]).map(\.key)
        #expect(under01 == [[0x01], [0x01, 0x00], [0x01, 0x7F], [0x01, 0x80], [0x01, 0xFF], [0x01, 0xFF, 0xFF]])
        #expect(try store.scan(prefix: [0x01], start: [0x01, 0x80]).map(\.key).first == [0x01, 0x80])
        #expect(try store.scan(prefix: [0x01], start: [0x00]).count == 6)
        #expect(try store.scan(prefix: [0x01], limit: 2).count == 2)
        #expect(try store.scan(prefix: [0x01], limit: 0).isEmpty)
        #expect(try store.scan(prefix: [0xFF]).map(\.key) == [[0xFF], [0xFF, 0x00]])
        #expect(try store.scan(prefix: []).count == keys.count)
        #expect(try store.scan(prefix: [0x03]).isEmpty)
        #expect(try store.scan(prefix: [0x01]).allSatisfy { $0.key == $0.value })
    }

    @Test("a snapshot does not see later writes", arguments: StoreKind.allCases)
    func snapshots(_ kind: StoreKind) throws {
        let (store, cleanup) = try makeStore(kind)
        defer { cleanup() }
        try store.put(b("p/1"), b("a"))
        let snapshot = try store.snapshot()
        try store.put(b("p/1"), b("b"))
        try store.put(b("p/2"), b("c"))
        try store.delete(b("p/1"))
        #expect(try snapshot.get(b("p/1")) == b("a"))
        #expect(try snapshot.get(b("p/2")) == nil)
        #expect(try snapshot.scan(prefix: b("p/")).map(\.value) == [b("a")])
        #expect(try store.scan(prefix: b("p/")).map(\.value) == [b("c")])
    }

    @Test("random operations agree with a dictionary model", arguments: StoreKind.allCases)
    func model(_ kind: StoreKind) throws {
        let (store, cleanup) = try makeStore(kind)
        defer { cleanup() }
        let seed = testSeed()
        var rng = SeededRandom(seed: seed)
        var model: [[UInt8]: [UInt8]] = [:]
        for round in 0..<300 {
            var batch = WriteBatch()
            for _ in 0..<Int.random(in: 1...20, using: &rng) {
                let key = [UInt8.random(in: 0...3, using: &rng)] + rng.bytes(Int.random(in: 0...3, using: &rng))
                if Bool.random(using: &rng) {
                    let value = rng.bytes(Int.random(in: 0...16, using: &rng))
                    batch.put(key, value)
                    model[key] = value
                } else {
                    batch.delete(key)
                    model[key] = nil
                }
            }
            try store.write(batch, sync: false)
            if round % 25 == 0 {
                let prefix = rng.bytes(Int.random(in: 0...1, using: &rng)).map { $0 % 4 }
                let expected = model.filter { $0.key.starts(with: prefix) }
                    .sorted { $0.key.lexicographicallyPrecedes($1.key) }.map { KeyValueEntry(key: $0.key, value: $0.value) }
                #expect(try store.scan(prefix: prefix) == expected, "seed \(seed) round \(round)")
            }
        }
        for (key, value) in model { #expect(try store.get(key) == value, "seed \(seed)") }
    }
}
