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
        /// Bytes one signer's waiting transactions may take: without it, a thousand transactions of the largest size
        /// from one signer would fill the whole byte budget. A sixteenth of `bytesMax` unless set.
        public var perSignerBytesMax: Int

        public init(transactionsMax: Int = 50_000, bytesMax: Int = 64 << 20, perSignerMax: Int = 1_000, perSignerBytesMax: Int? = nil) {
            (self.transactionsMax, self.bytesMax, self.perSignerMax) = (transactionsMax, bytesMax, perSignerMax)
            self.perSignerBytesMax = perSignerBytesMax ?? max(1, bytesMax / 16)
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
    /// Each signer's waiting transactions in nonce order, and when the signer's queue began (for fair reaping).
    private var bySigner: [Hash32: SignerQueue] = [:]
    private var arrival: UInt64 = 0
    public private(set) var bytes = 0

    struct Entry: Sendable {
        let transaction: VerifiedTransaction
        let signer: Hash32
    }

    struct SignerQueue: Sendable {
        let since: UInt64
        /// (nonce, id), ascending by nonce.
        var items: [(nonce: UInt64, id: Hash32)] = []
        var bytes = 0
    }

    public init(limits: Limits = Limits()) { self.limits = limits }

    public var count: Int { entries.count }
    public func contains(_ id: Hash32) -> Bool { entries[id] != nil }
    /// The waiting transaction with this id.
    public func transaction(_ id: Hash32) -> VerifiedTransaction? { entries[id]?.transaction }
    /// Transactions waiting from `signer` (a key id).
    public func pendingCount(signer: Hash32) -> Int { bySigner[signer]?.items.count ?? 0 }
    /// Bytes waiting from `signer`.
    public func pendingBytes(signer: Hash32) -> Int { bySigner[signer]?.bytes ?? 0 }

    /// Admits a verified transaction whose signer's committed nonce is `committedNonce`.
    public mutating func admit(_ transaction: VerifiedTransaction, committedNonce: UInt64) throws(Refusal) {
        guard entries[transaction.id] == nil else { throw .duplicate }
        guard transaction.body.nonce > committedNonce else { throw .staleNonce(committed: committedNonce) }
        guard entries.count < limits.transactionsMax else { throw .full("\(limits.transactionsMax) transactions") }
        guard bytes + transaction.bytes.count <= limits.bytesMax else { throw .full("\(limits.bytesMax) bytes") }
        let signer = transaction.signerID
        guard (bySigner[signer]?.items.count ?? 0) < limits.perSignerMax else {
            throw .full("\(limits.perSignerMax) transactions from this signer")
        }
        guard (bySigner[signer]?.bytes ?? 0) + transaction.bytes.count <= limits.perSignerBytesMax else {
            throw .full("\(limits.perSignerBytesMax) bytes from this signer")
        }
        arrival += 1
        entries[transaction.id] = Entry(transaction: transaction, signer: signer)
        let nonce = transaction.body.nonce
        var queue = bySigner.removeValue(forKey: signer) ?? SignerQueue(since: arrival)
        // Nonces usually arrive in order: append; otherwise insert in place.
        if let last = queue.items.last, last.nonce > nonce {
            let index = queue.items.firstIndex { $0.nonce > nonce } ?? queue.items.count
            queue.items.insert((nonce, transaction.id), at: index)
        } else {
            queue.items.append((nonce, transaction.id))
        }
        queue.bytes += transaction.bytes.count
        bySigner[signer] = queue
        bytes += transaction.bytes.count
    }

    /// Up to `max` transactions for the next block (they stay until `removeCommitted`).
    public func reap(max: Int, bytesMax: Int = .max) -> [VerifiedTransaction] {
        // Round-robin over signers in the order their queues began, each in nonce order, so one busy signer cannot
        // starve others.
        let queues = bySigner.values.sorted { $0.since < $1.since }.map(\.items)
        var positions = [Int](repeating: 0, count: queues.count)
        var result: [VerifiedTransaction] = []
        var size = 0
        while result.count < max {
            var progressed = false
            for index in queues.indices where result.count < max && positions[index] < queues[index].count {
                guard let entry = entries[queues[index][positions[index]].id] else { continue }
                guard size + entry.transaction.bytes.count <= bytesMax else { return result }
                positions[index] += 1
                result.append(entry.transaction)
                size += entry.transaction.bytes.count
                progressed = true
            }
            if !progressed { break }
        }
        return result
    }

    /// Removes transactions that a block committed, and the waiting transactions of the block's `signers` whose
    /// nonce the signer's committed nonce has now passed (only a committed transaction moves a signer's nonce; a
    /// block may carry another transaction with the same nonce than the one waiting here).
    public mutating func removeCommitted(_ ids: [Hash32], signers: some Sequence<Hash32>, committedNonce: (Hash32) -> UInt64) {
        for id in ids { _ = remove(id) }
        for signer in Set(signers) {
            guard let queue = bySigner[signer] else { continue }
            let committed = committedNonce(signer)
            for item in queue.items where item.nonce <= committed { _ = remove(item.id) }
        }
    }

    /// Removes one transaction; returns its signer.
    private mutating func remove(_ id: Hash32) -> Hash32? {
        guard let entry = entries.removeValue(forKey: id) else { return nil }
        bytes -= entry.transaction.bytes.count
        if var queue = bySigner.removeValue(forKey: entry.signer) {
            if let index = queue.items.firstIndex(where: { $0.id == id }) {
                queue.items.remove(at: index)
                queue.bytes -= entry.transaction.bytes.count
            }
            if !queue.items.isEmpty { bySigner[entry.signer] = queue }
        }
        return entry.signer
    }
}
