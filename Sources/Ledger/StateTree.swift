import Encoding
import KeyValue
import TwinCrypto

/// The authenticated state: a compressed 4-ary sparse Merkle tree over SHA3-256 (Docs/state-tree.md).
///
/// Each authenticated state entry is a leaf at the path given by `SHA3-256(state key)`, read as 128 base-4 digits
/// (two bits each, most significant first). A subtree that holds exactly one leaf is represented by that leaf; two or
/// more leaves make an internal node with four children, one per next digit; no leaf makes an empty subtree, whose
/// hash is 32 zero bytes. The tree's shape therefore depends only on the set of keys, never on the order of updates,
/// and its depth is about log4(n) for n hashed keys.
///
///     leaf hash     = SHA3-256(0x00 || key hash || SHA3-256(value))                  65 bytes: one permutation
///     internal hash = SHA3-256(0x01 || child 0 || child 1 || child 2 || child 3)     129 bytes: one permutation
///
/// Four children is the widest node whose hash input still fits in one Keccak-f[1600] block (136 bytes), so a path
/// costs half the permutations of a binary tree for the same keys.
///
/// The tree is an index of the authenticated state, derived from it: it lives in memory, is rebuilt from the stored
/// state when a node starts (`load`), and is never written to disk, so it cannot disagree with the state it
/// authenticates. It is a persistent (immutable) structure: `updating` shares every untouched subtree with the tree
/// it starts from and rehashes only the paths that changed, and the tree before a block stays valid until the
/// block commits, so an execution that is not committed costs nothing to drop.
public struct StateTree: Sendable {
    /// Digits in a path: 256 bits, two per digit.
    static let pathDigits = 128

    /// A node. Leaves and branches are separate classes so a branch stays small. A node does not hold its own hash:
    /// its parent does (a branch keeps its children's hashes), so rehashing a path reads only the nodes on the path,
    /// never their siblings, and the tree's root hash is kept next to its top node.
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

    /// Four children with their hashes, as separate stored properties so that reading one child retains only that
    /// child (a tuple property would be copied whole, touching all four).
    ///
    /// The hashes of children created by the same update are filled in at the end of that update, when all the new
    /// nodes are hashed together (`PendingHashes`); a branch is never changed after the tree holding it is returned,
    /// which is what makes sharing it between threads safe.
    final class Branch: @unchecked Sendable {
        let node0: Node?, node1: Node?, node2: Node?, node3: Node?
        private(set) var hash0: Hash32, hash1: Hash32, hash2: Hash32, hash3: Hash32

        init(_ c0: Subtree, _ c1: Subtree, _ c2: Subtree, _ c3: Subtree) {
            (node0, node1, node2, node3) = (c0.node, c1.node, c2.node, c3.node)
            (hash0, hash1, hash2, hash3) = (c0.hash, c1.hash, c2.hash, c3.hash)
        }

        /// Child `digit` (0...3) with its hash.
        @inline(__always)
        subscript(digit: Int) -> Subtree {
            switch digit {
            case 0: Subtree(node: node0, hash: hash0)
            case 1: Subtree(node: node1, hash: hash1)
            case 2: Subtree(node: node2, hash: hash2)
            default: Subtree(node: node3, hash: hash3)
            }
        }

        /// The hash of child `digit` (0...3).
        @inline(__always)
        func hash(_ digit: Int) -> Hash32 {
            switch digit {
            case 0: hash0
            case 1: hash1
            case 2: hash2
            default: hash3
            }
        }

        /// Fills in the hash of child `digit`; only while the update creating this branch is finishing.
        func setHash(_ digit: Int, _ hash: Hash32) {
            switch digit {
            case 0: hash0 = hash
            case 1: hash1 = hash
            case 2: hash2 = hash
            default: hash3 = hash
            }
        }
    }

    /// A node with its hash (nil and zero for an empty subtree). During an update a new node's hash is not known
    /// yet: `pending` then names its record in `PendingHashes`, and `hash` is a placeholder.
    struct Subtree: Sendable {
        var node: Node?
        var hash: Hash32
        var pending: Pending = .none

        enum Pending: Sendable {
            case none
            case leaf(Int)
            case branch(Int)
        }

        static let empty = Subtree(node: nil, hash: .zero)

        init(node: Node?, hash: Hash32, pending: Pending = .none) {
            self.node = node
            self.hash = hash
            self.pending = pending
        }
    }

    /// The nodes an update creates, with where each one's hash goes (a child slot of its parent, or the root). They
    /// are hashed together at the end: all new leaves, then the new branches level by level from the deepest, each
    /// batch eight hashes to a permutation (`SHA3Batch`).
    struct PendingHashes {
        struct Slot {
            var parent: Branch?
            var digit = 0
        }

        var leaves: [(leaf: Leaf, slot: Slot)] = []
        var branches: [(branch: Branch, depth: Int, slot: Slot)] = []

        mutating func newLeaf(_ leaf: Leaf) -> Subtree {
            leaves.append((leaf, Slot()))
            return Subtree(node: .leaf(leaf), hash: .zero, pending: .leaf(leaves.count - 1))
        }

        mutating func newBranch(_ c0: Subtree, _ c1: Subtree, _ c2: Subtree, _ c3: Subtree, depth: Int) -> Subtree {
            let branch = Branch(c0, c1, c2, c3)
            place(c0, in: branch, 0)
            place(c1, in: branch, 1)
            place(c2, in: branch, 2)
            place(c3, in: branch, 3)
            branches.append((branch, depth, Slot()))
            return Subtree(node: .branch(branch), hash: .zero, pending: .branch(branches.count - 1))
        }

        mutating func place(_ child: Subtree, in parent: Branch?, _ digit: Int) {
            switch child.pending {
            case .none: break
            case .leaf(let i): leaves[i].slot = Slot(parent: parent, digit: digit)
            case .branch(let i): branches[i].slot = Slot(parent: parent, digit: digit)
            }
        }

        /// Hashes every pending node into its slot and returns `top` with its hash.
        mutating func resolve(_ top: Subtree) -> Subtree {
            var top = top
            place(top, in: nil, 0)
            func deliver(_ hash: Hash32, to slot: Slot) {
                if let parent = slot.parent { parent.setHash(slot.digit, hash) } else { top.hash = hash }
            }
            if !leaves.isEmpty {
                var batch = SHA3Batch()
                batch.reserveCapacity(leaves.count, bytesEach: 65)
                for (leaf, _) in leaves { batch.append(tag: 0, leaf.key, leaf.value) }
                for (hash, record) in zip(batch.digests(), leaves) { deliver(hash, to: record.slot) }
            }
            guard !branches.isEmpty else {
                top.pending = .none
                return top
            }
            // Deepest first: a branch's children are final before it is hashed.
            var byDepth = [[Int]](repeating: [], count: StateTree.pathDigits + 1)
            for (index, record) in branches.enumerated() { byDepth[record.depth].append(index) }
            for depth in stride(from: StateTree.pathDigits, through: 0, by: -1) where !byDepth[depth].isEmpty {
                var batch = SHA3Batch()
                batch.reserveCapacity(byDepth[depth].count, bytesEach: 129)
                for index in byDepth[depth] {
                    let b = branches[index].branch
                    batch.append(tag: 1, b.hash0, b.hash1, b.hash2, b.hash3)
                }
                for (hash, index) in zip(batch.digests(), byDepth[depth]) { deliver(hash, to: branches[index].slot) }
            }
            top.pending = .none
            return top
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

    /// SHA3-256(0x00 || key || value). Updates hash their new leaves in batches (`PendingHashes`); this one is for
    /// proofs.
    public static func leafHash(key: Hash32, value: Hash32) -> Hash32 {
        Hashing.sha3(parts: [[0], key.bytes, value.bytes])
    }

    /// SHA3-256(0x01 || children's hashes in digit order), for proofs as `leafHash` is.
    public static func internalHash(_ c0: Hash32, _ c1: Hash32, _ c2: Hash32, _ c3: Hash32) -> Hash32 {
        Hashing.sha3(parts: [[1], c0.bytes, c1.bytes, c2.bytes, c3.bytes])
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
        // Keys and values are hashed in two batches.
        var keys = SHA3Batch()
        var values = SHA3Batch()
        keys.reserveCapacity(changes.count, bytesEach: 40)
        values.reserveCapacity(changes.count, bytesEach: 100)
        for change in changes {
            keys.append(change.key)
            if let value = change.value { values.append(value) }
        }
        let keyHashes = keys.digests()
        let valueHashes = values.digests()
        var latest: [Hash32: Hash32?] = [:]
        latest.reserveCapacity(changes.count)
        var nextValue = 0
        for (change, keyHash) in zip(changes, keyHashes) {
            var valueHash: Hash32?
            if change.value != nil {
                valueHash = valueHashes[nextValue]
                nextValue += 1
            }
            // updateValue, not a subscript: assigning nil through a subscript would drop the deletion.
            latest.updateValue(valueHash, forKey: keyHash)
        }
        let updates = latest.map { Update(key: $0.key, value: $0.value) }.sorted { $0.key < $1.key }
        var pending = PendingHashes()
        let top = try Self.update(top, depth: 0, updates[...], &pending)
        return StateTree(top: pending.resolve(top))
    }

    /// The tree holding exactly the authenticated entries of `reader` (every key `StateKey.isAuthenticated` accepts),
    /// as a node builds it when it starts.
    public static func load(_ reader: any KeyValueReader) throws(LedgerError) -> StateTree {
        var entries: [(Hash32, Hash32)] = []
        var keys = SHA3Batch()
        var values = SHA3Batch()
        func flush() {
            entries.append(contentsOf: zip(keys.digests(), values.digests()))
            keys = SHA3Batch()
            values = SHA3Batch()
        }
        do {
            for prefix in UInt8(0)..<0x80 where StateKey.isAuthenticated([prefix]) {
                try reader.forEach(prefix: [prefix], start: nil) { entry in
                    keys.append(entry.key)
                    values.append(entry.value)
                    if keys.count == 4_096 { flush() }
                    return true
                }
            }
        } catch {
            throw LedgerError(.storage, "reading the state to build the state tree: \(error)")
        }
        flush()
        entries.sort { $0.0 < $1.0 }
        var pending = PendingHashes()
        let top = try build(depth: 0, entries[...], &pending)
        return StateTree(top: pending.resolve(top))
    }

    /// The root of the authenticated entries in `reader`, computed from scratch.
    public static func root(_ reader: any KeyValueReader) throws(LedgerError) -> Hash32 { try load(reader).root }

    /// The subtree at `depth` that was `subtree`, with `updates` (sorted by key, all on this subtree's path) applied.
    /// New nodes are recorded in `pending`, to be hashed when the whole update is done.
    static func update(
        _ subtree: Subtree, depth: Int, _ updates: ArraySlice<Update>, _ pending: inout PendingHashes
    ) throws(LedgerError) -> Subtree {
        guard !updates.isEmpty else { return subtree }
        switch subtree.node {
        case nil:
            return try build(depth: depth, updates.compactMap { u in u.value.map { (u.key, $0) } }[...], &pending)
        case .leaf(let leaf)?:
            // A leaf stands for a subtree with one entry: rebuild that subtree with the updates merged in. The leaf
            // is kept (with its hash) when it survives unchanged: a leaf's hash does not depend on where it sits.
            var entries = updates.compactMap { u in u.value.map { (u.key, $0) } }
            if !updates.contains(where: { $0.key == leaf.key }) {
                let index = entries.firstIndex { $0.0 > leaf.key } ?? entries.endIndex
                entries.insert((leaf.key, leaf.value), at: index)
            }
            return try build(depth: depth, entries[...], &pending, reusing: subtree)
        case .branch(let branch)?:
            guard depth < pathDigits else { throw LedgerError(.storage, "state tree branch below the last digit") }
            let (b1, b2, b3) = boundaries(updates, depth: depth) { $0.key }
            let s = updates.startIndex, e = updates.endIndex
            let c0 = try update(branch[0], depth: depth + 1, updates[s..<b1], &pending)
            let c1 = try update(branch[1], depth: depth + 1, updates[b1..<b2], &pending)
            let c2 = try update(branch[2], depth: depth + 1, updates[b2..<b3], &pending)
            let c3 = try update(branch[3], depth: depth + 1, updates[b3..<e], &pending)
            if same(c0, branch.node0) && same(c1, branch.node1) && same(c2, branch.node2) && same(c3, branch.node3) {
                return subtree
            }
            return join(c0, c1, c2, c3, depth: depth, &pending)
        }
    }

    /// True if `child` is exactly `node` (the same object, or both empty): that child did not change.
    static func same(_ child: Subtree, _ node: Node?) -> Bool {
        switch (child.node, node) {
        case (nil, nil): true
        case (.leaf(let a)?, .leaf(let b)?): a === b
        case (.branch(let a)?, .branch(let b)?): a === b
        default: false
        }
    }

    /// The subtree at `depth` holding exactly `entries` (sorted by key, all sharing the path's first `depth` digits).
    /// `existing`, a leaf subtree, is reused for its entry if that entry is unchanged.
    static func build(
        depth: Int, _ entries: ArraySlice<(Hash32, Hash32)>, _ pending: inout PendingHashes,
        reusing existing: Subtree? = nil
    ) throws(LedgerError) -> Subtree {
        if entries.isEmpty { return .empty }
        if entries.count == 1, let only = entries.first {
            if let existing, case .leaf(let leaf)? = existing.node, leaf.key == only.0, leaf.value == only.1 {
                return existing
            }
            return pending.newLeaf(Leaf(key: only.0, value: only.1))
        }
        guard depth < pathDigits else { throw LedgerError(.storage, "two equal key hashes in the state tree") }
        let (b1, b2, b3) = boundaries(entries, depth: depth) { $0.0 }
        let s = entries.startIndex, e = entries.endIndex
        return join(
            try build(depth: depth + 1, entries[s..<b1], &pending, reusing: existing),
            try build(depth: depth + 1, entries[b1..<b2], &pending, reusing: existing),
            try build(depth: depth + 1, entries[b2..<b3], &pending, reusing: existing),
            try build(depth: depth + 1, entries[b3..<e], &pending, reusing: existing),
            depth: depth, &pending
        )
    }

    /// The parent, at `depth`, of four subtrees: empty if all are, a lone leaf moved up, or a new branch. A lone
    /// branch stays where it is (its subtree holds two or more leaves, so it cannot move up).
    static func join(
        _ c0: Subtree, _ c1: Subtree, _ c2: Subtree, _ c3: Subtree, depth: Int, _ pending: inout PendingHashes
    ) -> Subtree {
        let present = (c0.node != nil ? 1 : 0) + (c1.node != nil ? 1 : 0) + (c2.node != nil ? 1 : 0)
            + (c3.node != nil ? 1 : 0)
        if present == 0 { return .empty }
        if present == 1 {
            if c0.node?.isLeaf == true { return c0 }
            if c1.node?.isLeaf == true { return c1 }
            if c2.node?.isLeaf == true { return c2 }
            if c3.node?.isLeaf == true { return c3 }
        }
        return pending.newBranch(c0, c1, c2, c3, depth: depth)
    }

    /// Where digits 1, 2 and 3 start among `elements`, which are sorted by key and share their first `depth` digits,
    /// so that digit runs 0…0 1…1 2…2 3…3 and binary searches find the boundaries.
    static func boundaries<E>(
        _ elements: ArraySlice<E>, depth: Int, key: (E) -> Hash32
    ) -> (Int, Int, Int) {
        func first(atLeast digit: Int, from start: Int) -> Int {
            var low = start
            var high = elements.endIndex
            while low < high {
                let mid = low + (high - low) / 2
                if key(elements[mid]).digit(depth) >= digit { high = mid } else { low = mid + 1 }
            }
            return low
        }
        let b1 = first(atLeast: 1, from: elements.startIndex)
        let b2 = first(atLeast: 2, from: b1)
        return (b1, b2, first(atLeast: 3, from: b2))
    }

    /// A proof that a state key holds a value, or holds none, under a root.
    public struct Proof: Sendable, Hashable, CanonicalCodable {
        /// What the path from the root ends at.
        public enum Terminal: Sendable, Hashable {
            case empty
            case leaf(key: Hash32, value: Hash32)
        }

        /// Sibling hashes from the root downward, three per level: at level i, `siblings[3i ..< 3i+3]` are the
        /// hashes of the other three children of the node at depth i, in digit order, the path's own child left out.
        public var siblings: [Hash32]
        public var terminal: Terminal

        /// Levels in the proof (`siblings.count / 3`).
        public var levels: Int { siblings.count / 3 }

        /// True if this proves that `key` holds `value` (or, with nil, holds nothing) under `root`.
        public func verify(root: Hash32, key: [UInt8], value: [UInt8]?) -> Bool {
            guard siblings.count % 3 == 0, levels <= StateTree.pathDigits else { return false }
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
                for i in 0..<levels where leafKey.digit(i) != keyHash.digit(i) { return false }
                hash = StateTree.leafHash(key: leafKey, value: leafValue)
            }
            for level in stride(from: levels - 1, through: 0, by: -1) {
                let (a, b, c) = (siblings[3 * level], siblings[3 * level + 1], siblings[3 * level + 2])
                switch keyHash.digit(level) {
                case 0: hash = StateTree.internalHash(hash, a, b, c)
                case 1: hash = StateTree.internalHash(a, hash, b, c)
                case 2: hash = StateTree.internalHash(a, b, hash, c)
                default: hash = StateTree.internalHash(a, b, c, hash)
                }
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
            siblings = try reader.readList(of: Hash32.self, limit: 3 * StateTree.pathDigits)
            guard siblings.count % 3 == 0 else {
                throw reader.invalidValue("a state proof has three sibling hashes per level, not \(siblings.count)")
            }
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
            let digit = keyHash.digit(depth)
            for other in 0..<4 where other != digit { siblings.append(branch.hash(other)) }
            node = branch[digit].node
            depth += 1
        }
        if case .leaf(let leaf)? = node { return Proof(siblings: siblings, terminal: .leaf(key: leaf.key, value: leaf.value)) }
        return Proof(siblings: siblings, terminal: .empty)
    }
}
