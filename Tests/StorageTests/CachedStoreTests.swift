// The write-through read cache (KeyValue/CachedStore.swift) over a real LevelDB.
//
// Covers: every read, interleaved with random batches, equals both a dictionary model and the uncached store, across
// generation rotations, with hits actually served from the cache; readers racing a writer never see a value go back
// in time and see the last write when the writer is done (a read that raced a write does not cache a stale value);
// a failed write forgets the cache rather than serve what the store may have overwritten; byte-wise key order.
import Foundation
import KeyValue
import Storage
import Synchronization
import TestSupport
import Testing

/// A store that applies every batch and then reports failure, as a disk error after a partial write might.
final class ApplyThenFailStore: KeyValueStore {
    let inner = MemoryStore()
    func get(_ key: [UInt8]) throws(StorageError) -> [UInt8]? { try inner.get(key) }
    func forEach(
        prefix: [UInt8], start: [UInt8]?, _ body: (KeyValueEntry) throws(StorageError) -> Bool
    ) throws(StorageError) { try inner.forEach(prefix: prefix, start: start, body) }
    func write(_ batch: WriteBatch, sync: Bool) throws(StorageError) {
        try inner.write(batch, sync: sync)
        throw StorageError(.ioError, "injected failure after the write")
    }
    func snapshot() throws(StorageError) -> any KeyValueReader { try inner.snapshot() }
}

final class Flag: Sendable {
    let value = Atomic<Bool>(false)
}

final class Counter: Sendable {
    let value = Atomic<Int>(0)
}

/// The big-endian counter stored under the race test's key (0 when absent).
func value(_ bytes: [UInt8]?) -> UInt64 {
    guard let bytes, bytes.count == 8 else { return 0 }
    return bytes.withUnsafeBytes { UInt64(bigEndian: $0.loadUnaligned(as: UInt64.self)) }
}

/// A store that runs `hook` inside `get`, after it has read the value it returns: the exact interleaving in which a
/// write lands between a cache miss's read and its insertion into the cache.
final class InterleavingStore: KeyValueStore {
    let inner = MemoryStore()
    let hook = Mutex<(@Sendable () -> Void)?>(nil)
    func get(_ key: [UInt8]) throws(StorageError) -> [UInt8]? {
        let value = try inner.get(key)
        let run = hook.withLock { hook in
            defer { hook = nil }
            return hook
        }
        run?()
        return value
    }
    func forEach(
        prefix: [UInt8], start: [UInt8]?, _ body: (KeyValueEntry) throws(StorageError) -> Bool
    ) throws(StorageError) { try inner.forEach(prefix: prefix, start: start, body) }
    func write(_ batch: WriteBatch, sync: Bool) throws(StorageError) { try inner.write(batch, sync: sync) }
    func snapshot() throws(StorageError) -> any KeyValueReader { try inner.snapshot() }
}

@Suite("Cached store")
struct CachedStoreTests {
    @Test("reads interleaved with random batches equal the model and the uncached store", arguments: [512, 1 << 20])
    func model(capacity: Int) throws {
        let dir = try makeTemporaryDirectory("cache")
        defer { removeTemporaryDirectory(dir) }
        let base = try LevelDBStore(path: dir + "/db")
        defer { base.close() }
        let store = CachedStore(base: base, capacityBytes: capacity)
        let seed = testSeed()
        var rng = SeededRandom(seed: seed)
        var model: [[UInt8]: [UInt8]] = [:]
        for round in 0..<400 {
            var batch = WriteBatch()
            for _ in 0..<Int.random(in: 0...6, using: &rng) {
                let key = [UInt8.random(in: 0...40, using: &rng)]
                if Int.random(in: 0..<3, using: &rng) > 0 {
                    let value = rng.bytes(Int.random(in: 0...24, using: &rng))
                    batch.put(key, value)
                    model[key] = value
                } else {
                    batch.delete(key)
                    model[key] = nil
                }
            }
            try store.write(batch, sync: false)
            for _ in 0..<10 {
                let key = [UInt8.random(in: 0...40, using: &rng)]
                let cached = try store.get(key)
                #expect(cached == model[key], "seed \(seed) round \(round)")
                #expect(cached == (try base.get(key)), "seed \(seed) round \(round)")
            }
        }
        let statistics = store.statistics
        if capacity > 100_000 {
            #expect(statistics.hits > 2_000, "a cache holding everything serves most of these reads")
        } else {
            #expect(statistics.hits > 0 && statistics.misses > 1_000, "a tiny cache keeps rotating")
        }
        #expect(statistics.bytes <= capacity, "the cache stays within its budget")
    }

    @Test("readers racing a writer never go back in time and end on the last write")
    func race() throws {
        let dir = try makeTemporaryDirectory("cache-race")
        defer { removeTemporaryDirectory(dir) }
        let base = try LevelDBStore(path: dir + "/db")
        defer { base.close() }
        // A budget of about four entries, and a filler key in every write: the counter keeps falling out of the cache,
        // so readers keep reading LevelDB while the writer writes, which is where a stale value could get cached.
        let store = CachedStore(base: base, capacityBytes: 450)
        let key: [UInt8] = [7]
        let writes: UInt64 = 3_000
        // Real threads, not tasks: spinning readers must not starve the writer of the cooperative pool's threads.
        let done = Flag()
        let violations = Counter()
        let group = DispatchGroup()
        for _ in 0..<3 {
            group.enter()
            Thread.detachNewThread { [group] in
                defer { group.leave() }
                var last: UInt64 = 0
                while !done.value.load(ordering: .acquiring) {
                    let seen = value(try? store.get(key))
                    if seen < last { violations.value.add(1, ordering: .relaxed) }
                    last = seen
                }
            }
        }
        for i in 1...writes {
            var batch = WriteBatch()
            batch.put(key, withUnsafeBytes(of: i.bigEndian) { Array($0) })
            batch.put([8, UInt8(i % 50)], [1])
            try store.write(batch, sync: false)
        }
        done.value.store(true, ordering: .releasing)
        group.wait()
        #expect(violations.value.load(ordering: .relaxed) == 0, "a read went back in time")
        #expect(value(try store.get(key)) == writes)
        #expect(value(try base.get(key)) == writes)
    }

    @Test("a write between a miss's read and its caching wins: the stale value is not cached")
    func writeDuringMiss() throws {
        let base = InterleavingStore()
        let store = CachedStore(base: base, capacityBytes: 1 << 20)
        try base.inner.put([1], [1])
        base.hook.withLock { $0 = { try? store.put([1], [2]) } }
        // The read saw the old value (it began before the write finished), but it must not cache it.
        #expect(try store.get([1]) == [1])
        #expect(store.statistics.entries == 0)
        // The next read misses and caches the new value; the one after is served from the cache.
        #expect(try store.get([1]) == [2])
        #expect(try store.get([1]) == [2])
        #expect(store.statistics.hits == 1 && store.statistics.misses == 2)
    }

    @Test("values over the size bound (blocks) are served but not cached, and a write that makes a value too large drops it")
    func largeValuesPassThrough() throws {
        let base = MemoryStore()
        let store = CachedStore(base: base, capacityBytes: 1 << 20)
        let big = [UInt8](repeating: 7, count: CachedStore.valueBytesMax + 1)
        let small = [UInt8](repeating: 1, count: CachedStore.valueBytesMax)
        try base.put([1], big)
        try base.put([2], small)
        #expect(try store.get([1]) == big)
        #expect(try store.get([1]) == big)
        #expect(store.statistics.entries == 0 && store.statistics.misses == 2, "the large value went to the base both times")
        #expect(try store.get([2]) == small)
        #expect(try store.get([2]) == small)
        #expect(store.statistics.entries == 1 && store.statistics.hits == 1)
        // Growing a cached value past the bound drops it; the next read goes to the base and sees the new value.
        try store.put([2], big)
        #expect(store.statistics.entries == 0 && store.statistics.bytes == 0)
        #expect(try store.get([2]) == big)
        #expect(store.statistics.misses == 4)
    }

    @Test("a write refreshes the keys the cache holds, in either generation, and adds no others")
    func writeRefreshes() throws {
        let base = MemoryStore()
        // Room for a handful of entries, so the first reads end up in the old generation.
        let store = CachedStore(base: base, capacityBytes: 8 * 110)
        try base.put([1], [1])
        #expect(try store.get([1]) == [1])
        #expect(try store.get([3]) == nil)
        for filler in UInt8(10)..<14 { _ = try store.get([filler]) }
        let before = store.statistics
        var batch = WriteBatch()
        batch.put([1], [7])
        batch.put([3], [8])
        batch.put([2], [9])
        batch.delete([10])
        try store.write(batch, sync: false)
        // [2] was never read: not added. [1], [3] and [10] were cached: refreshed, wherever they were.
        #expect(store.statistics.entries == before.entries)
        #expect(try store.get([1]) == [7])
        #expect(try store.get([3]) == [8])
        #expect(try store.get([10]) == nil)
        #expect(store.statistics.hits == before.hits + 3)
        #expect(try store.get([2]) == [9])
        #expect(store.statistics.misses == before.misses + 1)
    }

    @Test("a failed write forgets the cache instead of serving a value the store may have replaced")
    func failedWrite() throws {
        let base = ApplyThenFailStore()
        let store = CachedStore(base: base, capacityBytes: 1 << 20)
        try base.inner.put([1], [1])
        #expect(try store.get([1]) == [1])
        #expect(try store.get([2]) == nil)
        var batch = WriteBatch()
        batch.put([1], [9])
        batch.put([2], [8])
        #expect(throws: StorageError.self) { try store.write(batch, sync: true) }
        #expect(try store.get([1]) == [9])
        #expect(try store.get([2]) == [8])
    }

    @Test("byte keys order byte-wise, a proper prefix first")
    func keyOrder() {
        var rng = SeededRandom(seed: testSeed())
        for _ in 0..<2_000 {
            let a = rng.bytes(Int.random(in: 0...20, using: &rng)).map { $0 % 3 }
            let b = rng.bytes(Int.random(in: 0...20, using: &rng)).map { $0 % 3 }
            #expect(ByteKey.precedes(a, b) == a.lexicographicallyPrecedes(b), "\(a) \(b)")
        }
    }
}
