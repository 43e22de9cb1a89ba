import Synchronization

/// A write-through cache of point reads in front of another store.
///
/// The ledger reads the same few records over and over (signers' participant records and nonces, history heads,
/// patients' records), and a LevelDB point read costs microseconds where a dictionary lookup costs tens of
/// nanoseconds. The cache holds only committed values: a value enters it when it is read from the base store, and a
/// batch applied to the base store updates the entries of the keys it wrote, so a cached read always returns what
/// the base store would. Absent keys are cached too (as absent), since the rules often ask for records that do not
/// exist.
///
/// Eviction is generational, an approximation of least-recently-used that costs nothing per hit: entries live in a
/// young and an old generation; when the young one exceeds half the byte budget it becomes the old one and the
/// previous old one is dropped. A hit in the old generation moves the entry back to the young one.
///
/// Values over `valueBytesMax` are not cached: they are blocks, outcomes and certificates read by explorers, auditors
/// and peers' block sync, read once each and each as large as thousands of state records, which a heap profile of a
/// validator serving block reads found filling the cache (Docs/performance.md, "Soak").
///
/// Range scans (`forEach`) and snapshots go to the base store.
public final class CachedStore: KeyValueStore {
    /// The largest value kept (state records are a few hundred bytes).
    public static let valueBytesMax = 4_096

    /// Counters for metrics and benchmarks.
    public struct Statistics: Sendable, Hashable {
        public var hits: UInt64 = 0
        public var misses: UInt64 = 0
        public var entries: Int = 0
        public var bytes: Int = 0
        public init() {}
        init(hits: UInt64, misses: UInt64, entries: Int, bytes: Int) {
            (self.hits, self.misses, self.entries, self.bytes) = (hits, misses, entries, bytes)
        }
    }

    struct Generations {
        var young: [ByteKey: [UInt8]?] = [:]
        var old: [ByteKey: [UInt8]?] = [:]
        var youngBytes = 0
        var oldBytes = 0
        /// Bumped by every write, so a read that raced a write does not cache what it read.
        var epoch: UInt64 = 0
        var hits: UInt64 = 0
        var misses: UInt64 = 0

        /// The entry for `key`, if cached: `.some(nil)` means known absent.
        mutating func lookup(_ key: ByteKey, budget: Int) -> [UInt8]?? {
            if let entry = young[key] {
                hits &+= 1
                return .some(entry)
            }
            if let entry = old.removeValue(forKey: key) {
                hits &+= 1
                oldBytes -= CachedStore.cost(key, entry)
                insert(key, entry, budget: budget)
                return .some(entry)
            }
            misses &+= 1
            return nil
        }

        mutating func insert(_ key: ByteKey, _ value: [UInt8]?, budget: Int) {
            guard (value?.count ?? 0) <= CachedStore.valueBytesMax else {
                forget(key)
                return
            }
            if let previous = young.updateValue(value, forKey: key) {
                youngBytes -= CachedStore.cost(key, previous)
            } else if let previous = old.removeValue(forKey: key) {
                oldBytes -= CachedStore.cost(key, previous)
            }
            youngBytes += CachedStore.cost(key, value)
            rotateIfFull(budget: budget)
        }

        /// Drops `key` from both generations.
        mutating func forget(_ key: ByteKey) {
            if let previous = young.removeValue(forKey: key) { youngBytes -= CachedStore.cost(key, previous) }
            if let previous = old.removeValue(forKey: key) { oldBytes -= CachedStore.cost(key, previous) }
        }

        /// Records a written value for `key` if the key is cached; adds nothing otherwise. A value too large to cache
        /// drops the key.
        mutating func refresh(_ key: ByteKey, _ value: [UInt8]?, budget: Int) {
            guard (value?.count ?? 0) <= CachedStore.valueBytesMax else {
                forget(key)
                return
            }
            if let index = young.index(forKey: key) {
                youngBytes += CachedStore.cost(key, value) - CachedStore.cost(key, young.values[index])
                young.values[index] = value
                rotateIfFull(budget: budget)
            } else if let previous = old.removeValue(forKey: key) {
                oldBytes -= CachedStore.cost(key, previous)
                insert(key, value, budget: budget)
            }
        }

        /// When the young generation holds half the budget it becomes the old one, and the old one is dropped. The
        /// new young generation is sized for as many entries as the last one held, so it never grows by rehashing.
        mutating func rotateIfFull(budget: Int) {
            guard youngBytes > budget / 2 else { return }
            let entries = young.count
            old = young
            oldBytes = youngBytes
            young = Dictionary(minimumCapacity: entries)
            youngBytes = 0
        }
    }

    public let base: any KeyValueStore
    /// The most the cached entries may take, estimated with per-entry overhead included.
    public let capacityBytes: Int
    private let generations = Mutex(Generations())

    public init(base: any KeyValueStore, capacityBytes: Int) {
        self.base = base
        self.capacityBytes = max(capacityBytes, 0)
    }

    /// Estimated memory of one entry: the bytes plus array headers and the dictionary slot.
    public static func cost(_ key: ByteKey, _ value: [UInt8]?) -> Int { key.bytes.count + (value?.count ?? 0) + 96 }

    public func get(_ bytes: [UInt8]) throws(StorageError) -> [UInt8]? {
        let budget = capacityBytes
        let key = ByteKey(bytes)
        let (cached, epoch) = generations.withLock { state in (state.lookup(key, budget: budget), state.epoch) }
        if let cached { return cached }
        let value = try base.get(bytes)
        if budget > 0 {
            generations.withLock { state in
                if state.epoch == epoch { state.insert(key, value, budget: budget) }
            }
        }
        return value
    }

    public func forEach(
        prefix: [UInt8], start: [UInt8]?, _ body: (KeyValueEntry) throws(StorageError) -> Bool
    ) throws(StorageError) {
        try base.forEach(prefix: prefix, start: start, body)
    }

    /// Writes to the base store, then updates the cached entries of the keys it wrote (deletions as absent). A
    /// write adds no entry: keys enter the cache when they are read, so write-only data (lookup indexes, records
    /// nobody has asked for yet) does not crowd out the records that are read.
    public func write(_ batch: WriteBatch, sync: Bool) throws(StorageError) {
        do {
            try base.write(batch, sync: sync)
        } catch {
            // The base store may or may not have applied the batch: forget everything rather than guess.
            generations.withLock { state in
                state = Generations(epoch: state.epoch &+ 1, hits: state.hits, misses: state.misses)
            }
            throw error
        }
        let budget = capacityBytes
        generations.withLock { state in
            state.epoch &+= 1
            guard budget > 0 else { return }
            for operation in batch.operations {
                switch operation {
                case .put(let key, let value): state.refresh(ByteKey(key), value, budget: budget)
                case .delete(let key): state.refresh(ByteKey(key), nil, budget: budget)
                }
            }
        }
    }

    public func snapshot() throws(StorageError) -> any KeyValueReader { try base.snapshot() }

    public var statistics: Statistics {
        generations.withLock { state in
            Statistics(
                hits: state.hits, misses: state.misses, entries: state.young.count + state.old.count,
                bytes: state.youngBytes + state.oldBytes
            )
        }
    }
}

/// A byte-string dictionary key that hashes its bytes once, in one call, and keeps the result.
///
/// The standard library hashes an array element by element, which dominates lookups of 30-100 byte keys; and a
/// dictionary rehashes every key when it grows and compares keys on every probe. With the hash kept next to the
/// pointer, growing reads no key bytes, and a probe reads them only when the hashes are equal: in a cache of a
/// million entries each probe that has to follow the pointer costs a cache miss.
public struct ByteKey: Hashable, Sendable {
    public let bytes: [UInt8]
    /// The bytes' hash under this process's hashing seed.
    @usableFromInline let digest: Int

    @inlinable
    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        var hasher = Hasher()
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
        digest = hasher.finalize()
    }

    @inlinable
    public func hash(into hasher: inout Hasher) { hasher.combine(digest) }

    @inlinable
    public static func == (a: ByteKey, b: ByteKey) -> Bool { a.digest == b.digest && a.bytes == b.bytes }
}

extension ByteKey: Comparable {
    /// Byte-wise order (LevelDB's default comparator), compared eight bytes at a time.
    @inlinable
    public static func < (a: ByteKey, b: ByteKey) -> Bool { precedes(a.bytes, b.bytes) }

    /// True if `a` sorts before `b` byte-wise, a proper prefix first.
    @inlinable
    public static func precedes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.withUnsafeBytes { x in
            b.withUnsafeBytes { y in
                let common = min(x.count, y.count)
                var i = 0
                while i + 8 <= common {
                    let u = UInt64(bigEndian: x.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                    let v = UInt64(bigEndian: y.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                    if u != v { return u < v }
                    i += 8
                }
                while i < common {
                    if x[i] != y[i] { return x[i] < y[i] }
                    i += 1
                }
                return x.count < y.count
            }
        }
    }
}
