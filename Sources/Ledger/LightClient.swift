import Consensus
import Encoding
import TwinCrypto

/// What an auditor's light client found wrong with what a node served (Docs/audit.md lists the codes). A finding names
/// the height it concerns, when there is one.
public struct AuditFinding: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable, Codable {
        /// The node could not be reached or answered with something that is not the API's.
        case unreachable
        /// A block, outcome list, certificate or proof that does not decode.
        case malformed
        /// A block of another chain, or at another height than asked.
        case wrongChain = "wrong_chain"
        /// A header whose `previous_block` is not the hash of the verified block before it.
        case brokenLink = "broken_link"
        /// Transactions that do not hash to the header's transactions root (altered, added or left out).
        case tamperedTransactions = "tampered_transactions"
        /// Outcomes that do not hash to the header's results root.
        case tamperedOutcomes = "tampered_outcomes"
        /// A block without the commit certificate that makes it final.
        case missingCertificate = "missing_certificate"
        /// A certificate that is not a quorum of valid signatures of the validators in force at its height.
        case badCertificate = "bad_certificate"
        /// A history whose proof does not verify under the state root of the verified header at its height.
        case historyProof = "history_proof"
        /// A history whose entries do not rebuild the proven head: entries left out, altered or reordered.
        case incompleteHistory = "incomplete_history"
        /// Two nodes that each serve a certified header at one height, but different ones.
        case conflictingHeader = "conflicting_header"
        /// An access record whose proof does not lead to the root its node anchored on the ledger.
        case accessProof = "access_proof"
    }

    public let code: Code
    public let height: UInt64?
    public let message: String

    public init(_ code: Code, height: UInt64? = nil, _ message: String) {
        (self.code, self.height, self.message) = (code, height, message)
    }

    public var description: String { "\(code.rawValue)\(height.map { " at height \($0)" } ?? ""): \(message)" }
}

/// A transaction the light client keeps: where it is in the chain, and how it ended.
public struct LocatedTransaction: Sendable, Hashable {
    public let id: Hash32
    public let height: UInt64
    public let index: Int
    /// The block's time, in milliseconds since the epoch.
    public let timeMillis: UInt64
    public let transaction: SignedTransaction
    /// Empty when accepted, else the rejection code.
    public let code: String
    public var signerID: Hash32 { transaction.body.signer.keyID }
}

/// The light client of Docs/audit.md: it trusts the genesis alone and verifies, block after block, that each header
/// links to the one before it, that the served transactions and outcomes hash to the header's roots, and that a
/// quorum of the validators in force at that height signed the block's commit certificate. It follows validator
/// changes as the ledger does (an accepted `validators.update` takes effect two heights later). It keeps what an
/// audit of one patient needs: the transactions touching the patient (found by the same rules that extend the
/// patient's history chain), every audit anchor, every recorded double-sign and every enrolment (to name the actors).
///
/// Pure: it is fed blocks and does no IO, so the CLI, the tests and a node can all drive it.
public struct LightClient: Sendable {
    public let chainID: String
    public let patient: Hash32
    public let genesisRoot: Hash32
    public let parameters: LedgerParameters
    /// Organizations by key id, from the genesis.
    public let organizations: [Hash32: String]
    public private(set) var schedule: ValidatorSchedule
    /// The verified headers, `headers[h - 1]` at height h.
    public private(set) var headers: [BlockHeader] = []
    /// Accepted transactions touching the patient, in chain order.
    public private(set) var patientTransactions: [LocatedTransaction] = []
    /// Accepted `audit.anchor` transactions, by the anchoring key id and first sequence.
    public private(set) var anchors: [AnchorKey: LocatedTransaction] = [:]
    /// Accepted `evidence.submit` transactions.
    public private(set) var evidence: [LocatedTransaction] = []
    /// Accepted `validators.update` transactions.
    public private(set) var validatorUpdates: [LocatedTransaction] = []
    /// Enrolled participants by key id.
    public private(set) var participants: [Hash32: Enroll] = [:]
    /// Keys patients rotated to (`key.rotate`), by key id: the patient id each signs for.
    public private(set) var rotatedPatientKeys: [Hash32: Hash32] = [:]
    // Ids whose later transactions touch the patient: their grants (and break-glass grants), delegations, shadows.
    private var grants: Set<Hash32> = []
    private var delegations: Set<Hash32> = []
    private var shadows: Set<Hash32> = []

    public struct AnchorKey: Sendable, Hashable {
        public let node: Hash32
        public let first: UInt64
        public init(node: Hash32, first: UInt64) { (self.node, self.first) = (node, first) }
    }

    public init(genesis: LedgerGenesis, patient: Hash32) throws(LedgerError) {
        chainID = genesis.chainID
        self.patient = patient
        genesisRoot = try StateMachine.genesis(genesis).tree.root
        parameters = genesis.parameters
        organizations = Dictionary(genesis.organizations.map { ($0.key.keyID, $0.name) }, uniquingKeysWith: { a, _ in a })
        guard !genesis.validators.isEmpty else { throw LedgerError(.invalidField, "the genesis names no validators") }
        let entry = ValidatorSchedule.Entry(effectiveHeight: 1, version: 0, validators: genesis.validators.sorted { $0.key.keyID < $1.key.keyID })
        _ = try entry.set()
        schedule = ValidatorSchedule(entries: [entry])
    }

    /// The height of the last verified block (0 before any).
    public var height: UInt64 { UInt64(headers.count) }

    /// The verified header at `height`, if the client has reached it.
    public func header(at height: UInt64) -> BlockHeader? {
        height >= 1 && height <= self.height ? headers[Int(height - 1)] : nil
    }

    /// Verifies block `height + 1` with its outcomes and its commit certificate and, if all holds, takes it.
    public mutating func append(_ block: Block, outcomes: [TransactionOutcome], certificate bytes: [UInt8]?) throws(AuditFinding) {
        let h = height + 1
        let header = block.header
        guard header.chainID == chainID, header.height == h else {
            throw AuditFinding(.wrongChain, height: h, "asked for block \(h) of \(chainID), got block \(header.height) of \(header.chainID)")
        }
        let previous = headers.last?.hash ?? .zero
        guard header.previousBlock == previous else {
            throw AuditFinding(.brokenLink, height: h, "previous_block is \(header.previousBlock.hex.prefix(16))…, the verified block \(h - 1) is \(previous.hex.prefix(16))…")
        }
        let ids = block.transactions.map { Hashing.sha3($0) }
        guard header.transactionCount == UInt64(ids.count), MerkleTree.root(ids.map(\.bytes)) == header.transactionsRoot else {
            throw AuditFinding(.tamperedTransactions, height: h, "the \(ids.count) transactions served do not hash to the header's transactions root")
        }
        guard outcomes.count == ids.count, zip(outcomes, ids).allSatisfy({ $0.transaction == $1 }),
            MerkleTree.root(outcomes.map { Canonical.encode($0) }) == header.resultsRoot
        else {
            throw AuditFinding(.tamperedOutcomes, height: h, "the outcomes served do not hash to the header's results root")
        }
        if h > 1 {
            // The header commits to the previous block's certificate as the block carries it.
            let carried = block.lastCommit.map { Hashing.sha3($0) } ?? .zero
            guard carried == header.lastCommit else {
                throw AuditFinding(.tamperedTransactions, height: h, "the block's last commit does not hash to the header's last_commit")
            }
        }
        guard let bytes else { throw AuditFinding(.missingCertificate, height: h, "the node serves no commit certificate for block \(h)") }
        let certificate: CommitCertificate
        do { certificate = try Canonical.decode(CommitCertificate.self, from: bytes) } catch {
            throw AuditFinding(.malformed, height: h, "the commit certificate does not decode: \(error)")
        }
        guard certificate.height == h, certificate.block == header.hash else {
            throw AuditFinding(.badCertificate, height: h, "the certificate is for block \(certificate.block.hex.prefix(16))… at height \(certificate.height), not this block")
        }
        guard let entry = schedule.entry(at: h) else { throw AuditFinding(.badCertificate, height: h, "no validator set is in force") }
        do {
            try certificate.verify(chainID: chainID, validators: try entry.set())
        } catch {
            throw AuditFinding(.badCertificate, height: h, "not a quorum of validator set version \(entry.version): \(error)")
        }
        // Only now does anything of the block count.
        var taken: [LocatedTransaction] = []
        for (index, (bytes, outcome)) in zip(block.transactions, outcomes).enumerated() where outcome.accepted {
            guard let signed = try? Canonical.decode(SignedTransaction.self, from: bytes) else {
                throw AuditFinding(.malformed, height: h, "accepted transaction \(index) does not decode")
            }
            taken.append(LocatedTransaction(id: ids[index], height: h, index: index, timeMillis: header.timeMillis, transaction: signed, code: ""))
        }
        headers.append(header)
        for located in taken { take(located) }
    }

    private mutating func take(_ t: LocatedTransaction) {
        var touches = false
        switch t.transaction.body.payload {
        case .enroll(let p):
            participants[p.key.keyID] = p
            touches = p.role == .patient && patientID(for: p.key) == patient
        case .consentGrant(let p):
            touches = p.patient == patient
            if touches { grants.insert(t.id) }
        case .breakGlass(let p):
            touches = p.patient == patient
            if touches { grants.insert(t.id) }
        case .consentRevoke(let p): touches = grants.contains(p.grant)
        case .delegationGrant(let p):
            touches = p.patient == patient
            if touches { delegations.insert(t.id) }
        case .delegationRevoke(let p): touches = delegations.contains(p.delegation)
        case .shadowRegister(let p):
            touches = p.patient == patient
            if touches { shadows.insert(p.shadow) }
        case .shadowRewrap(let p): touches = shadows.contains(p.shadow)
        case .shadowErase(let p): touches = shadows.contains(p.shadow)
        case .auditAnchor(let p): anchors[AnchorKey(node: t.signerID, first: p.firstSequence)] = t
        case .evidenceSubmit: evidence.append(t)
        case .validatorsUpdate(let p):
            validatorUpdates.append(t)
            scheduleUpdate(p, at: t.height)
        case .validatorRotate(let p):
            validatorUpdates.append(t)
            if let latest = schedule.latest, let entry = latest.rotated(from: t.transaction.body.signer, to: p.newKey, at: t.height) {
                schedule.schedule(entry)
            }
        case .keyRotate(let p):
            touches = p.patient == patient
            if let old = participants[t.transaction.body.signer.keyID] {
                participants[p.newKey.keyID] = Enroll(key: p.newKey, role: old.role, organization: old.organization)
            }
            rotatedPatientKeys[p.newKey.keyID] = p.patient
        case .authorityPublish, .authorityRotate, .authorityAttributes, .attributeIssue: break
        }
        if touches { patientTransactions.append(t) }
    }

    /// The ledger's own rule (`ValidatorSchedule.Entry.amended`): the changes amend the latest set from `height + 2`.
    private mutating func scheduleUpdate(_ p: ValidatorsUpdate, at height: UInt64) {
        guard let latest = schedule.latest else { return }
        schedule.schedule(latest.amended(by: p.changes, at: height).entry)
    }

    /// Verifies a node's account of the patient's history chain: the head record proven under the state root of the
    /// verified header at `height`, rebuilt from the listed entries, each of which must be an accepted transaction
    /// the client verified; and, the other way, every transaction touching the patient up to `height` must be listed.
    /// Returns the verified entries in history order.
    public func verifyHistory(count: UInt64, head: Hash32, entries: [Hash32], height: UInt64, stateRoot: Hash32,
                              proof: StateTree.Proof) throws(AuditFinding) -> [LocatedTransaction] {
        guard let header = header(at: height) else {
            throw AuditFinding(.historyProof, height: height, "the history is proven at height \(height), beyond the verified \(self.height)")
        }
        guard header.stateRoot == stateRoot else {
            throw AuditFinding(.historyProof, height: height, "the history is proven under a state root that is not block \(height)'s")
        }
        let claimed = HistoryHead(count: count, head: head)
        let value: [UInt8]? = count == 0 ? nil : Canonical.encode(claimed)
        guard proof.verify(root: stateRoot, key: StateKey.historyHead(patient), value: value) else {
            throw AuditFinding(.historyProof, height: height, "the proof of the history head (\(count) entries) does not verify under block \(height)'s state root")
        }
        var rebuilt = HistoryHead.empty
        for entry in entries { rebuilt = rebuilt.appending(entry) }
        guard rebuilt == claimed else {
            throw AuditFinding(.incompleteHistory, height: height,
                               "the \(entries.count) entries served do not rebuild the proven head of \(count) entries")
        }
        let byID = Dictionary(patientTransactions.filter { $0.height <= height }.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var verified: [LocatedTransaction] = []
        for entry in entries {
            guard let located = byID[entry] else {
                throw AuditFinding(.incompleteHistory, height: height, "history entry \(entry.hex.prefix(16))… is not an accepted transaction touching the patient in the verified chain")
            }
            verified.append(located)
        }
        let listed = Set(entries)
        if let missing = byID.values.sorted(by: { ($0.height, $0.index) < ($1.height, $1.index) }).first(where: { !listed.contains($0.id) }) {
            throw AuditFinding(.incompleteHistory, height: missing.height, "transaction \(missing.id.hex.prefix(16))… touches the patient but is not in the history")
        }
        return verified
    }

    /// Verifies an access record: its Merkle path leads to the root that the record's node anchored, in a verified
    /// block, for the batch `first ..< first + count`. Returns the anchoring transaction, or nil when no verified
    /// anchor covers the batch yet (the record is then unanchored, not false).
    public func verifyAccess(_ record: AccessRecord, batchFirst first: UInt64, batchCount count: UInt64, batchRoot root: Hash32,
                             proof: MerkleProof) throws(AuditFinding) -> LocatedTransaction? {
        guard record.patient == patient else {
            throw AuditFinding(.accessProof, "access record \(record.sequence) is about another patient")
        }
        // Subtractions only: the batch's numbers come from the node and may be anything.
        guard first <= record.sequence, record.sequence - first < count, proof.index == record.sequence - first, proof.count == count,
            proof.verify(leaf: record.leaf, root: root)
        else {
            throw AuditFinding(.accessProof, "access record \(record.sequence)'s path does not lead to its batch root")
        }
        guard let anchor = anchors[AnchorKey(node: record.node, first: first)] else { return nil }
        guard case .auditAnchor(let p) = anchor.transaction.body.payload, p.count == count, p.root == root else {
            throw AuditFinding(.accessProof, height: anchor.height, "access record \(record.sequence)'s batch is not the one its node anchored")
        }
        return anchor
    }
}

extension ValidatorSchedule {
    /// Adds `entry`, replacing any entry at or after its height and keeping the newest `entriesMax`.
    public mutating func schedule(_ entry: Entry) {
        entries.removeAll { $0.effectiveHeight >= entry.effectiveHeight }
        entries.append(entry)
        if entries.count > Self.entriesMax { entries.removeFirst(entries.count - Self.entriesMax) }
    }
}
