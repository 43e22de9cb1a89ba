/// The key-value protocol the ledger's state, blocks and indexes run over.
///
/// Keys and values are byte strings; keys sort byte-wise (unsigned, shorter prefix first), as LevelDB's default
/// comparator does. Writes are atomic batches: either every operation of a batch is applied or none is.
/// Implementations: `MemoryStore` (this module, for pure tests and models) and `LevelDBStore` (module Storage).
public protocol KeyValueReader: Sendable {
    /// The value stored under `key`, or nil.
    func get(_ key: [UInt8]) throws(StorageError) -> [UInt8]?

    /// Calls `body` for each entry whose key starts with `prefix` and is not below `start`, in key order,
    /// until `body` returns false or the entries end.
    func forEach(
        prefix: [UInt8], start: [UInt8]?, _ body: (KeyValueEntry) throws(StorageError) -> Bool
    ) throws(StorageError)

    /// Calls `body` with the bytes stored under `key` (valid only inside it) and returns its result, or nil if there
    /// is no value. A store that can lend its own copy (LevelDB) spares the copy into an array.
    func withValue<R>(_ key: [UInt8], _ body: (UnsafeRawBufferPointer) -> R) throws(StorageError) -> R?
}

extension KeyValueReader {
    public func withValue<R>(_ key: [UInt8], _ body: (UnsafeRawBufferPointer) -> R) throws(StorageError) -> R? {
        guard let bytes = try get(key) else { return nil }
        return bytes.withUnsafeBytes(body)
    }
}

/// A store that can also write and take consistent snapshots.
public protocol KeyValueStore: KeyValueReader {
    /// Applies every operation of `batch` atomically. With `sync`, the write is on stable storage before this returns.
    func write(_ batch: WriteBatch, sync: Bool) throws(StorageError)

    /// A read-only view frozen at this moment; later writes are invisible to it.
    func snapshot() throws(StorageError) -> any KeyValueReader
}

/// One stored entry.
public struct KeyValueEntry: Sendable, Hashable {
    public var key: [UInt8]
    public var value: [UInt8]
    public init(key: [UInt8], value: [UInt8]) {
        self.key = key
        self.value = value
    }
}

/// An ordered list of puts and deletes applied as one atomic unit; later operations on a key win.
public struct WriteBatch: Sendable {
    public enum Operation: Sendable, Hashable {
        case put(key: [UInt8], value: [UInt8])
        case delete(key: [UInt8])
    }

    public private(set) var operations: [Operation] = []

    public init() {}

    public mutating func put(_ key: [UInt8], _ value: [UInt8]) { operations.append(.put(key: key, value: value)) }
    public mutating func delete(_ key: [UInt8]) { operations.append(.delete(key: key)) }
    /// Appends another batch's operations after this one's.
    public mutating func append(_ other: WriteBatch) { operations.append(contentsOf: other.operations) }
    public mutating func reserveCapacity(_ count: Int) { operations.reserveCapacity(count) }
    public var isEmpty: Bool { operations.isEmpty }
    public var count: Int { operations.count }
}

extension KeyValueReader {
    /// Every entry under `prefix`, in key order, at most `limit` of them.
    public func scan(prefix: [UInt8], start: [UInt8]? = nil, limit: Int = .max) throws(StorageError) -> [KeyValueEntry] {
        var result: [KeyValueEntry] = []
        guard limit > 0 else { return result }
        try forEach(prefix: prefix, start: start) { entry in
            result.append(entry)
            return result.count < limit
        }
        return result
    }
}

extension KeyValueStore {
    public func put(_ key: [UInt8], _ value: [UInt8], sync: Bool = false) throws(StorageError) {
        var batch = WriteBatch()
        batch.put(key, value)
        try write(batch, sync: sync)
    }

    public func delete(_ key: [UInt8], sync: Bool = false) throws(StorageError) {
        var batch = WriteBatch()
        batch.delete(key)
        try write(batch, sync: sync)
    }
}
