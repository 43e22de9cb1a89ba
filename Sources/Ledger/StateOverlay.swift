import Encoding
import KeyValue

/// Writes pending over a base state, in two layers: the block's accepted transactions, and the transaction being
/// executed. A rejected transaction's layer is dropped whole, so it changes nothing.
struct StateOverlay {
    enum Write: Equatable {
        case put([UInt8])
        case delete
    }

    let base: any KeyValueReader
    private(set) var block: [ByteKey: Write] = [:]
    private var transaction: [ByteKey: Write] = [:]

    init(base: any KeyValueReader) { self.base = base }

    func get(_ key: [UInt8]) throws(LedgerError) -> [UInt8]? {
        let wrapped = ByteKey(key)
        if let write = transaction[wrapped] ?? block[wrapped] {
            if case .put(let value) = write { return value }
            return nil
        }
        do {
            return try base.get(key)
        } catch {
            throw LedgerError(.storage, "\(error)")
        }
    }

    /// Keys under `prefix`, merging pending writes with the base, in byte order.
    func keys(prefix: [UInt8]) throws(LedgerError) -> [[UInt8]] {
        var present: Set<[UInt8]> = []
        do {
            try base.forEach(prefix: prefix, start: nil) { entry in
                present.insert(entry.key)
                return true
            }
        } catch {
            throw LedgerError(.storage, "\(error)")
        }
        for layer in [block, transaction] {
            for (key, write) in layer where key.bytes.starts(with: prefix) {
                if case .put = write { present.insert(key.bytes) } else { present.remove(key.bytes) }
            }
        }
        return present.sorted(by: ByteKey.precedes)
    }

    func record<T: CanonicalDecodable>(_ type: T.Type, _ key: [UInt8]) throws(LedgerError) -> T? {
        guard let bytes = try get(key) else { return nil }
        do {
            return try Canonical.decode(T.self, from: bytes)
        } catch {
            throw LedgerError(.storage, "stored \(T.self) under \(Hex.encode(key)) does not decode: \(error)")
        }
    }

    mutating func put<T: CanonicalEncodable>(_ value: T, at key: [UInt8]) {
        transaction[ByteKey(key)] = .put(Canonical.encode(value))
    }

    mutating func putRaw(_ value: [UInt8], at key: [UInt8]) {
        transaction[ByteKey(key)] = .put(value)
    }

    mutating func delete(_ key: [UInt8]) {
        transaction[ByteKey(key)] = .delete
    }

    /// Keeps the current transaction's writes.
    mutating func commitTransaction() {
        block.merge(transaction) { _, new in new }
        transaction = [:]
    }

    /// Drops the current transaction's writes.
    mutating func discardTransaction() {
        transaction = [:]
    }

    /// The block's changes to authenticated keys, for the state tree.
    func authenticatedChanges() -> [StateTree.Change] {
        block.compactMap { key, write in
            guard StateKey.isAuthenticated(key.bytes) else { return nil }
            if case .put(let value) = write { return StateTree.Change(key: key.bytes, value: value) }
            return StateTree.Change(key: key.bytes, value: nil)
        }
    }

    /// The block's writes as one batch, in key order so every node produces the same batch.
    func writeBatch() -> WriteBatch {
        var batch = WriteBatch()
        batch.reserveCapacity(block.count)
        for (key, write) in block.sorted(by: { $0.key < $1.key }) {
            switch write {
            case .put(let value): batch.put(key.bytes, value)
            case .delete: batch.delete(key.bytes)
            }
        }
        return batch
    }
}
