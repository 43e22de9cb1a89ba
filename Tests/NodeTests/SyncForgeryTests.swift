// Block sync refuses what a lying peer serves (Docs/protocol.md, "Block sync"; the threat model's "a fake block or
// certificate served to a syncing node"): a certificate signed by strangers, by too few validators, or for another
// block, and a block whose certificate is genuine for it but which does not execute to its header. Each is refused
// before anything commits and counted in /metrics; the genuine block then commits.
import Consensus
import Encoding
import KeyValue
import Ledger
@testable import Node
import P2P
import Storage
import Testing
import TwinCrypto

@Suite("Block sync against a lying peer")
struct SyncForgeryTests {
    @Test("forged, short and misdirected certificates and a block that does not execute are refused; the real block commits")
    func forgeries() async throws {
        let chainID = "twinledger-sync-test"
        let organization = try SecretKey()
        let validators = try (0..<4).map { _ in try SecretKey() }
        let genesis = LedgerGenesis(chainID: chainID, organizations: [Organization(name: "HOSP_A", key: organization.publicKey)],
                                    validators: validators.map { ValidatorChange(key: $0.publicKey, power: 1) })
        let node = try LedgerNode(store: CachedStore(base: MemoryStore(), capacityBytes: 1 << 20), genesis: genesis,
                                  proposer: validators[0].publicKey)
        // The honest chain's block 1, made elsewhere, with one transaction.
        let source = try Chain(store: MemoryStore(), genesis: genesis)
        let enroll = try VerifiedTransaction(try SignedTransaction(signing: TransactionBody(
            chainID: chainID, signer: organization.publicKey, nonce: 1,
            payload: .enroll(Enroll(key: try SecretKey().publicKey, role: .patient, organization: "HOSP_A"))), with: organization), chainID: chainID)
        let (block, _) = try source.propose([enroll], timeMillis: 1_800_000_000_000, proposer: validators[1].publicKey)
        func certificate(_ block: Block, by keys: [SecretKey], for hash: Hash32? = nil) throws -> CommitCertificate {
            let votes = try keys.map { key in
                try SignedVote(signing: Vote(chainID: chainID, height: block.header.height, round: 0, type: .precommit,
                                             block: hash ?? block.header.hash, validator: key.publicKey.keyID), with: key)
            }
            return CommitCertificate(chainID: chainID, height: block.header.height, round: 0, block: hash ?? block.header.hash, precommits: votes)
        }
        let peer = Hashing.sha3([1])
        var tampered = block
        tampered.header.stateRoot = Hashing.sha3([2])
        let lies: [(String, CommittedBlock)] = [
            ("signed by strangers", CommittedBlock(block: block, certificate: try certificate(block, by: try (0..<3).map { _ in try SecretKey() }))),
            ("two of four", CommittedBlock(block: block, certificate: try certificate(block, by: Array(validators.prefix(2))))),
            ("for another block", CommittedBlock(block: block, certificate: try certificate(block, by: Array(validators.prefix(3)), for: Hashing.sha3([3])))),
            ("certified but does not execute", CommittedBlock(block: tampered, certificate: try certificate(tampered, by: Array(validators.prefix(3))))),
        ]
        for (index, (lie, committed)) in lies.enumerated() {
            await node.applySynced([committed], from: peer)
            #expect(await node.head.height == 0, "\(lie) was committed")
            #expect(node.metrics.text().contains("twinledger_sync_refused_total \(index + 1)"), "\(lie) was not counted")
        }
        await node.applySynced([CommittedBlock(block: block, certificate: try certificate(block, by: Array(validators.suffix(3))))], from: peer)
        #expect(await node.head.height == 1)
        #expect(await node.head.blockHash == block.header.hash)
    }
}
