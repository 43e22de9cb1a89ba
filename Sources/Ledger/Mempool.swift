import Encoding

/// Transactions admitted but not yet committed.
///
/// Admission checks once what can be checked without executing: canonical decoding, size, chain id and signature
/// (through `VerifiedTransaction`), duplicates, the signer's committed nonce, and the bounds below. Reaping hands a
/// block producer transactions in arrival order of their signers, each signer's in nonce order, so a signer's
/// queued transactions execute in sequence. After each block, committed and no longer valid transactions leave.
public struct Mempool: Sendable {
    public struct Limits: Sendable, Hashable {
        public var transactionsMax: Int
        public var bytesMax: Int
        public var perSignerMax: Int

        public init(transactionsMax: Int = 50_000, bytesMax: Int = 64 << 20, perSignerMax: Int = 1_000) {
            (self.transactionsMax, self.bytesMax, self.perSignerMax) = (transactionsMax, bytesMax, perSignerMax)
        }
    }

    /// Why admission refused a transaction (after `VerifiedTransaction` accepted its bytes).
    public enum Refusal: Error, Hashable, Sendable {
        /// Already waiting, or already committed.
        case duplicate
        /// The signer's committed nonce is already at or above this one.
        case staleNonce(committed: UInt64)
        /// The pool, its byte budget, or this signer's share of it is full.
        case full(String)

        public var code: String {
            switch self {
            case .duplicate: "duplicate"
            case .staleNonce: "stale_nonce"
            case .full: "mempool_full"
            }
        }
    }

    public let limits: Limits
    private var entries: [Hash32: Entry] = [:]
    private var arrival: UInt64 = 0
    private var perSigner: [Hash32: Int] = [:]
    public private(set) var bytes = 0

    struct Entry: Sendable {
        let transaction: VerifiedTransaction
        let signer: Hash32
        let order: UInt64
    }

    public init(limits: Limits = Limits()) { self.limits = limits }

    public var count: Int { entries.count }
    public func contains(_ id: Hash32) -> Bool { entries[id] != nil }
    /// The waiting transaction with this id.
    public func transaction(_ id: Hash32) -> VerifiedTransaction? { entries[id]?.transaction }
    /// Transactions waiting from `signer` (a key id).
    public func pendingCount(signer: Hash32) -> Int { perSigner[signer, default: 0] }

    /// Admits `transaction` given the signer's committed nonce (0 if none).
    public mutating func admit(_ transaction: VerifiedTransaction, committedNonce: UInt64) throws(Refusal) {
        guard entries[transaction.id] == nil else { throw .duplicate }
        guard transaction.body.nonce > committedNonce else { throw .staleNonce(committed: committedNonce) }
        guard entries.count < limits.transactionsMax else { throw .full("\(limits.transactionsMax) transactions") }
        guard bytes + transaction.bytes.count <= limits.bytesMax else { throw .full("\(limits.bytesMax) bytes") }
        let signer = transaction.body.signer.keyID
        guard perSigner[signer, default: 0] < limits.perSignerMax else {
            throw .full("\(limits.perSignerMax) transactions from this signer")
        }
        arrival += 1
        entries[transaction.id] = Entry(transaction: transaction, signer: signer, order: arrival)
        perSigner[signer, default: 0] += 1
        bytes += transaction.bytes.count
    }

    /// Up to `max` transactions for the next block (they stay until `removeCommitted`).
    public func reap(max: Int, bytesMax: Int = .max) -> [VerifiedTransaction] {
        var bySigner: [Hash32: [Entry]] = [:]
        for entry in entries.values { bySigner[entry.signer, default: []].append(entry) }
        let signers = bySigner.map { (signer: $0.key, first: $0.value.map(\.order).min() ?? 0) }.sorted { $0.first < $1.first }
        var result: [VerifiedTransaction] = []
        var size = 0
        // Round-robin over signers in arrival order, each in nonce order, so one busy signer cannot starve others.
        var queues = signers.map { s in bySigner[s.signer, default: []].sorted { $0.transaction.body.nonce < $1.transaction.body.nonce }[...] }
        while result.count < max {
            var progressed = false
            for index in queues.indices where result.count < max {
                guard let next = queues[index].first else { continue }
                guard size + next.transaction.bytes.count <= bytesMax else { return result }
                queues[index] = queues[index].dropFirst()
                result.append(next.transaction)
                size += next.transaction.bytes.count
                progressed = true
            }
            if !progressed { break }
        }
        return result
    }

    /// Removes transactions that a block committed, and any whose nonce the signer's committed nonce has passed.
    public mutating func removeCommitted(_ ids: [Hash32], committedNonce: (Hash32) -> UInt64) {
        for id in ids { remove(id) }
        let stale = entries.values.filter { $0.transaction.body.nonce <= committedNonce($0.signer) }.map(\.transaction.id)
        for id in stale { remove(id) }
    }

    private mutating func remove(_ id: Hash32) {
        guard let entry = entries.removeValue(forKey: id) else { return }
        bytes -= entry.transaction.bytes.count
        perSigner[entry.signer, default: 1] -= 1
        if perSigner[entry.signer] == 0 { perSigner[entry.signer] = nil }
    }
}
