// A block proposed by one validator, validated and committed by another (Chain.validate): the honest block gives
// both the same head; each tampered variant (state root, results, a dropped or altered transaction, the certificate
// hash, the link, the chain, the time) is refused and leaves the validator's chain and tree as they were.
import Encoding
import KeyValue
@testable import Ledger
import TestSupport
import Testing
import TwinCrypto

@Suite("Chain validation")
struct ChainValidationTests {
    @Test("another validator's block validates and commits to the same head; tampered copies are refused")
    func validateForeignBlock() throws {
        let organization = try SecretKey()
        let genesis = LedgerGenesis(chainID: "twinledger-test", organizations: [Organization(name: "HOSP_A", key: organization.publicKey)])
        let proposer = try Chain(store: MemoryStore(), genesis: genesis)
        let validator = try Chain(store: MemoryStore(), genesis: genesis)
        func enroll(_ nonce: UInt64) throws -> VerifiedTransaction {
            let body = TransactionBody(chainID: "twinledger-test", signer: organization.publicKey, nonce: nonce,
                                       payload: .enroll(Enroll(key: try SecretKey().publicKey, role: .patient, organization: "HOSP_A")))
            return try VerifiedTransaction(try SignedTransaction(signing: body, with: organization), chainID: "twinledger-test")
        }
        let certificate: [UInt8] = [1, 2, 3]
        let (block, execution) = try proposer.propose([try enroll(1), try enroll(2)], timeMillis: 1_800_000_000_000,
                                                      proposer: organization.publicKey, lastCommit: certificate)

        func refused(_ change: (inout Block) -> Void) -> Bool {
            var copy = block
            change(&copy)
            return (try? validator.validate(copy)) == nil
        }
        #expect(refused { $0.header.stateRoot = Hashing.sha3([9]) })
        #expect(refused { $0.header.resultsRoot = Hashing.sha3([9]) })
        #expect(refused { $0.transactions.removeLast() })
        #expect(refused { $0.transactions.removeLast(); $0.header.transactionCount = 1 })
        #expect(refused { $0.transactions[0][$0.transactions[0].count - 1] ^= 1 })
        #expect(refused { $0.lastCommit = [1, 2, 4] })
        #expect(refused { $0.header.previousBlock = Hashing.sha3([1]) })
        #expect(refused { $0.header.height = 2 })
        #expect(refused { $0.header.chainID = "other" })
        #expect(validator.head.height == 0)
        #expect(validator.tree.liveNodes == (try validator.tree.reachableNodes()), "refused executions leave no nodes")

        let validated = try validator.validate(block)
        #expect(validated.stateRoot == execution.stateRoot)
        try validator.commit(block, validated, certificate: certificate)
        try proposer.commit(block, execution, certificate: certificate)
        #expect(validator.head == proposer.head)
        #expect(try validator.certificate(at: 1) == certificate && validator.certificate(at: 2) == nil)
        #expect(try validator.block(at: 1) == block)
    }
}
