// State tree versions and node memory (Docs/state-tree.md, "Versions and memory").
//
// Covers: over seeded random rounds of inserts, overwrites and deletes, with competing executions on the same base
// (some extended further, some discarded), committing one version leaves exactly the nodes it reaches in use (none
// leaked, none freed early), its root equals the from-scratch reference and its proofs verify; retired bases and
// dropped versions refuse proofs, updates and commits with `bad_sequence`; a version not built on the committed one
// cannot commit; and the chain drops an execution made on a head that another block replaced.
import Encoding
import KeyValue
@testable import Ledger
import TestSupport
import Testing
import TwinCrypto

@Suite("State tree versions")
struct StateTreeVersionTests {
    func isBadSequence(_ error: any Error) -> Bool { (error as? LedgerError)?.code == .badSequence }

    @Test("committing frees exactly the nodes no live version reaches; retired and dropped versions refuse use")
    func commitFreesReplacedNodes() throws {
        for seed in [testSeed(), testSeed() ^ 0x7E57] {
            var rng = SeededRandom(seed: seed)
            var model: [[UInt8]: [UInt8]] = [:]
            var tree = StateTree.empty
            try tree.commit()  // committing the committed version does nothing
            var highWater: [Int] = []
            for round in 0..<40 {
                func changes(_ count: Int) -> [StateTree.Change] {
                    (0..<count).map { _ in
                        let key = Array("k\(rng.next() % 600)".utf8)
                        return .init(key: key, value: rng.next() % 4 == 0 ? nil : rng.bytes(Int(rng.next() % 8)))
                    }
                }
                let chosen = changes(Int(rng.next() % 120))
                let next = try tree.updating(chosen)
                // Competing executions on the same base, one extended by a further version.
                let rival = try tree.updating(changes(50))
                let rivalChild = try rival.updating(changes(20))
                let discarded = try tree.updating(changes(30))
                discarded.discard()
                #expect(throws: LedgerError.self) { try discarded.proof(for: [1]) }
                #expect(!rivalChild.canCommit(over: tree), "seed \(seed): a version two steps away is committable")
                #expect(throws: LedgerError.self) { try rivalChild.commit() }
                #expect(next.canCommit(over: tree))
                try next.commit()

                for change in chosen { model[change.key] = change.value }
                #expect(next.root == referenceRoot(model), "seed \(seed) round \(round): root differs from reference")
                let live = next.liveNodes
                let reachable = try next.reachableNodes()
                #expect(live == reachable, "seed \(seed) round \(round): \(live) in use, \(reachable) reachable")
                for old in [tree, rival, rivalChild] {
                    #expect(performing: { try old.proof(for: [1]) }, throws: isBadSequence)
                    #expect(performing: { try old.updating([]) }, throws: isBadSequence)
                    #expect(performing: { try old.commit() }, throws: isBadSequence)
                }
                for key in model.keys.prefix(20) {
                    #expect(try next.proof(for: key).verify(root: next.root, key: key, value: model[key]))
                }
                let absent = Array("absent\(round)".utf8)
                #expect(try next.proof(for: absent).verify(root: next.root, key: absent, value: nil))
                tree = next
                highWater.append(tree.nodes.branches.highWater + tree.nodes.leaves.highWater)
            }
            // Freed slots are reused: after the first rounds fill the tree, the slots ever handed out stop growing
            // faster than the tree does (the 600 keys bound it).
            let grownLate = (highWater.last ?? 0) - highWater[20]
            #expect(grownLate < 600, "seed \(seed): \(grownLate) more slots handed out in the last 20 rounds")
        }
    }

    @Test("without commits every version stays readable and nothing is freed")
    func persistentWithoutCommits() throws {
        var trees = [StateTree.empty]
        var models: [[[UInt8]: [UInt8]]] = [[:]]
        for i in 0..<30 {
            let key = Array("key\(i % 7)".utf8)
            let value: [UInt8]? = i % 5 == 4 ? nil : [UInt8(i)]
            trees.append(try trees[trees.count - 1].updating([.init(key: key, value: value)]))
            var model = models[models.count - 1]
            model[key] = value
            models.append(model)
        }
        for (tree, model) in zip(trees, models) {
            #expect(tree.root == referenceRoot(model))
            for i in 0..<7 {
                let key = Array("key\(i)".utf8)
                #expect(try tree.proof(for: key).verify(root: tree.root, key: key, value: model[key]))
            }
        }
    }

    @Test("the chain refuses an execution made on a head another block replaced, and serves proofs after commits")
    func chainDropsStaleExecution() throws {
        let organization = try SecretKey()
        let genesis = LedgerGenesis(
            chainID: "twinledger-test", organizations: [Organization(name: "HOSP_A", key: organization.publicKey)]
        )
        let store = MemoryStore()
        let chain = try Chain(store: store, genesis: genesis)
        func enroll(_ nonce: UInt64) throws -> VerifiedTransaction {
            let body = TransactionBody(
                chainID: "twinledger-test", signer: organization.publicKey, nonce: nonce,
                payload: .enroll(Enroll(key: try SecretKey().publicKey, role: .patient, organization: "HOSP_A"))
            )
            return try VerifiedTransaction(try SignedTransaction(signing: body, with: organization), chainID: "twinledger-test")
        }
        let first = try enroll(1)
        let (blockA, executionA) = try chain.propose([first], timeMillis: 1_800_000_000_000, proposer: organization.publicKey)
        let (blockB, executionB) = try chain.propose([try enroll(1)], timeMillis: 1_800_000_000_000, proposer: organization.publicKey)
        try chain.commit(blockA, executionA)
        #expect(performing: { try chain.commit(blockB, executionB) }, throws: { ($0 as? LedgerError)?.code == .badSequence })
        #expect(performing: { try executionB.tree.proof(for: [1]) }, throws: isBadSequence)
        let (blockC, executionC) = try chain.propose([try enroll(2)], timeMillis: 1_800_000_001_000, proposer: organization.publicKey)
        try chain.commit(blockC, executionC)
        #expect(chain.head.height == 2)
        #expect(try StateTree.root(store) == chain.head.stateRoot)
        let key = StateKey.nonce(organization.publicKey.keyID)
        let (value, proof, root) = try chain.stateValue(key)
        #expect(value != nil && proof.verify(root: root, key: key, value: value))
        #expect(chain.tree.liveNodes == (try chain.tree.reachableNodes()))
    }
}
