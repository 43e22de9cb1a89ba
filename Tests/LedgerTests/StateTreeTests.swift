// The authenticated state tree (Docs/state-tree.md).
//
// Covers: after every random batch of inserts, updates and deletes, the root equals a from-scratch reference root
// computed independently here; the same final key set reached in any order or batching leaves the same root as a
// tree rebuilt from the stored state; updating leaves the previous tree intact; inclusion and exclusion proofs verify
// for present and absent keys, and fail when tampered with or checked against another root or value; the tree
// rebuilt from LevelDB after reopening has the same root; roots and proofs match vectors from an independent Python
// implementation (Tests/Vectors/gen_state_tree_vectors.py).
import Encoding
import Foundation
import KeyValue
import Ledger
import Storage
import TestSupport
import Testing
import TwinCrypto

/// An independent reference: the root of the canonical compressed 4-ary tree over `entries`, built from scratch with
/// plain byte arrays (Docs/state-tree.md).
func referenceRoot(_ entries: [[UInt8]: [UInt8]]) -> Hash32 {
    let leaves = entries.map { (Hashing.sha3($0.key).bytes, Hashing.sha3($0.value).bytes) }
    func digit(_ bytes: [UInt8], _ i: Int) -> Int { Int(bytes[i / 4] >> (6 - 2 * UInt8(i % 4))) & 3 }
    func subtree(_ items: [([UInt8], [UInt8])], _ depth: Int) -> [UInt8] {
        if items.isEmpty { return [UInt8](repeating: 0, count: 32) }
        if items.count == 1, let only = items.first { return Hashing.sha3([0] + only.0 + only.1).bytes }
        // Two or more entries make a branch, even when they all share this digit (a branch with one child).
        let children = (0..<4).map { d in subtree(items.filter { digit($0.0, depth) == d }, depth + 1) }
        return Hashing.sha3([1] + children.flatMap { $0 }).bytes
    }
    return Hash32(bytes: subtree(leaves, 0)) ?? .zero
}

/// State entries in a store and the tree over them, changed together as the chain changes them.
final class TreeState {
    let store: any KeyValueStore
    var tree = StateTree.empty

    init(_ store: any KeyValueStore = MemoryStore()) { self.store = store }

    /// Writes `changes` to the store and applies them to the tree; returns the new root.
    @discardableResult
    func apply(_ changes: [StateTree.Change]) throws -> Hash32 {
        var batch = WriteBatch()
        for change in changes {
            if let value = change.value { batch.put(change.key, value) } else { batch.delete(change.key) }
        }
        try store.write(batch, sync: false)
        tree = try tree.updating(changes)
        return tree.root
    }
}

@Suite("State tree")
struct StateTreeTests {
    @Test("empty tree, one entry, and back to empty")
    func small() throws {
        let state = TreeState()
        #expect(try StateTree.root(state.store) == .zero)
        #expect(state.tree.isEmpty)
        let root = try state.apply([.init(key: [1], value: [2])])
        #expect(root == referenceRoot([[1]: [2]]))
        #expect(try StateTree.root(state.store) == root)
        #expect(try state.apply([.init(key: [1], value: nil)]) == .zero)
        #expect(state.tree.isEmpty)
        #expect(try state.apply([.init(key: [9], value: nil)]) == .zero)
    }

    @Test("random batches match the reference root after every batch")
    func matchesReference() throws {
        let seed = testSeed()
        var rng = SeededRandom(seed: seed)
        let state = TreeState()
        var model: [[UInt8]: [UInt8]] = [:]
        for batchIndex in 0..<120 {
            var changes: [StateTree.Change] = []
            for _ in 0..<Int.random(in: 1...40, using: &rng) {
                let key = [UInt8.random(in: 0...255, using: &rng), UInt8.random(in: 0...3, using: &rng)]
                if Int.random(in: 0..<3, using: &rng) == 0 {
                    changes.append(.init(key: key, value: nil))
                    model[key] = nil
                } else {
                    let value = rng.bytes(Int.random(in: 0...8, using: &rng))
                    changes.append(.init(key: key, value: value))
                    model[key] = value
                }
            }
            let root = try state.apply(changes)
            #expect(root == referenceRoot(model), "seed \(seed) batch \(batchIndex)")
        }
        #expect(model.count > 100, "the scenario should hold many keys")
    }

    @Test("any order and batching reaches the root of the tree rebuilt from the stored state")
    func orderIndependence() throws {
        let seed = testSeed() ^ 0x0DDE
        var rng = SeededRandom(seed: seed)
        var entries: [[UInt8]: [UInt8]] = [:]
        for i in 0..<400 { entries[Array("k\(i)".utf8)] = rng.bytes(4) }
        let all = entries.map { StateTree.Change(key: $0.key, value: $0.value) }

        let oneBatch = TreeState()
        try oneBatch.apply(all)

        // Insert in a shuffled order in small batches, with extra keys inserted and deleted again along the way.
        let incremental = TreeState()
        var shuffled = all.shuffled(using: &rng)
        var extras: [[UInt8]] = []
        while !shuffled.isEmpty {
            let take = min(shuffled.count, Int.random(in: 1...25, using: &rng))
            var batch = Array(shuffled.prefix(take))
            shuffled.removeFirst(take)
            let extra = Array("extra\(extras.count)".utf8)
            extras.append(extra)
            batch.append(.init(key: extra, value: [7]))
            try incremental.apply(batch)
            if Bool.random(using: &rng), let victim = extras.randomElement(using: &rng) {
                try incremental.apply([.init(key: victim, value: nil)])
            }
        }
        try incremental.apply(extras.map { .init(key: $0, value: nil) })

        #expect(incremental.tree.root == oneBatch.tree.root, "seed \(seed)")
        #expect(oneBatch.tree.root == referenceRoot(entries))
        #expect(try StateTree.root(incremental.store) == incremental.tree.root, "seed \(seed): rebuilt tree differs")
        // Deleting everything leaves an empty tree (no branch left behind).
        try incremental.apply(all.map { .init(key: $0.key, value: nil) })
        #expect(incremental.tree.isEmpty)
    }

    @Test("updating returns a new tree and leaves the one it started from intact")
    func persistence() throws {
        let seed = testSeed() ^ 0x5A5A
        var rng = SeededRandom(seed: seed)
        var entries: [[UInt8]: [UInt8]] = [:]
        for i in 0..<500 { entries[Array("g\(i)".utf8)] = rng.bytes(6) }
        let before = try StateTree.empty.updating(entries.map { .init(key: $0.key, value: $0.value) })
        let proofsBefore = try entries.keys.prefix(50).map { try before.proof(for: $0) }
        // An execution that is never committed: overwrite, delete and insert, then throw the result away.
        var changes: [StateTree.Change] = entries.keys.prefix(100).map { .init(key: $0, value: nil) }
        changes += entries.keys.dropFirst(100).prefix(100).map { .init(key: $0, value: [0xEE]) }
        changes += (0..<100).map { .init(key: Array("new\($0)".utf8), value: [1]) }
        let after = try before.updating(changes)
        #expect(after.root != before.root)
        #expect(before.root == referenceRoot(entries), "seed \(seed): the old tree changed under an update")
        for (key, proof) in zip(entries.keys.prefix(50), proofsBefore) {
            #expect(try before.proof(for: key) == proof)
            #expect(proof.verify(root: before.root, key: key, value: entries[key]))
        }
        // Updating with no effective change keeps the very same root.
        #expect(try before.updating([.init(key: Array("absent".utf8), value: nil)]).root == before.root)
    }

    @Test("inclusion and exclusion proofs verify; tampered or misapplied proofs fail")
    func proofs() throws {
        let seed = testSeed() ^ 0x9F00F
        var rng = SeededRandom(seed: seed)
        var entries: [[UInt8]: [UInt8]] = [:]
        for i in 0..<300 { entries[Array("grant/\(i)".utf8)] = rng.bytes(Int.random(in: 1...20, using: &rng)) }
        let tree = try StateTree.empty.updating(entries.map { .init(key: $0.key, value: $0.value) })
        let root = tree.root
        var exclusionByLeaf = 0
        for (key, value) in entries.prefix(60) {
            let proof = try tree.proof(for: key)
            #expect(proof.verify(root: root, key: key, value: value))
            #expect(!proof.verify(root: root, key: key, value: value + [0]))
            #expect(!proof.verify(root: root, key: key, value: nil))
            #expect(!proof.verify(root: Hashing.sha3(root.bytes), key: key, value: value))
            // A canonical round trip of the proof still verifies.
            let decoded = try Canonical.decode(StateTree.Proof.self, from: Canonical.encode(proof))
            #expect(decoded.verify(root: root, key: key, value: value))
            // Every tampered sibling breaks it.
            for index in proof.siblings.indices {
                var tampered = proof
                tampered.siblings[index] = Hashing.sha3(tampered.siblings[index].bytes)
                #expect(!tampered.verify(root: root, key: key, value: value))
            }
            // A proof missing its last level, or part of one, fails; a partial level does not even decode.
            var shortened = proof
            if !shortened.siblings.isEmpty {
                shortened.siblings.removeLast(3)
                #expect(!shortened.verify(root: root, key: key, value: value))
                var partial = proof
                partial.siblings.removeLast()
                #expect(!partial.verify(root: root, key: key, value: value))
                #expect(throws: CanonicalDecodingError.self) {
                    try Canonical.decode(StateTree.Proof.self, from: Canonical.encode(partial))
                }
            }
        }
        for i in 0..<200 {
            let absent = Array("absent/\(i)".utf8)
            let proof = try tree.proof(for: absent)
            #expect(proof.verify(root: root, key: absent, value: nil), "seed \(seed): exclusion \(i)")
            #expect(!proof.verify(root: root, key: absent, value: [1]))
            if case .leaf = proof.terminal { exclusionByLeaf += 1 }
            // An exclusion proof for an absent key cannot be reused to deny a present one.
            if let (present, _) = entries.first {
                #expect(!proof.verify(root: root, key: present, value: nil))
            }
        }
        #expect(exclusionByLeaf > 0, "both kinds of exclusion proof should occur")
        // Depth stays logarithmic: 300 hashed keys need about log4(300) ~ 4 levels, rarely more than twice that.
        let depths = try entries.keys.map { try tree.proof(for: $0).levels }
        #expect(depths.max() ?? 0 <= 10)
        #expect(try entries.keys.allSatisfy { try tree.proof(for: $0).siblings.count % 3 == 0 })
    }

    @Test("the tree rebuilt from LevelDB after reopening has the same root and proofs")
    func reopen() throws {
        let dir = try makeTemporaryDirectory("tree")
        defer { removeTemporaryDirectory(dir) }
        var entries: [[UInt8]: [UInt8]] = [:]
        for i in 0..<2_000 { entries[Array("participant/\(i)".utf8)] = Array("v\(i)".utf8) }
        var store = try LevelDBStore(path: dir + "/db")
        let root = try TreeState(store).apply(entries.map { .init(key: $0.key, value: $0.value) })
        // Keys outside the authenticated range (local indexes, chain records) are not in the tree.
        try store.put([StateKey.patientGrantPrefix, 1, 2], [3])
        try store.put([0x80], [1])
        store.close()
        store = try LevelDBStore(path: dir + "/db")
        defer { store.close() }
        let rebuilt = try StateTree.load(store)
        #expect(rebuilt.root == root)
        #expect(root == referenceRoot(entries))
        let key = Array("participant/1234".utf8)
        #expect(try rebuilt.proof(for: key).verify(root: root, key: key, value: Array("v1234".utf8)))
    }

    struct VectorCase: Decodable {
        struct Entry: Decodable { let key: String, value: String }
        struct ProofVector: Decodable {
            let key: String
            let value: String?
            let siblings: [String]
            let terminal: String
            let leaf_key_hash: String?
            let leaf_value_hash: String?
        }
        let name: String
        let entries: [Entry]
        let root: String
        let proofs: [ProofVector]
    }

    @Test("roots and proofs match the vectors of an independent implementation")
    func independentVectors() throws {
        struct File: Decodable { let cases: [VectorCase] }
        let file = try JSONDecoder().decode(File.self, from: Data(try loadVector("state-tree-vectors.json").utf8))
        #expect(file.cases.count == 5)
        var rng = SeededRandom(seed: testSeed() ^ 0x7EC7)
        for vector in file.cases {
            // Insert in a shuffled order, in two batches, to show the root does not depend on either.
            let changes = try vector.entries.map { StateTree.Change(key: try hex($0.key), value: try hex($0.value)) }
                .shuffled(using: &rng)
            let half = changes.count / 2
            let tree = try StateTree.empty.updating(Array(changes[..<half])).updating(Array(changes[half...]))
            #expect(tree.root.hex == vector.root, "\(vector.name)")
            for expected in vector.proofs {
                let key = try hex(expected.key)
                let proof = try tree.proof(for: key)
                #expect(proof.siblings.map(\.hex) == expected.siblings, "\(vector.name)")
                switch proof.terminal {
                case .empty: #expect(expected.terminal == "empty", "\(vector.name)")
                case .leaf(let leafKey, let leafValue):
                    #expect(expected.terminal == "leaf", "\(vector.name)")
                    #expect(leafKey.hex == expected.leaf_key_hash && leafValue.hex == expected.leaf_value_hash)
                }
                #expect(proof.verify(root: tree.root, key: key, value: try expected.value.map(hex)), "\(vector.name)")
            }
        }
    }
}
