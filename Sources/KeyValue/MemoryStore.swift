import Synchronization

/// An in-memory `KeyValueStore` for pure tests, models and the simulator. Same semantics as the LevelDB store:
/// byte-wise key order, atomic batches, snapshots isolated from later writes. Nothing survives the process.
public final class MemoryStore: KeyValueStore {
    private let entries = Mutex<[[UInt8]: [UInt8]]>([:])

    public init() {}

    public func get(_ key: [UInt8]) throws(StorageError) -> [UInt8]? {
        entries.withLock { $0[key] }
    }

    public func forEach(
        prefix: [UInt8], start: [UInt8]?, _ body: (KeyValueEntry) throws(StorageError) -> Bool
    ) throws(StorageError) {
        try MemorySnapshot(entries: entries.withLock { $0 }).forEach(prefix: prefix, start: start, body)
    }

    public func write(_ batch: WriteBatch, sync: Bool) throws(StorageError) {
        entries.withLock { map in
            for operation in batch.operations {
                switch operation {
                case .put(let key, let value): map[key] = value
                case .delete(let key): map[key] = nil
                }
            }
        }
    }

    public func snapshot() throws(StorageError) -> any KeyValueReader {
        MemorySnapshot(entries: entries.withLock { $0 })
    }

    /// Number of entries (for tests).
    public var count: Int { entries.withLock { $0.count } }
}

/// A frozen copy of a `MemoryStore` (copy-on-write, so taking one is cheap).
struct MemorySnapshot: KeyValueReader {
    let entries: [[UInt8]: [UInt8]]

    func get(_ key: [UInt8]) throws(StorageError) -> [UInt8]? { entries[key] }

    func forEach(
        prefix: [UInt8], start: [UInt8]?, _ body: (KeyValueEntry) throws(StorageError) -> Bool
    ) throws(StorageError) {
        let lower = start.map { prefix.lexicographicallyPrecedes($0) ? $0 : prefix } ?? prefix
        let keys = entries.keys
            .filter { $0.starts(with: prefix) && !$0.lexicographicallyPrecedes(lower) }
            .sorted { $0.lexicographicallyPrecedes($1) }
        for key in keys {
            guard let value = entries[key] else { continue }
            if try !body(KeyValueEntry(key: key, value: value)) { return }
        }
    }
}
