import Encoding
import KeyValue
import TwinCrypto

/// The committed chain on one store: blocks, their outcomes, a transaction index and the state they produce.
///
/// Single writer: the caller serializes `commit` calls (the node's block producer, later consensus). Each block is
/// committed with its state writes, outcomes, transaction locations and the new head in **one** synced write batch,
/// so a crash at any moment leaves the chain at the last whole block; `init` resumes from there, rebuilding the state
/// tree from the stored state and checking its root against the head's. Executions made by `propose` that are not
/// committed are dropped (their tree nodes freed) when another block commits; they cannot be committed afterwards.
public final class Chain: @unchecked Sendable {
    public let store: any KeyValueStore
    public let chainID: String
    let machine: StateMachine
    public private(set) var head: ChainHead
    /// The authenticated state tree of the head's state.
    public private(set) var tree: StateTree

    /// The latest committed block, or the genesis state at height 0.
    public struct ChainHead: Sendable, Hashable, CanonicalCodable {
        public var height: UInt64
        /// Hash of the latest header; zero at height 0.
        public var blockHash: Hash32
        public var stateRoot: Hash32
        public var timeMillis: UInt64

        public func encode(to writer: inout CanonicalWriter) {
            writer.write(uint: height)
            writer.write(blockHash)
            writer.write(stateRoot)
            writer.write(uint: timeMillis)
        }

        public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
            height = try reader.readUInt()
            blockHash = try reader.read()
            stateRoot = try reader.read()
            timeMillis = try reader.readUInt()
        }

        init(height: UInt64, blockHash: Hash32, stateRoot: Hash32, timeMillis: UInt64) {
            (self.height, self.blockHash, self.stateRoot, self.timeMillis) = (height, blockHash, stateRoot, timeMillis)
        }
    }

    /// Where a transaction was committed, and how it ended.
    public struct Location: Sendable, Hashable, CanonicalCodable {
        public var height: UInt64
        public var index: UInt64

        public func encode(to writer: inout CanonicalWriter) {
            writer.write(uint: height)
            writer.write(uint: index)
        }

        public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
            height = try reader.readUInt()
            index = try reader.readUInt()
        }

        init(height: UInt64, index: UInt64) {
            self.height = height
            self.index = index
        }
    }

    // Chain keys live above the authenticated range (Docs/blocks.md, "Storage").
    static let headKey: [UInt8] = [0x80]
    static let genesisKey: [UInt8] = [0x81]
    static func blockKey(_ height: UInt64) -> [UInt8] { [0x82] + StateKey.bigEndian(height) }
    static func outcomesKey(_ height: UInt64) -> [UInt8] { [0x83] + StateKey.bigEndian(height) }
    static func locationKey(_ id: Hash32) -> [UInt8] { [0x84] + id.bytes }
    static func certificateKey(_ height: UInt64) -> [UInt8] { [0x85] + StateKey.bigEndian(height) }
    static let formatKey: [UInt8] = [0x86]

    /// The encoding of the transactions and records this release writes: 3 since 0.8.0 (`authority.publish` and
    /// `authority.rotate` carry an RW15 public key and attribute versions; `authority.attributes`, `attribute.issue`).
    /// 2 was 0.7.0 (key envelopes in grants); a store without the key was written under format 1 (0.6.0 and earlier).
    public static let ledgerFormat: UInt64 = 3

    /// Opens the chain in `store`, writing the genesis state first if the store is new. A store made from another
    /// genesis is refused.
    public init(store: any KeyValueStore, genesis: LedgerGenesis) throws(LedgerError) {
        self.store = store
        chainID = genesis.chainID
        machine = StateMachine(chainID: genesis.chainID)
        let (genesisTree, genesisBatch) = try StateMachine.genesis(genesis)
        let genesisRoot = genesisTree.root
        let fingerprint = Hashing.sha3(parts: [Array(genesis.chainID.utf8), genesisRoot.bytes])
        let stored: [UInt8]?
        do { stored = try store.get(Chain.genesisKey) } catch { throw LedgerError(.storage, "\(error)") }
        if let stored {
            guard stored == fingerprint.bytes else {
                throw LedgerError(.invalidField, "this store holds another chain (genesis differs)")
            }
            let format = (try? store.get(Chain.formatKey)).flatMap { $0 }.flatMap { try? Canonical.decode(UInt64.self, from: $0) } ?? 1
            guard format == Chain.ledgerFormat else {
                let release = format == 1 ? "0.6.0 or earlier" : format == 2 ? "0.7.0" : "a later release"
                throw LedgerError(.invalidField, "this store holds a chain of ledger format \(format) (TwinLedger \(release)); "
                    + "this release reads format \(Chain.ledgerFormat), whose authorities publish RW15 keys and attribute "
                    + "versions: start a new chain (README, \"Upgrading\")")
            }
            guard let bytes = try? store.get(Chain.headKey), let head = try? Canonical.decode(ChainHead.self, from: bytes)
            else { throw LedgerError(.storage, "chain head is missing or unreadable") }
            self.head = head
            tree = try StateTree.load(store)
            guard tree.root == head.stateRoot else {
                throw LedgerError(.storage, "the stored state's root \(tree.root.hex.prefix(16))… is not the head's "
                    + "state root \(head.stateRoot.hex.prefix(16))… at height \(head.height): the store is damaged, or was "
                    + "written by a version with another state tree (0.2.0 used a binary tree; Docs/state-tree.md)")
            }
        } else {
            head = ChainHead(height: 0, blockHash: .zero, stateRoot: genesisRoot, timeMillis: 0)
            var batch = genesisBatch
            batch.put(Chain.genesisKey, fingerprint.bytes)
            batch.put(Chain.headKey, Canonical.encode(head))
            batch.put(Chain.formatKey, Canonical.encode(Chain.ledgerFormat))
            do { try store.write(batch, sync: true) } catch { throw LedgerError(.storage, "\(error)") }
            try genesisTree.commit()
            tree = genesisTree
        }
    }

    /// A block proposal on top of the head: executes `transactions` and fills in every root.
    public func propose(
        _ transactions: [VerifiedTransaction], timeMillis: UInt64, proposer: PublicKey, lastCommit: [UInt8]? = nil
    ) throws(LedgerError) -> (block: Block, execution: BlockExecution) {
        let height = head.height + 1
        let time = max(timeMillis, head.timeMillis)
        let execution = try machine.execute(transactions, on: store, tree: tree, context: BlockContext(height: height, time: time / 1000))
        let outcomes = execution.results.map(TransactionOutcome.init)
        let header = BlockHeader(
            chainID: chainID, height: height, timeMillis: time, previousBlock: head.blockHash,
            transactionCount: UInt64(transactions.count),
            transactionsRoot: MerkleTree.root(transactions.map { $0.id.bytes }),
            resultsRoot: MerkleTree.root(outcomes.map { Canonical.encode($0) }),
            stateRoot: execution.stateRoot, proposer: proposer,
            lastCommit: lastCommit.map { Hashing.sha3($0) } ?? .zero
        )
        return (Block(header: header, transactions: transactions.map(\.bytes), lastCommit: lastCommit), execution)
    }

    /// Executes a block another validator proposed on top of the head and checks every header field against the
    /// result: chain, height, link, time, transaction count and root, every transaction's signature, the outcomes'
    /// root, the state root after execution, and the hash of the carried commit certificate (whose content the
    /// consensus layer checks). Returns the execution, to commit if the block is decided. A block that fails any
    /// check throws and leaves nothing behind.
    ///
    /// `known` returns transactions this node already verified (its mempool's), by id: those are not verified again,
    /// so a validator checks each signature once, at admission (the bytes must be identical, which the id ensures).
    public func validate(_ block: Block, known: (Hash32) -> VerifiedTransaction? = { _ in nil }) throws(LedgerError) -> BlockExecution {
        let header = block.header
        guard header.chainID == chainID else { throw LedgerError(.wrongChain, "block for chain \(header.chainID)") }
        guard header.height == head.height + 1, header.previousBlock == head.blockHash else {
            throw LedgerError(.badSequence, "block \(header.height) does not extend height \(head.height)")
        }
        guard header.timeMillis >= head.timeMillis else {
            throw LedgerError(.invalidField, "block time \(header.timeMillis) is before the head's \(head.timeMillis)")
        }
        guard block.transactions.count == Int(clamping: header.transactionCount), block.transactions.count <= Block.transactionsMax
        else { throw LedgerError(.invalidField, "the header counts \(header.transactionCount) transactions, the block has \(block.transactions.count)") }
        guard header.lastCommit == (block.lastCommit.map { Hashing.sha3($0) } ?? .zero) else {
            throw LedgerError(.invalidField, "the header's last commit hash does not match the certificate carried")
        }
        var transactions: [VerifiedTransaction] = []
        transactions.reserveCapacity(block.transactions.count)
        for bytes in block.transactions {
            if let verified = known(Hashing.sha3(bytes)), verified.bytes == bytes {
                transactions.append(verified)
            } else {
                transactions.append(try VerifiedTransaction(bytes: bytes, chainID: chainID))
            }
        }
        guard MerkleTree.root(transactions.map { $0.id.bytes }) == header.transactionsRoot else {
            throw LedgerError(.invalidField, "transactions root does not match the transactions")
        }
        let execution = try machine.execute(
            transactions, on: store, tree: tree, context: BlockContext(height: header.height, time: header.timeMillis / 1000)
        )
        let outcomes = execution.results.map(TransactionOutcome.init)
        guard MerkleTree.root(outcomes.map { Canonical.encode($0) }) == header.resultsRoot,
            execution.stateRoot == header.stateRoot
        else {
            execution.tree.discard()
            throw LedgerError(.invalidField, "the block's results or state root differ from executing it")
        }
        return execution
    }

    /// The commit certificate stored with the block at `height` (consensus encodes it; the ledger keeps the bytes).
    public func certificate(at height: UInt64) throws(LedgerError) -> [UInt8]? {
        do { return try store.get(Chain.certificateKey(height)) } catch { throw LedgerError(.storage, "\(error)") }
    }

    /// Commits a block produced by `propose` on the current head, atomically and durably, with the commit
    /// certificate that decided it, if consensus produced one.
    public func commit(_ block: Block, _ execution: BlockExecution, certificate: [UInt8]? = nil) throws(LedgerError) {
        guard block.header.height == head.height + 1, block.header.previousBlock == head.blockHash else {
            throw LedgerError(.badSequence, "block \(block.header.height) does not extend height \(head.height)")
        }
        guard block.header.stateRoot == execution.stateRoot else {
            throw LedgerError(.invalidField, "block state root does not match its execution")
        }
        guard execution.tree.canCommit(over: tree) else {
            throw LedgerError(.badSequence, "the execution was not made on the head's state (or was dropped)")
        }
        var batch = execution.batch
        let outcomes = execution.results.map(TransactionOutcome.init)
        for (index, outcome) in outcomes.enumerated() {
            batch.put(Chain.locationKey(outcome.transaction), Canonical.encode(Location(height: block.header.height, index: UInt64(index))))
        }
        batch.put(Chain.blockKey(block.header.height), Canonical.encode(block))
        if let certificate { batch.put(Chain.certificateKey(block.header.height), certificate) }
        var writer = CanonicalWriter()
        writer.write(list: outcomes)
        batch.put(Chain.outcomesKey(block.header.height), writer.bytes)
        let newHead = ChainHead(
            height: block.header.height, blockHash: block.header.hash, stateRoot: block.header.stateRoot,
            timeMillis: block.header.timeMillis
        )
        batch.put(Chain.headKey, Canonical.encode(newHead))
        do { try store.write(batch, sync: true) } catch { throw LedgerError(.storage, "\(error)") }
        head = newHead
        // Frees the nodes the block replaced and drops other executions made on the old head.
        try execution.tree.commit()
        tree = execution.tree
    }

    // MARK: Queries

    public func block(at height: UInt64) throws(LedgerError) -> Block? {
        try decode(Block.self, Chain.blockKey(height))
    }

    public func outcomes(at height: UInt64) throws(LedgerError) -> [TransactionOutcome]? {
        let bytes: [UInt8]?
        do { bytes = try store.get(Chain.outcomesKey(height)) } catch { throw LedgerError(.storage, "\(error)") }
        guard let bytes else { return nil }
        do {
            var reader = try CanonicalReader(bytes)
            let list = try reader.readList(of: TransactionOutcome.self, limit: Block.transactionsMax)
            try reader.finish()
            return list
        } catch {
            throw LedgerError(.storage, "outcomes at \(height) do not decode: \(error)")
        }
    }

    public func location(of transaction: Hash32) throws(LedgerError) -> Location? {
        try decode(Location.self, Chain.locationKey(transaction))
    }

    /// Everything a client needs to check that a transaction was committed, and how it ended: the header, the
    /// transaction, its outcome, and Merkle proofs of both against the header's roots.
    public struct InclusionProof: Sendable, Hashable {
        public var header: BlockHeader
        public var transaction: [UInt8]
        public var transactionProof: MerkleProof
        public var outcome: TransactionOutcome
        public var outcomeProof: MerkleProof

        /// Checks both proofs against the header (the header itself is checked against a commit certificate by
        /// whoever trusts it).
        public func verify() -> Bool {
            let id = Hashing.sha3(transaction)
            return outcome.transaction == id && transactionProof.count == header.transactionCount
                && outcomeProof.count == header.transactionCount
                && transactionProof.verify(leaf: id.bytes, root: header.transactionsRoot)
                && outcomeProof.verify(leaf: Canonical.encode(outcome), root: header.resultsRoot)
        }
    }

    public func inclusionProof(of transaction: Hash32) throws(LedgerError) -> InclusionProof? {
        guard let location = try location(of: transaction), let block = try block(at: location.height),
            let outcomes = try outcomes(at: location.height), Int(location.index) < block.transactions.count
        else { return nil }
        let index = Int(location.index)
        let ids = block.transactions.map { MerkleTree.leafHash(Hashing.sha3($0).bytes) }
        let results = outcomes.map { MerkleTree.leafHash(Canonical.encode($0)) }
        let count = UInt64(block.transactions.count)
        return InclusionProof(
            header: block.header, transaction: block.transactions[index],
            transactionProof: MerkleProof(index: location.index, count: count, path: MerkleTree.auditPath(hashes: ids, index: index)),
            outcome: outcomes[index],
            outcomeProof: MerkleProof(index: location.index, count: count, path: MerkleTree.auditPath(hashes: results, index: index))
        )
    }

    /// The current value of a state key with its proof against the head's state root.
    public func stateValue(_ key: [UInt8]) throws(LedgerError) -> (value: [UInt8]?, proof: StateTree.Proof, root: Hash32) {
        let value: [UInt8]?
        do { value = try store.get(key) } catch { throw LedgerError(.storage, "\(error)") }
        return (value, try tree.proof(for: key), head.stateRoot)
    }

    private func decode<T: CanonicalDecodable>(_ type: T.Type, _ key: [UInt8]) throws(LedgerError) -> T? {
        let bytes: [UInt8]?
        do { bytes = try store.get(key) } catch { throw LedgerError(.storage, "\(error)") }
        guard let bytes else { return nil }
        do { return try Canonical.decode(T.self, from: bytes) } catch {
            throw LedgerError(.storage, "stored \(T.self) does not decode: \(error)")
        }
    }
}
