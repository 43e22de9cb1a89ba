import Consensus
import Encoding
import KeyValue
import Ledger
import Logging
import P2P
import Storage
import TwinCrypto

#if canImport(Glibc)
import Glibc
#endif

/// A ledger node: admission, mempool, consensus (for a validator), block sync, and the queries the API serves.
///
/// An actor, so admission, consensus steps, sync and queries never interleave inside one operation. A validator
/// runs Tendermint (`startConsensus`, ConsensusDriver.swift) and every node follows the chain by block sync over its
/// peer network. `produceBlock` commits without consensus and exists for tests and benchmarks of the state path.
public actor LedgerNode {
    public nonisolated let chainID: String
    public nonisolated let metrics: NodeMetrics
    let chain: Chain
    let proposer: PublicKey
    var mempool: Mempool
    let blockInterval: Duration
    let blockTransactionsMax: Int
    let logger: Logger
    var waiters: [Hash32: [CheckedContinuation<Void, Never>]] = [:]
    /// A clock for block times; tests inject their own.
    let now: @Sendable () -> UInt64
    /// The validator set of height 1 (the ledger's schedule has it too; this is the fallback).
    let genesisValidators: ValidatorSet
    var consensus: ConsensusState?
    var network: PeerNetwork?
    var sync = SyncState()
    /// Shadow replication: told of every committed `shadow.register`, handed peers' blob messages.
    var replicator: BlobReplicator?

    public struct Settings: Sendable {
        public var blockInterval: Duration = .milliseconds(1_000)
        public var blockTransactionsMax = 1_000
        public var mempool = Mempool.Limits()
        public init() {}
    }

    public init(
        store: any KeyValueStore, genesis: LedgerGenesis, proposer: PublicKey, settings: Settings = Settings(),
        logger: Logger = Logger(label: "twinledger.node"),
        now: @escaping @Sendable () -> UInt64 = LedgerNode.wallClockMillis
    ) throws(LedgerError) {
        chainID = genesis.chainID
        chain = try Chain(store: store, genesis: genesis)
        self.proposer = proposer
        mempool = Mempool(limits: settings.mempool)
        blockInterval = settings.blockInterval
        blockTransactionsMax = settings.blockTransactionsMax
        self.logger = logger
        self.now = now
        do {
            // A ledger without genesis validators (tests of the state path) has its proposer as the one validator.
            let validators = genesis.validators.isEmpty ? [ValidatorChange(key: proposer, power: 1)] : genesis.validators
            genesisValidators = try ValidatorSet(validators.map { Validator(key: $0.key, power: $0.power) })
        } catch {
            throw LedgerError(.invalidField, "the genesis validator set: \(error)")
        }
        metrics = NodeMetrics()
        metrics.height.set(Double(chain.head.height))
        if let stale = try? PolicyEnvelopes.stale(in: chain.store) { metrics.staleEnvelopes.set(Double(stale.count)) }
    }

    @Sendable public static func wallClockMillis() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return UInt64(spec.tv_sec) * 1_000 + UInt64(spec.tv_nsec) / 1_000_000
    }

    // MARK: Admission

    /// Why a submission was refused, with the stable code the API returns.
    public struct Refusal: Error, Sendable, CustomStringConvertible {
        public let code: String
        public let message: String
        public var description: String { "\(code): \(message)" }
    }

    /// Admits signed transaction bytes into the mempool and passes them to the validators; returns the id.
    public func submit(_ bytes: [UInt8]) throws(Refusal) -> Hash32 {
        let id = try admit(bytes, gossip: true)
        tryPropose()
        return id
    }

    /// Admits a transaction; with `gossip`, sends it to the connected validators (who do not pass it on: the
    /// consortium's validators are fully connected). One already waiting or committed is refused by its id before its
    /// signature is checked; `fromPeer` drops it silently instead (gossip a validator may have executed in a block
    /// before the gossip arrived), without counting it as refused.
    func admit(_ bytes: [UInt8], gossip: Bool, fromPeer: Bool = false) throws(Refusal) -> Hash32 {
        let id = Hashing.sha3(bytes)
        if mempool.contains(id) || (try? chain.location(of: id)) != nil {
            if fromPeer { return id }
            metrics.refused("duplicate")
            throw Refusal(code: "duplicate", message: "transaction \(id.hex) is already waiting or committed")
        }
        let transaction: VerifiedTransaction
        do {
            transaction = try VerifiedTransaction(bytes: bytes, chainID: chainID, id: id)
        } catch {
            metrics.refused(error.code.rawValue)
            throw Refusal(code: error.code.rawValue, message: error.message)
        }
        do {
            try mempool.admit(transaction, committedNonce: committedNonce(transaction.body.signer.keyID))
        } catch {
            metrics.refused(error.code)
            throw Refusal(code: error.code, message: "\(error)")
        }
        metrics.mempoolSize.set(Double(mempool.count))
        if gossip, let network { network.broadcast(.transaction(bytes), to: validatorPeers()) }
        return transaction.id
    }

    func committedNonce(_ signer: Hash32) -> UInt64 {
        guard let bytes = try? chain.store.get(StateKey.nonce(signer)),
            let nonce = try? Canonical.decode(UInt64.self, from: bytes)
        else { return 0 }
        return nonce
    }

    // MARK: Production

    /// Produces and commits one block if transactions are waiting; returns its header.
    /// The cache counters already reported to the metrics.
    private var reportedCache = CachedStore.Statistics()

    /// Commits a block without consensus (tests and benchmarks of the state path; never alongside consensus).
    @discardableResult
    public func produceBlock() throws(LedgerError) -> BlockHeader? {
        let transactions = mempool.reap(max: blockTransactionsMax)
        guard !transactions.isEmpty else { return nil }
        let (block, execution) = try chain.propose(transactions, timeMillis: now(), proposer: proposer)
        try finishCommit(block, execution, certificate: nil)
        return block.header
    }

    /// Commits `block` and does the node's bookkeeping: metrics, mempool, waiters.
    func finishCommit(_ block: Block, _ execution: BlockExecution, certificate: [UInt8]?) throws(LedgerError) {
        let clock = ContinuousClock()
        let start = clock.now
        try chain.commit(block, execution, certificate: certificate)
        metrics.blockCommit.recordNanoseconds(Int64((clock.now - start).components.attoseconds / 1_000_000_000
            + (clock.now - start).components.seconds * 1_000_000_000))
        metrics.blockTransactions.record(Double(block.transactions.count))
        for result in execution.results {
            switch result {
            case .accepted: metrics.accepted.increment()
            case .rejected(_, let error): metrics.rejected(error.code.rawValue)
            }
        }
        let ids = execution.results.map { TransactionOutcome($0).transaction }
        mempool.removeCommitted(ids, signers: execution.signers) { committedNonce($0) }
        metrics.height.set(Double(block.header.height))
        metrics.mempoolSize.set(Double(mempool.count))
        metrics.treeBytes.set(Double(chain.tree.liveNodes.bytes))
        if let cache = chain.store as? CachedStore {
            let statistics = cache.statistics
            metrics.cacheHits.increment(by: Int64(clamping: statistics.hits &- reportedCache.hits))
            metrics.cacheMisses.increment(by: Int64(clamping: statistics.misses &- reportedCache.misses))
            metrics.cacheBytes.set(Double(statistics.bytes))
            reportedCache = statistics
        }
        for id in ids {
            for waiter in waiters.removeValue(forKey: id) ?? [] { waiter.resume() }
        }
        if execution.results.contains(where: { result in
            guard case .accepted(let receipt) = result else { return false }
            return ["authority.rotate", "shadow.register", "shadow.erase", "shadow.rewrap"].contains(receipt.kind)
        }) {
            updateStaleEnvelopes()
        }
        if let replicator {
            for (index, result) in execution.results.enumerated() {
                guard case .accepted(let receipt) = result else { continue }
                if receipt.kind == "consent.grant" {
                    // Grants are most of a busy block: only their payload is read, for its envelopes.
                    let envelopes = ConsentGrant.envelopes(inSignedTransaction: block.transactions[index]) ?? []
                    replicator.committed(envelopes: envelopes.map(\.address))
                    continue
                }
                guard receipt.kind == "shadow.register" || receipt.kind == "shadow.erase" || receipt.kind == "shadow.rewrap",
                    let signed = try? Canonical.decode(SignedTransaction.self, from: block.transactions[index])
                else { continue }
                switch signed.body.payload {
                case .shadowRegister(let registration): replicator.committed(registration)
                case .shadowRewrap(let rewrap):
                    replicator.committed(rewrap: rewrap.policy.address, retired: retiredEnvelopes(of: rewrap.shadow))
                case .shadowErase(let erase):
                    if let shadow = try? record(Shadow.self, StateKey.shadow(erase.shadow)) {
                        replicator.committed(erasure: erasure(of: shadow, height: block.header.height))
                    }
                default: break
                }
            }
        }
        logger.debug("committed block", metadata: [
            "height": "\(block.header.height)", "transactions": "\(ids.count)",
            "state_root": "\(block.header.stateRoot.hex.prefix(16))",
        ])
    }

    /// Counts the policy envelopes left on old authority epochs (the `twinledger_abe_envelopes_stale` gauge).
    func updateStaleEnvelopes() {
        if let stale = try? PolicyEnvelopes.stale(in: chain.store) { metrics.staleEnvelopes.set(Double(stale.count)) }
    }

    /// The shadows whose current policy envelope is on an old authority epoch (`twinledger shadow rewrap` re-wraps them).
    public func staleEnvelopes() throws(LedgerError) -> Set<Hash32> { try PolicyEnvelopes.stale(in: chain.store) }

    /// Produces blocks until the task is cancelled. A failing commit stops production (the store is in trouble);
    /// the node keeps answering queries and reports unhealthy.
    public func runProducer() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: blockInterval)
            do {
                try produceBlock()
            } catch {
                logger.critical("block production stopped: \(error)")
                producerFailure = "\(error)"
                return
            }
        }
    }

    var producerFailure: String?

    /// Waits until `id` is committed or `timeout` passes.
    public func waitForCommit(_ id: Hash32, timeout: Duration) async {
        if (try? chain.location(of: id)) != nil { return }
        guard mempool.contains(id) else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.suspendUntilCommitted(id) }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
            await self.releaseWaiters(id)
        }
    }

    private func suspendUntilCommitted(_ id: Hash32) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            if (try? chain.location(of: id)) != nil {
                continuation.resume()
            } else {
                waiters[id, default: []].append(continuation)
            }
        }
    }

    private func releaseWaiters(_ id: Hash32) {
        for waiter in waiters.removeValue(forKey: id) ?? [] { waiter.resume() }
    }

    // MARK: Queries

    public enum TransactionStatus: Sendable {
        case pending
        case committed(Chain.InclusionProof)
        case unknown
    }

    public func status(of id: Hash32) throws(LedgerError) -> TransactionStatus {
        if let proof = try chain.inclusionProof(of: id) { return .committed(proof) }
        return mempool.contains(id) ? .pending : .unknown
    }

    public var head: Chain.ChainHead { chain.head }
    public var mempoolCount: Int { mempool.count }
    public var healthy: Bool { producerFailure == nil }

    public func block(at height: UInt64) throws(LedgerError) -> Block? { try chain.block(at: height) }
    public func outcomes(at height: UInt64) throws(LedgerError) -> [TransactionOutcome]? { try chain.outcomes(at: height) }
    /// The commit certificate of the block at `height` (canonical bytes), once this node has it.
    public func certificate(at height: UInt64) throws(LedgerError) -> [UInt8]? { try chain.certificate(at: height) }

    public func stateValue(_ key: [UInt8]) throws(LedgerError) -> (value: [UInt8]?, proof: StateTree.Proof, root: Hash32, height: UInt64) {
        let (value, proof, root) = try chain.stateValue(key)
        return (value, proof, root, chain.head.height)
    }

    public func record<T: CanonicalDecodable & Sendable>(_ type: T.Type, _ key: [UInt8]) throws(LedgerError) -> T? {
        let bytes: [UInt8]?
        do { bytes = try chain.store.get(key) } catch { throw LedgerError(.storage, "\(error)") }
        guard let bytes else { return nil }
        do { return try Canonical.decode(T.self, from: bytes) } catch {
            throw LedgerError(.storage, "stored \(T.self) does not decode: \(error)")
        }
    }

    /// Ids under an index prefix (the last 32 bytes of each key).
    public func indexed(_ prefix: [UInt8], limit: Int = 10_000) throws(LedgerError) -> [Hash32] {
        do {
            return try chain.store.scan(prefix: prefix, limit: limit).compactMap { Hash32(bytes: $0.key.suffix(32)) }
        } catch {
            throw LedgerError(.storage, "\(error)")
        }
    }

    /// A patient's history: the transaction ids in order, and the head with its state proof.
    public func history(_ patient: Hash32) throws(LedgerError) -> (entries: [Hash32], head: HistoryHead, proof: StateTree.Proof, root: Hash32, height: UInt64) {
        let entries: [Hash32]
        do {
            entries = try chain.store.scan(prefix: StateKey.historyEntries(patient)).compactMap {
                try? Canonical.decode(Hash32.self, from: $0.value)
            }
        } catch {
            throw LedgerError(.storage, "\(error)")
        }
        let key = StateKey.historyHead(patient)
        let (value, proof, root) = try chain.stateValue(key)
        let head = value.flatMap { try? Canonical.decode(HistoryHead.self, from: $0) } ?? .empty
        return (entries, head, proof, root, chain.head.height)
    }

    public func committedNonceOf(_ signer: Hash32) -> UInt64 { committedNonce(signer) }

    /// Whether `requester` may read `shadow` for `purpose`, by the ledger at the current height and the node's clock
    /// (Docs/shadows.md, "Reads").
    public func readAccess(requester: Hash32, shadow: Hash32, purpose: Purpose, blob: Hash32? = nil) throws(AccessError) -> ReadAccess.Allowed {
        try ReadAccess.check(requester: requester, shadow: shadow, purpose: purpose, time: now() / 1_000, blob: blob, state: chain.store)
    }

    /// Whether `uploader` may upload a payload for `patient` (Docs/shadows.md, "Who may upload").
    public func uploadAccess(uploader: Hash32, patient: Hash32) throws(AccessError) {
        try UploadAccess.check(uploader: uploader, patient: patient, time: now() / 1_000, state: chain.store)
    }

    /// Signs `payload` with `key` at the key's next free nonce (after its committed and waiting transactions) and
    /// submits it like any client's transaction; returns its id. For the node's own transactions (audit anchors).
    public func submitOwn(_ payload: Payload, key: SecretKey) throws(Refusal) -> Hash32 {
        let signer = key.publicKey.keyID
        let nonce = committedNonce(signer) + UInt64(mempool.pendingCount(signer: signer)) + 1
        let body = TransactionBody(chainID: chainID, signer: key.publicKey, nonce: nonce, payload: payload)
        let signed: SignedTransaction
        do { signed = try SignedTransaction(signing: body, with: key) } catch {
            throw Refusal(code: error.code.rawValue, message: error.message)
        }
        return try submit(signed.bytes)
    }

    /// Makes `replicator` hear of committed shadows and of peers' blob messages.
    public func attach(replicator: BlobReplicator) { self.replicator = replicator }

    /// Every registered shadow: those not erased (replication checks them all at start), and the erased ones with
    /// the height of their erasure (carried out at start if they were erased while the node was down).
    /// `envelopes` are the key envelopes grants carry for the live shadows.
    public func registeredShadows() -> (live: [ShadowRegister], envelopes: [Hash32], erased: [BlobReplicator.Erasure]) {
        var live: [ShadowRegister] = []
        var erased: [BlobReplicator.Erasure] = []
        var shadows: [Shadow] = []
        try? chain.store.forEach(prefix: [StateKey.shadowPrefix], start: nil) { entry in
            if let shadow = try? Canonical.decode(Shadow.self, from: entry.value) { shadows.append(shadow) }
            return true
        }
        for shadow in shadows {
            if let height = shadow.erasedHeight { erased.append(erasure(of: shadow, height: height)) } else { live.append(shadow.registration) }
        }
        return (live, live.flatMap { grantEnvelopes(of: $0.shadow) }, erased)
    }

    /// What erasing `shadow` at `height` deletes: every version it had (from the version index) and the envelopes
    /// grants carry for it.
    func erasure(of shadow: Shadow, height: UInt64) -> BlobReplicator.Erasure {
        let id = shadow.registration.shadow
        var versions: [ShadowRegister] = []
        try? chain.store.forEach(prefix: StateKey.shadowVersions(id), start: nil) { entry in
            if let registration = try? Canonical.decode(ShadowRegister.self, from: entry.value),
                registration.version < shadow.registration.version
            {
                versions.append(registration)
            }
            return true
        }
        return BlobReplicator.Erasure(versions: versions + [shadow.registration],
                                      grantEnvelopes: grantEnvelopes(of: id) + retiredEnvelopes(of: id), height: height)
    }

    /// Policy envelopes of `shadow` that re-wraps replaced.
    public func retiredEnvelopes(of shadow: Hash32) -> [Hash32] {
        var addresses: [Hash32] = []
        try? chain.store.forEach(prefix: StateKey.retiredEnvelopes(shadow), start: nil) { entry in
            if let address = Hash32(bytes: entry.key.suffix(32)) { addresses.append(address) }
            return true
        }
        return addresses
    }

    /// Addresses of the key envelopes that grants carry for `shadow` (every version).
    public func grantEnvelopes(of shadow: Hash32) -> [Hash32] {
        var addresses: [Hash32] = []
        try? chain.store.forEach(prefix: StateKey.shadowGrantEnvelopes(shadow), start: nil) { entry in
            if let envelope = try? Canonical.decode(ShadowEnvelope.self, from: entry.value) { addresses.append(envelope.address) }
            return true
        }
        return addresses
    }

    /// The node's clock (unix milliseconds).
    public nonisolated var clockMillis: UInt64 { now() }

    /// The transaction with this id, if committed.
    public func transaction(_ id: Hash32) throws(LedgerError) -> SignedTransaction? {
        guard let proof = try chain.inclusionProof(of: id) else { return nil }
        return try? Canonical.decode(SignedTransaction.self, from: proof.transaction)
    }
}
