import Encoding
import Foundation
import KeyValue
import Ledger
import TwinCrypto

/// The node's log of served reads (Docs/shadows.md, "Access audit"), in its blob LevelDB beside the blobs: records in
/// sequence order, an index by patient, and the batches whose Merkle roots the node anchors on the ledger.
///
/// Keys: `0x10 ‖ sequence:u64be` → record, `0x11 ‖ patient ‖ sequence:u64be` → empty, `0x12 ‖ first:u64be` → batch,
/// `0x13` → the next sequence and the first record not yet in a batch. Every append is one synced write (the record
/// and the counters together), so a served read is on disk before its bytes leave, and a crash loses none. Appends and
/// batch cuts take a lock, so reads served on several threads record in one sequence.
public final class AccessLog: @unchecked Sendable {
    /// A batch of consecutive records and the root the node anchors for them.
    public struct Batch: Sendable, Hashable, CanonicalCodable {
        public var first: UInt64
        public var count: UInt64
        public var root: Hash32

        public func encode(to writer: inout CanonicalWriter) {
            writer.write(uint: first)
            writer.write(uint: count)
            writer.write(root)
        }

        public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
            first = try reader.readUInt()
            count = try reader.readUInt()
            root = try reader.read()
        }

        init(first: UInt64, count: UInt64, root: Hash32) { (self.first, self.count, self.root) = (first, count, root) }
    }

    struct Counters: CanonicalCodable {
        var next: UInt64
        var unbatched: UInt64
        func encode(to writer: inout CanonicalWriter) {
            writer.write(uint: next)
            writer.write(uint: unbatched)
        }
        init(next: UInt64, unbatched: UInt64) { (self.next, self.unbatched) = (next, unbatched) }
        init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
            next = try reader.readUInt()
            unbatched = try reader.readUInt()
        }
    }

    /// At most this many records per batch.
    public static let batchMax = 1_024

    let store: any KeyValueStore
    /// The key id that anchors this log on the ledger.
    public let node: Hash32
    /// Guards `storedCounters` and orders appends and batch cuts.
    private let lock = NSLock()
    private var storedCounters: Counters
    var counters: Counters { lock.withLock { storedCounters } }

    static let recordPrefix: UInt8 = 0x10
    static let patientPrefix: UInt8 = 0x11
    static let batchPrefix: UInt8 = 0x12
    static let countersKey: [UInt8] = [0x13]

    static func be(_ value: UInt64) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }

    /// Opens the log in `store`. A new log starts at `start`: the anchoring key's next sequence on the ledger.
    public init(store: any KeyValueStore, node: Hash32, start: UInt64) throws(StorageError) {
        self.store = store
        self.node = node
        if let bytes = try store.get(Self.countersKey), let stored = try? Canonical.decode(Counters.self, from: bytes) {
            storedCounters = stored
        } else {
            storedCounters = Counters(next: start, unbatched: start)
        }
    }

    /// Sequence of the next record.
    public var nextSequence: UInt64 { counters.next }
    /// Records not yet in a batch.
    public var unbatchedCount: UInt64 {
        let c = counters
        return c.next - c.unbatched
    }

    /// Appends a record (durably) and returns it.
    @discardableResult
    public func append(timeMillis: UInt64, requester: Hash32, patient: Hash32, shadow: Hash32, blob: Hash32, grant: Hash32?,
                       purpose: Purpose) throws(StorageError) -> AccessRecord {
        lock.lock()
        defer { lock.unlock() }
        let counters = storedCounters
        let record = AccessRecord(sequence: counters.next, timeMillis: timeMillis, node: node, requester: requester,
                                  patient: patient, shadow: shadow, blob: blob, grant: grant, purpose: purpose)
        var next = counters
        next.next += 1
        var batch = WriteBatch()
        batch.put([Self.recordPrefix] + Self.be(record.sequence), Canonical.encode(record))
        batch.put([Self.patientPrefix] + patient.bytes + Self.be(record.sequence), [])
        batch.put(Self.countersKey, Canonical.encode(next))
        try store.write(batch, sync: true)
        storedCounters = next
        return record
    }

    public func record(_ sequence: UInt64) throws(StorageError) -> AccessRecord? {
        guard let bytes = try store.get([Self.recordPrefix] + Self.be(sequence)) else { return nil }
        return try? Canonical.decode(AccessRecord.self, from: bytes)
    }

    /// The records of accesses to `patient`'s shadows, in order (at most `limit`).
    public func records(patient: Hash32, limit: Int = 10_000) throws(StorageError) -> [AccessRecord] {
        var result: [AccessRecord] = []
        for entry in try store.scan(prefix: [Self.patientPrefix] + patient.bytes, limit: limit) {
            let tail = entry.key.suffix(8)
            let sequence = tail.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            if let record = try record(sequence) { result.append(record) }
        }
        return result
    }

    /// Puts the records not yet in a batch (at most `batchMax`) into the next one and returns it; nil if none wait.
    public func cutBatch() throws(StorageError) -> Batch? {
        lock.lock()
        defer { lock.unlock() }
        let counters = storedCounters
        let count = min(counters.next - counters.unbatched, UInt64(Self.batchMax))
        guard count > 0 else { return nil }
        var leaves: [[UInt8]] = []
        for sequence in counters.unbatched..<(counters.unbatched + count) {
            guard let bytes = try store.get([Self.recordPrefix] + Self.be(sequence)) else {
                throw StorageError(.corruption, "access record \(sequence) is missing")
            }
            leaves.append(bytes)
        }
        let batch = Batch(first: counters.unbatched, count: count, root: MerkleTree.root(leaves))
        var next = counters
        next.unbatched += count
        var write = WriteBatch()
        write.put([Self.batchPrefix] + Self.be(batch.first), Canonical.encode(batch))
        write.put(Self.countersKey, Canonical.encode(next))
        try store.write(write, sync: true)
        storedCounters = next
        return batch
    }

    /// The batch holding `sequence`, if it was cut.
    public func batch(containing sequence: UInt64) throws(StorageError) -> Batch? {
        guard sequence < counters.unbatched else { return nil }
        var found: Batch?
        try store.forEach(prefix: [Self.batchPrefix], start: nil) { entry in
            guard let batch = try? Canonical.decode(Batch.self, from: entry.value) else { return true }
            if batch.first <= sequence, sequence < batch.first + batch.count { found = batch; return false }
            return batch.first <= sequence
        }
        return found
    }

    /// Batches in order of their first record.
    public func batches() throws(StorageError) -> [Batch] {
        try store.scan(prefix: [Self.batchPrefix]).compactMap { try? Canonical.decode(Batch.self, from: $0.value) }
    }

    /// The leaf hashes of a batch's Merkle tree (Docs/blocks.md's tree: leaves are the canonical records).
    public func leafHashes(_ batch: Batch) throws(StorageError) -> [Hash32] {
        var hashes: [Hash32] = []
        for sequence in batch.first..<(batch.first + batch.count) {
            guard let bytes = try store.get([Self.recordPrefix] + Self.be(sequence)) else {
                throw StorageError(.corruption, "access record \(sequence) is missing")
            }
            hashes.append(MerkleTree.leafHash(bytes))
        }
        return hashes
    }

    /// The record's audit path in its batch's tree; pass the batch's `leafHashes` when proving several of its records.
    public func proof(_ record: AccessRecord, in batch: Batch, leafHashes: [Hash32]? = nil) throws(StorageError) -> MerkleProof {
        let hashes: [Hash32]
        if let leafHashes { hashes = leafHashes } else { hashes = try self.leafHashes(batch) }
        let index = Int(record.sequence - batch.first)
        return MerkleProof(index: UInt64(index), count: batch.count, path: MerkleTree.auditPath(hashes: hashes, index: index))
    }
}
