// The state cache's memory: what its byte estimate (`state_cache_mb` bounds it) says against what the C heap
// really hands out for the same entries (glibc's in-use bytes, before and after filling the cache).
//
// The budget is only as good as the estimate (`CachedStore.cost`); this measures the ratio for each kind of entry
// the ledger caches (Docs/performance.md, "What holds the remainder").
import CHeap
import Foundation
import KeyValue

/// A base store that makes a fresh value of a fixed size for every key (nil: every key is absent), so the only
/// copies that stay allocated are the cache's.
private final class FabricatingStore: KeyValueStore {
    let valueBytes: Int?
    init(valueBytes: Int?) { self.valueBytes = valueBytes }
    func get(_ key: [UInt8]) throws(StorageError) -> [UInt8]? {
        valueBytes.map { count in [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            for i in 0..<count { buffer[i] = UInt8(truncatingIfNeeded: i &+ Int(key.last ?? 0)) }
            initialized = count
        } }
    }
    func forEach(prefix: [UInt8], start: [UInt8]?, _ body: (KeyValueEntry) throws(StorageError) -> Bool) throws(StorageError) {}
    func write(_ batch: WriteBatch, sync: Bool) throws(StorageError) {}
    func snapshot() throws(StorageError) -> any KeyValueReader { self }
}

private func heapInUse() -> Int {
    var (inUse, free) = (0, 0)
    twinledger_heap_statistics(&inUse, &free)
    return inUse
}

struct CacheMemoryRow: Encodable {
    let valueBytes: Int?
    let entries: Int
    let estimatedMiB: Double
    let heapMiB: Double
    var ratio: Double { heapMiB / estimatedMiB }
}

/// Fills a cache of `budgetMiB` with 33-byte keys (a tag and a hash, as the ledger's state keys are) and values of
/// each size, reading twice the keys it can hold so that its generations have turned over, and reports the estimate
/// against the heap.
func runCacheMemoryBenchmark(budgetMiB: Int) -> [CacheMemoryRow] {
    print("State cache: its estimate against the C heap, a \(budgetMiB) MiB budget filled twice over")
    print("  value bytes    entries   estimate MiB   heap MiB   heap / estimate")
    var results: [CacheMemoryRow] = []
    for valueBytes in [nil, 48, 160, 400, 1_200] as [Int?] {
        let before = heapInUse()
        let cache = CachedStore(base: FabricatingStore(valueBytes: valueBytes), capacityBytes: budgetMiB << 20)
        var key = [UInt8](repeating: 0, count: 33)
        key[0] = 0x01
        let keys = 2 * (budgetMiB << 20) / CachedStore.cost(ByteKey(key), valueBytes.map { [UInt8](repeating: 0, count: $0) })
        for i in 0..<keys {
            withUnsafeBytes(of: UInt64(i).bigEndian) { bytes in for j in 0..<8 { key[25 + j] = bytes[j] } }
            blackHole(try? cache.get(key))
        }
        let statistics = cache.statistics
        let row = CacheMemoryRow(valueBytes: valueBytes, entries: statistics.entries, estimatedMiB: Double(statistics.bytes) / 1_048_576,
                                 heapMiB: Double(heapInUse() - before) / 1_048_576)
        withExtendedLifetime(cache) {}
        results.append(row)
        let label = valueBytes.map { "\($0)" } ?? "absent"
        print(String(repeating: " ", count: max(0, 13 - label.count)) + label
              + String(format: " %10d %14.1f %10.1f %17.2f", row.entries, row.estimatedMiB, row.heapMiB, row.ratio))
    }
    return results
}
