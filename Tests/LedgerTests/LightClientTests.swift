// The auditor's light client (Docs/audit.md) on a chain built block by block with real commit certificates.
//
// Covers: it follows a validator change as the ledger does. After `validators.update` at height H, blocks up to
// H + 1 need the old set's quorum and blocks from H + 2 the new set's. A certificate signed by the set not in force
// is refused, as is one short of a quorum. Then the history:
// - the proven head verifies;
// - a listing without an entry, or with an old head, is caught;
// - a head proven at an unverified height is refused.
// Then the accesses: a record verifies under the root its node anchored; another batch's root, another patient's
// record and a wrong path are refused. A block whose link, transactions or outcomes were altered is refused, and the
// client takes nothing of it.
import Consensus
import Encoding
import KeyValue
import Ledger
import TestSupport
import Testing
import TwinCrypto

/// The code of the finding `body` throws, or nil.
func findingCode(_ body: () throws -> Void) -> AuditFinding.Code? {
    do { try body(); return nil } catch let f as AuditFinding { return f.code } catch { return nil }
}

@Suite("Light client")
struct LightClientTests {
    let chainID = "twinledger-test"

    /// A chain of real blocks with certificates signed by whichever validator set is in force.
    final class Builder {
        let chainID: String
        let chain: Chain
        let organization: SecretKey
        var signers: [SecretKey]
        var nonces: [Hash32: UInt64] = [:]
        var blocks: [(Block, [TransactionOutcome], [UInt8])] = []
        var lastCertificate: [UInt8]?
        var time: UInt64 = 1_800_000_000_000

        init(chainID: String, genesis: LedgerGenesis, organization: SecretKey, validators: [SecretKey]) throws {
            self.chainID = chainID
            chain = try Chain(store: MemoryStore(), genesis: genesis)
            self.organization = organization
            signers = validators
        }

        func tx(_ key: SecretKey, _ payload: Payload) throws -> VerifiedTransaction {
            let id = key.publicKey.keyID
            let nonce = (nonces[id] ?? 0) + 1
            nonces[id] = nonce
            let body = TransactionBody(chainID: chainID, signer: key.publicKey, nonce: nonce, payload: payload)
            return try VerifiedTransaction(try SignedTransaction(signing: body, with: key), chainID: chainID)
        }

        func certificate(_ block: Block, by keys: [SecretKey]) throws -> [UInt8] {
            let votes = try keys.map { key in
                try SignedVote(signing: Vote(chainID: chainID, height: block.header.height, round: 0, type: .precommit,
                                             block: block.header.hash, validator: key.publicKey.keyID), with: key)
            }
            return Canonical.encode(CommitCertificate(chainID: chainID, height: block.header.height, round: 0, block: block.header.hash, precommits: votes))
        }

        @discardableResult
        func block(_ transactions: [VerifiedTransaction]) throws -> Block {
            time += 1_000
            let (block, execution) = try chain.propose(transactions, timeMillis: time, proposer: organization.publicKey, lastCommit: lastCertificate)
            let certificate = try certificate(block, by: signers)
            try chain.commit(block, execution, certificate: certificate)
            blocks.append((block, execution.results.map(TransactionOutcome.init), certificate))
            lastCertificate = certificate
            return block
        }
    }

    @Test("follows a validator change at H+2, verifies the history both ways and access records under their anchors")
    func walk() throws {
        let organization = try SecretKey()
        let validators = try (0..<4).map { _ in try SecretKey() }
        let genesis = LedgerGenesis(chainID: chainID, organizations: [Organization(name: "HOSP_A", key: organization.publicKey)],
                                    validators: validators.map { ValidatorChange(key: $0.publicKey, power: 1) })
        let b = try Builder(chainID: chainID, genesis: genesis, organization: organization, validators: validators)
        let patient = try SecretKey(), doctor = try SecretKey(), newcomer = try SecretKey()
        let pid = patientID(for: patient.publicKey)
        try b.block([try b.tx(organization, .enroll(Enroll(key: patient.publicKey, role: .patient, organization: "HOSP_A"))),
                     try b.tx(organization, .enroll(Enroll(key: doctor.publicKey, role: .practitioner, organization: "HOSP_A")))])
        let grant = try b.tx(patient, .consentGrant(ConsentGrant(
            patient: pid, grantee: .participant(doctor.publicKey.keyID), actions: .read, scope: Scope(categories: ["neuro"]),
            purpose: .treatment, validFrom: 1_800_000_000, validUntil: nil)))
        try b.block([grant])
        // Height 3: the fourth validator leaves, a newcomer joins; in force from height 5.
        let changes = [ValidatorChange(key: validators[3].publicKey, power: 0), ValidatorChange(key: newcomer.publicKey, power: 1)]
        let message = ValidatorsUpdate.approvalBytes(chainID: chainID, basis: 0, changes: changes)
        let approvals = try validators.map { ValidatorApproval(validator: $0.publicKey.keyID, signature: try $0.sign(message)) }
            .sorted { $0.validator < $1.validator }
        try b.block([try b.tx(organization, .validatorsUpdate(ValidatorsUpdate(basis: 0, changes: changes, approvals: approvals)))])
        #expect(b.blocks[2].1[0].accepted)
        try b.block([])  // height 4: still the old set
        b.signers = Array(validators.prefix(3)) + [newcomer]
        let revoke = try b.tx(patient, .consentRevoke(ConsentRevoke(grant: grant.id)))
        try b.block([revoke])  // height 5: the new set
        // An anchor of one access record by the organization's node key.
        let record = AccessRecord(sequence: 0, timeMillis: b.time, node: organization.publicKey.keyID, requester: doctor.publicKey.keyID,
                                  patient: pid, shadow: Hashing.sha3([1]), blob: Hashing.sha3([2]), grant: grant.id, purpose: .treatment)
        let other = AccessRecord(sequence: 1, timeMillis: b.time, node: organization.publicKey.keyID, requester: doctor.publicKey.keyID,
                                 patient: Hashing.sha3([9]), shadow: Hashing.sha3([3]), blob: Hashing.sha3([4]), grant: nil, purpose: .treatment)
        let root = MerkleTree.root([record.leaf, other.leaf])
        try b.block([try b.tx(organization, .auditAnchor(AuditAnchor(root: root, firstSequence: 0, count: 2)))])

        var light = try LightClient(genesis: genesis, patient: pid)
        for (block, outcomes, certificate) in b.blocks { try light.append(block, outcomes: outcomes, certificate: certificate) }
        #expect(light.height == 6)
        #expect(light.schedule.entries.map(\.effectiveHeight) == [1, 5] && light.schedule.entries.last?.version == 1)
        #expect(light.patientTransactions.map(\.transaction.body.payload.kind) == ["enroll", "consent.grant", "consent.revoke"])

        // Certificates of the wrong set, or short of a quorum.
        func refused(_ height: Int, by keys: [SecretKey], _ code: AuditFinding.Code) throws {
            var client = try LightClient(genesis: genesis, patient: pid)
            for (block, outcomes, certificate) in b.blocks.prefix(height - 1) { try client.append(block, outcomes: outcomes, certificate: certificate) }
            let (block, outcomes, _) = b.blocks[height - 1]
            let wrong = try b.certificate(block, by: keys)
            #expect(findingCode { try client.append(block, outcomes: outcomes, certificate: wrong) } == code, "block \(height)")
            #expect(client.height == UInt64(height - 1), "a refused block is not taken")
        }
        try refused(4, by: Array(validators.prefix(3)) + [newcomer], .badCertificate)  // the newcomer is not in force yet
        try refused(5, by: validators, .badCertificate)  // the leaver is no longer in force
        try refused(5, by: [validators[0], newcomer], .badCertificate)  // 2 of 4 is no quorum

        // Altered blocks: a broken link, a transaction left out, an outcome changed.
        var client = try LightClient(genesis: genesis, patient: pid)
        try client.append(b.blocks[0].0, outcomes: b.blocks[0].1, certificate: b.blocks[0].2)
        var (block, outcomes, certificate) = b.blocks[1]
        var unlinked = b.blocks[2].0
        unlinked.header.height = 2
        #expect(findingCode { try client.append(unlinked, outcomes: b.blocks[2].1, certificate: b.blocks[2].2) } == .brokenLink)
        var dropped = block
        dropped.transactions = []
        #expect(findingCode { try client.append(dropped, outcomes: [], certificate: certificate) } == .tamperedTransactions)
        outcomes[0] = TransactionOutcome(transaction: outcomes[0].transaction, code: "unauthorized")
        #expect(findingCode { try client.append(block, outcomes: outcomes, certificate: certificate) } == .tamperedOutcomes)
        #expect(findingCode { try client.append(block, outcomes: b.blocks[1].1, certificate: nil) } == .missingCertificate)
        #expect(client.height == 1, "nothing of the altered blocks was taken")
        try client.append(block, outcomes: b.blocks[1].1, certificate: certificate)
        #expect(client.height == 2, "the block as committed is taken")

        // The history, proven under the tip's state root.
        let key = StateKey.historyHead(pid)
        let (value, proof, stateRoot) = try b.chain.stateValue(key)
        let head = try Canonical.decode(HistoryHead.self, from: try #require(value))
        let entries = light.patientTransactions.map(\.id)
        let verified = try light.verifyHistory(count: head.count, head: head.head, entries: entries, height: 6, stateRoot: stateRoot, proof: proof)
        #expect(verified.map(\.id) == entries && head.count == 3)
        // The revocation hidden from the list, with the true head: the entries do not rebuild it.
        #expect(findingCode { _ = try light.verifyHistory(count: head.count, head: head.head, entries: Array(entries.prefix(2)), height: 6, stateRoot: stateRoot, proof: proof) } == .incompleteHistory)
        // The revocation hidden with the older head: its proof fails under the tip's root.
        var older = HistoryHead.empty
        for id in entries.prefix(2) { older = older.appending(id) }
        #expect(findingCode { _ = try light.verifyHistory(count: 2, head: older.head, entries: Array(entries.prefix(2)), height: 6, stateRoot: stateRoot, proof: proof) } == .historyProof)
        #expect(findingCode { _ = try light.verifyHistory(count: head.count, head: head.head, entries: entries, height: 7, stateRoot: stateRoot, proof: proof) } == .historyProof)
        #expect(findingCode { _ = try light.verifyHistory(count: head.count, head: head.head, entries: entries, height: 5, stateRoot: stateRoot, proof: proof) } == .historyProof)

        // Accesses under the anchor.
        let path = MerkleProof(index: 0, count: 2, path: [MerkleTree.leafHash(other.leaf)])
        let anchor = try light.verifyAccess(record, batchFirst: 0, batchCount: 2, batchRoot: root, proof: path)
        #expect(anchor?.height == 6)
        let later = AccessRecord(sequence: 2, timeMillis: b.time, node: organization.publicKey.keyID, requester: doctor.publicKey.keyID,
                                 patient: pid, shadow: Hashing.sha3([1]), blob: Hashing.sha3([2]), grant: nil, purpose: .patientRequest)
        #expect(try light.verifyAccess(later, batchFirst: 2, batchCount: 1, batchRoot: MerkleTree.root([later.leaf]),
                                       proof: MerkleProof(index: 0, count: 1, path: [])) == nil, "no anchor for that batch yet")
        #expect(findingCode { _ = try light.verifyAccess(record, batchFirst: 0, batchCount: 2, batchRoot: Hashing.sha3([7]), proof: path) } == .accessProof)
        #expect(findingCode { _ = try light.verifyAccess(other, batchFirst: 0, batchCount: 2, batchRoot: root, proof: path) } == .accessProof)
        // A batch whose numbers overflow (a lying node's) is refused, not a trap.
        #expect(findingCode { _ = try light.verifyAccess(later, batchFirst: 1, batchCount: .max, batchRoot: root,
                                                         proof: MerkleProof(index: 1, count: .max, path: [])) } == .accessProof)
        let wrongPath = MerkleProof(index: 0, count: 2, path: [Hashing.sha3([5])])
        #expect(findingCode { _ = try light.verifyAccess(record, batchFirst: 0, batchCount: 2, batchRoot: root, proof: wrongPath) } == .accessProof)
    }
}
