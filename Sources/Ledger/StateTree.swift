import Encoding
import KeyValue
import TwinCrypto

/// The authenticated state: a compressed binary sparse Merkle tree over SHA3-256 (Docs/state-tree.md).
///
/// Each authenticated state entry is a leaf at the path given by the bits of `SHA3-256(state key)`, most significant
/// bit first. A subtree that holds exactly one leaf is represented by that leaf; two or more leaves make an internal
/// node; no leaf makes an empty subtree, whose hash is 32 zero bytes. The tree's shape therefore depends only on the
/// set of keys, never on the order of updates, and its depth is about log2(n) for n hashed keys.
///
///     leaf hash     = SHA3-256(0x00 || key hash || SHA3-256(value))
///     internal hash = SHA3-256(0x01 || left hash || right hash)
///
/// The tree is an index of the authenticated state, derived from it: it lives in memory, is rebuilt from the stored
/// state when a node starts (`load`), and is never written to disk, so it cannot disagree with the state it
/// authenticates. It is a persistent (immutable) structure: `updating` shares every untouched subtree with the tree
/// it starts from and rehashes only the paths that changed, and the tree before a block stays valid until the
/// block commits, so an execution that is not committed costs nothing to drop.
public struct StateTree: Sendable {
    /// A node. Leaves and branches are separate classes so a branch stays small. A node does not hold its own hash:
    /// its parent does (a branch keeps both children's hashes), so rehashing a path reads only the nodes on the
    /// path, never their siblings, and the tree's root hash is kept next to its top node.
    enum Node: Sendable {
        case leaf(Leaf)
        case branch(Branch)

        var isLeaf: Bool { if case .leaf = self { true } else { false } }
    }

    final class Leaf: Sendable {
        let key: Hash32
        let value: Hash32

        init(key: Hash32, value: Hash32) {
            self.key = key
            self.value = value
        }
    }

    final class Branch: Sendable {
        let left: Node?
        let right: Node?
        let leftHash: Hash32
        let rightHash: Hash32

        init(_ left: Subtree, _ right: Subtree) {
            self.left = left.node
            self.right = right.node
            leftHash = left.hash
            rightHash = right.hash
        }
    }

    /// A node with its hash (nil and zero for an empty subtree).
    struct Subtree: Sendable {
        var node: Node?
        var hash: Hash32

        static let empty = Subtree(node: nil, hash: .zero)

        static func leaf(_ leaf: Leaf) -> Subtree {
            Subtree(node: .leaf(leaf), hash: StateTree.leafHash(key: leaf.key, value: leaf.value))
        }
    }

    let top: Subtree

    /// The tree with no entries; its root is zero.
    public static let empty = StateTree(top: .empty)

    init(top: Subtree) { self.top = top }

    /// The root hash (zero for an empty tree).
    public var root: Hash32 { top.hash }

    /// True if the tree holds no entry.
    public var isEmpty: Bool { top.node == nil }

    public static func leafHash(key: Hash32, value: Hash32) -> Hash32 { nodeHash(0, key, value) }

    public static func internalHash(_ left: Hash32, _ right: Hash32) -> Hash32 { nodeHash(1, left, right) }

    /// SHA3-256(tag || a || b), hashed from one 65-byte buffer on the stack.
    static func nodeHash(_ tag: UInt8, _ a: Hash32, _ b: Hash32) -> Hash32 {
        withUnsafeTemporaryAllocation(byteCount: 65, alignment: 8) { packed in
            packed[0] = tag
            a.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: packed[1..<33]).copyMemory(from: $0) }
            b.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: packed[33..<65]).copyMemory(from: $0) }
            return Hashing.sha3(UnsafeRawBufferPointer(packed))
        }
    }

    /// One change to an authenticated entry: the new value, or nil to remove the entry.
    public struct Change: Sendable {
        public var key: [UInt8]
        public var value: [UInt8]?
        public init(key: [UInt8], value: [UInt8]?) {
            self.key = key
            self.value = value
        }
    }

    struct Update {
        let key: Hash32
        let value: Hash32?
    }

    /// This tree with `changes` applied (later changes to the same key win). Only the changed paths are rehashed;
    /// everything else is shared with `self`, which is left as it was.
    public func updating(_ changes: [Change]) throws(LedgerError) -> StateTree {
        var latest: [Hash32: Hash32?] = [:]
        latest.reserveCapacity(changes.count)
        for change in changes {
            // updateValue, not a subscript: assigning nil through a subscript would drop the deletion.
            latest.updateValue(change.value.map { Hashing.sha3($0) }, forKey: Hashing.sha3(change.key))
        }
        let updates = latest.map { Update(key: $0.key, value: $0.value) }.sorted { $0.key < $1.key }
        return StateTree(top: try Self.update(top, depth: 0, updates[...]))
    }

    /// The tree holding exactly the authenticated entries of `reader` (every key `StateKey.isAuthenticated` accepts),
    /// as a node builds it when it starts.
    public static func load(_ reader: any KeyValueReader) throws(LedgerError) -> StateTree {
        var entries: [(Hash32, Hash32)] = []
        do {
            for prefix in UInt8(0)..<0x80 where StateKey.isAuthenticated([prefix]) {
                try reader.forEach(prefix: [prefix], start: nil) { entry in
                    entries.append((Hashing.sha3(entry.key), Hashing.sha3(entry.value)))
                    return true
                }
            }
        } catch {
            throw LedgerError(.storage, "reading the state to build the state tree: \(error)")
        }
        entries.sort { $0.0 < $1.0 }
        return StateTree(top: try build(depth: 0, entries[...]))
    }

    /// The root of the authenticated entries in `reader`, computed from scratch.
    public static func root(_ reader: any KeyValueReader) throws(LedgerError) -> Hash32 { try load(reader).root }

    /// The subtree at `depth` that was `subtree`, with `updates` (sorted by key, all on this subtree's path) applied.
    static func update(_ subtree: Subtree, depth: Int, _ updates: ArraySlice<Update>) throws(LedgerError) -> Subtree {
        guard !updates.isEmpty else { return subtree }
        switch subtree.node {
        case nil:
            return try build(depth: depth, updates.compactMap { u in u.value.map { (u.key, $0) } }[...])
        case .leaf(let leaf)?:
            // A leaf stands for a subtree with one entry: rebuild that subtree with the updates merged in. The leaf
            // is kept (with its hash) when it survives unchanged: a leaf's hash does not depend on where it sits.
            var entries = updates.compactMap { u in u.value.map { (u.key, $0) } }
            if !updates.contains(where: { $0.key == leaf.key }) {
                let index = entries.firstIndex { $0.0 > leaf.key } ?? entries.endIndex
                entries.insert((leaf.key, leaf.value), at: index)
            }
            return try build(depth: depth, entries[...], reusing: subtree)
        case .branch(let branch)?:
            guard depth < 256 else { throw LedgerError(.storage, "state tree branch below depth 256") }
            let split = firstRight(updates, depth: depth) { $0.key }
            let left = try update(Subtree(node: branch.left, hash: branch.leftHash), depth: depth + 1, updates[..<split])
            let right = try update(
                Subtree(node: branch.right, hash: branch.rightHash), depth: depth + 1, updates[split...]
            )
            if left.hash == branch.leftHash && right.hash == branch.rightHash { return subtree }
            return join(left, right)
        }
    }

    /// The subtree at `depth` holding exactly `entries` (sorted by key, all sharing the path's first `depth` bits).
    /// `existing`, a leaf subtree, is reused for its entry if that entry is unchanged.
    static func build(
        depth: Int, _ entries: ArraySlice<(Hash32, Hash32)>, reusing existing: Subtree? = nil
    ) throws(LedgerError) -> Subtree {
        if entries.isEmpty { return .empty }
        if entries.count == 1, let only = entries.first {
            if let existing, case .leaf(let leaf)? = existing.node, leaf.key == only.0, leaf.value == only.1 {
                return existing
            }
            return .leaf(Leaf(key: only.0, value: only.1))
        }
        guard depth < 256 else { throw LedgerError(.storage, "two equal key hashes in the state tree") }
        let split = firstRight(entries, depth: depth) { $0.0 }
        let left = try build(depth: depth + 1, entries[..<split], reusing: existing)
        let right = try build(depth: depth + 1, entries[split...], reusing: existing)
        return join(left, right)
    }

    /// The parent of two subtrees: empty if both are, a lone leaf moved up, or a branch. A lone branch stays where it
    /// is (its subtree holds two or more leaves, so it cannot move up).
    static func join(_ left: Subtree, _ right: Subtree) -> Subtree {
        switch (left.node, right.node) {
        case (nil, nil): return .empty
        case (let only?, nil) where only.isLeaf: return left
        case (nil, let only?) where only.isLeaf: return right
        default: return Subtree(node: .branch(Branch(left, right)), hash: internalHash(left.hash, right.hash))
        }
    }

    /// The index of the first element whose key has bit `depth` set; the elements are sorted by key and share their
    /// first `depth` bits, so that bit goes 0…0 1…1 and a binary search finds the boundary.
    static func firstRight<E>(_ elements: ArraySlice<E>, depth: Int, key: (E) -> Hash32) -> Int {
        var low = elements.startIndex
        var high = elements.endIndex
        while low < high {
            let mid = low + (high - low) / 2
            if key(elements[mid]).bit(depth) { high = mid } else { low = mid + 1 }
        }
        return low
    }

    /// A proof that a state key holds a value, or holds none, under a root.
    public struct Proof: Sendable, Hashable, CanonicalCodable {
        /// What the path from the root ends at.
        public enum Terminal: Sendable, Hashable {
            case empty
            case leaf(key: Hash32, value: Hash32)
        }

        /// Sibling hashes from the root downward: `siblings[i]` is the sibling at depth i + 1.
        public var siblings: [Hash32]
        public var terminal: Terminal

        /// True if this proves that `key` holds `value` (or, with nil, holds nothing) under `root`.
        public func verify(root: Hash32, key: [UInt8], value: [UInt8]?) -> Bool {
            guard siblings.count <= 256 else { return false }
            let keyHash = Hashing.sha3(key)
            var hash: Hash32
            switch (terminal, value) {
            case (.empty, nil):
                hash = .zero
            case (.empty, _?):
                return false
            case (.leaf(let leafKey, let leafValue), let value?):
                guard leafKey == keyHash, leafValue == Hashing.sha3(value) else { return false }
                hash = StateTree.leafHash(key: leafKey, value: leafValue)
            case (.leaf(let leafKey, let leafValue), nil):
                // Exclusion by another leaf alone in the subtree our key's path leads to.
                guard leafKey != keyHash else { return false }
                for i in 0..<siblings.count where leafKey.bit(i) != keyHash.bit(i) { return false }
                hash = StateTree.leafHash(key: leafKey, value: leafValue)
            }
            for depth in stride(from: siblings.count - 1, through: 0, by: -1) {
                hash = keyHash.bit(depth)
                    ? StateTree.internalHash(siblings[depth], hash) : StateTree.internalHash(hash, siblings[depth])
            }
            return hash == root
        }

        public func encode(to writer: inout CanonicalWriter) {
            writer.write(list: siblings)
            switch terminal {
            case .empty: writer.write(tag: 0)
            case .leaf(let key, let value):
                writer.write(tag: 1)
                writer.write(key)
                writer.write(value)
            }
        }

        public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
            siblings = try reader.readList(of: Hash32.self, limit: 256)
            let tag = try reader.readTag()
            switch tag {
            case 0: terminal = .empty
            case 1: terminal = .leaf(key: try reader.read(), value: try reader.read())
            default: throw reader.unknownTag(tag, in: "Proof.Terminal")
            }
        }

        public init(siblings: [Hash32], terminal: Terminal) {
            self.siblings = siblings
            self.terminal = terminal
        }
    }

    /// The proof for `key` against this tree's root.
    public func proof(for key: [UInt8]) -> Proof {
        let keyHash = Hashing.sha3(key)
        var siblings: [Hash32] = []
        var node = top.node
        var depth = 0
        while case .branch(let branch)? = node {
            let goRight = keyHash.bit(depth)
            siblings.append(goRight ? branch.leftHash : branch.rightHash)
            node = goRight ? branch.right : branch.left
            depth += 1
        }
        if case .leaf(let leaf)? = node { return Proof(siblings: siblings, terminal: .leaf(key: leaf.key, value: leaf.value)) }
        return Proof(siblings: siblings, terminal: .empty)
    }
}
