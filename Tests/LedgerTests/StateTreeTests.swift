// The authenticated state tree (Docs/state-tree.md).
//
// Covers: after every random batch of inserts, updates and deletes, the root equals a from-scratch reference root
// computed independently here; the same final key set reached in any order or batching leaves the same root AND
// exactly the same stored nodes (no garbage after deletions); inclusion and exclusion proofs verify for present and
// absent keys, and fail when tampered with or checked against another root or value; roots survive LevelDB reopen.
import Encoding
import KeyValue
import Ledger
import Storage
import TestSupport
import Testing
import TwinCrypto

/// An independent reference: the root of the canonical compressed tree over `entries`, built from scratch.
func referenceRoot(_ entries: [[UInt8]: [UInt8]]) -> Hash32 {
    let leaves = entries.map { (Hashing.sha3($0.key).bytes, Hashing.sha3($0.value).bytes) }
        .sorted { $0.0.lexicographicallyPrecedes($1.0) }
    func bit(_ bytes: [UInt8], _ i: Int) -> Bool { (bytes[i / 8] >> (7 - UInt8(i % 8))) & 1 == 1 }
    func subtree(_ items: ArraySlice<([UInt8], [UInt8])>, _ depth: Int) -> [UInt8] {
        if items.isEmpty { return [UInt8](repeating: 0, count: 32) }
        if items.count == 1, let only = items.first { return Hashing.sha3([0] + only.0 + only.1).bytes }
        let split = items.firstIndex { bit($0.0, depth) } ?? items.endIndex
        return Hashing.sha3([1] + subtree(items[..<split], depth + 1) + subtree(items[split...], depth + 1)).bytes
    }
    return Hash32(bytes: subtree(leaves[...], 0)) ?? .zero
}

/// Applies changes and commits the node writes; returns the new root.
@discardableResult
func apply(_ store: any KeyValueStore, _ changes: [StateTree.Change]) throws -> Hash32 {
    let (root, batch) = try StateTree.update(store, changes)
    try store.write(batch, sync: false)
    return root
}

func nodes(_ store: any KeyValueStore) throws -> [KeyValueEntry] { try store.scan(prefix: [0xF0]) }

@Suite("State tree")
struct StateTreeTests {
    @Test("empty tree, one entry, and back to empty")
    func small() throws {
        let store = MemoryStore()
        #expect(try StateTree.root(store) == .zero)
        let root = try apply(store, [.init(key: [1], value: [2])])
        #expect(root == referenceRoot([[1]: [2]]))
        #expect(try StateTree.root(store) == root)
        #expect(try apply(store, [.init(key: [1], value: nil)]) == .zero)
        #expect(try nodes(store).isEmpty)
        #expect(try apply(store, [.init(key: [9], value: nil)]) == .zero)
    }

    @Test("random batches match the reference root after every batch")
    func matchesReference() throws {
        let seed = testSeed()
        var rng = SeededRandom(seed: seed)
        let store = MemoryStore()
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
            let root = try apply(store, changes)
            #expect(root == referenceRoot(model), "seed \(seed) batch \(batchIndex)")
        }
        #expect(model.count > 100, "the scenario should hold many keys")
    }

    @Test("any order and batching reaches the same root and exactly the same stored nodes")
    func orderIndependence() throws {
        let seed = testSeed() ^ 0x0DDE
        var rng = SeededRandom(seed: seed)
        var entries: [[UInt8]: [UInt8]] = [:]
        for i in 0..<400 { entries[Array("k\(i)".utf8)] = rng.bytes(4) }
        let all = entries.map { StateTree.Change(key: $0.key, value: $0.value) }

        let oneBatch = MemoryStore()
        try apply(oneBatch, all)

        // Insert in a shuffled order in small batches, with extra keys inserted and deleted again along the way.
        let incremental = MemoryStore()
        var shuffled = all.shuffled(using: &rng)
        var extras: [[UInt8]] = []
        while !shuffled.isEmpty {
            let take = min(shuffled.count, Int.random(in: 1...25, using: &rng))
            var batch = Array(shuffled.prefix(take))
            shuffled.removeFirst(take)
            let extra = Array("extra\(extras.count)".utf8)
            extras.append(extra)
            batch.append(.init(key: extra, value: [7]))
            try apply(incremental, batch)
            if Bool.random(using: &rng), let victim = extras.randomElement(using: &rng) {
                try apply(incremental, [.init(key: victim, value: nil)])
            }
        }
        try apply(incremental, extras.map { .init(key: $0, value: nil) })

        #expect(try StateTree.root(incremental) == (try StateTree.root(oneBatch)), "seed \(seed)")
        #expect(try StateTree.root(oneBatch) == referenceRoot(entries))
        #expect(try nodes(incremental) == (try nodes(oneBatch)), "seed \(seed): stored nodes differ (garbage?)")
        // Deleting everything leaves no node behind.
        try apply(incremental, all.map { .init(key: $0.key, value: nil) })
        #expect(try nodes(incremental).isEmpty)
    }

    @Test("inclusion and exclusion proofs verify; tampered or misapplied proofs fail")
    func proofs() throws {
        let seed = testSeed() ^ 0x9F00F
        var rng = SeededRandom(seed: seed)
        let store = MemoryStore()
        var entries: [[UInt8]: [UInt8]] = [:]
        for i in 0..<300 { entries[Array("grant/\(i)".utf8)] = rng.bytes(Int.random(in: 1...20, using: &rng)) }
        let root = try apply(store, entries.map { .init(key: $0.key, value: $0.value) })
        var exclusionByLeaf = 0
        for (key, value) in entries.prefix(60) {
            let proof = try StateTree.proof(store, key: key)
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
            var shortened = proof
            if !shortened.siblings.isEmpty {
                shortened.siblings.removeLast()
                #expect(!shortened.verify(root: root, key: key, value: value))
            }
        }
        for i in 0..<200 {
            let absent = Array("absent/\(i)".utf8)
            let proof = try StateTree.proof(store, key: absent)
            #expect(proof.verify(root: root, key: absent, value: nil), "seed \(seed): exclusion \(i)")
            #expect(!proof.verify(root: root, key: absent, value: [1]))
            if case .leaf = proof.terminal { exclusionByLeaf += 1 }
            // An exclusion proof for an absent key cannot be reused to deny a present one.
            if let (present, _) = entries.first {
                #expect(!proof.verify(root: root, key: present, value: nil))
            }
        }
        #expect(exclusionByLeaf > 0, "both kinds of exclusion proof should occur")
        // Depth stays logarithmic: 300 hashed keys need about log2(300) ~ 8 levels, rarely more than twice that.
        let depths = try entries.keys.map { try StateTree.proof(store, key: $0).siblings.count }
        #expect(depths.max() ?? 0 <= 24)
    }

    @Test("the root is recomputed identically after reopening LevelDB")
    func reopen() throws {
        let dir = try makeTemporaryDirectory("tree")
        defer { removeTemporaryDirectory(dir) }
        var entries: [[UInt8]: [UInt8]] = [:]
        for i in 0..<2_000 { entries[Array("participant/\(i)".utf8)] = Array("v\(i)".utf8) }
        var store = try LevelDBStore(path: dir + "/db")
        let root = try apply(store, entries.map { .init(key: $0.key, value: $0.value) })
        store.close()
        store = try LevelDBStore(path: dir + "/db")
        defer { store.close() }
        #expect(try StateTree.root(store) == root)
        #expect(root == referenceRoot(entries))
        let key = Array("participant/1234".utf8)
        #expect(try StateTree.proof(store, key: key).verify(root: root, key: key, value: Array("v1234".utf8)))
    }
}
