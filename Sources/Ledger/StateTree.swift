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
/// authenticates. It is a persistent structure: `updating` shares every untouched subtree with the tree it starts
/// from and rehashes only the paths that changed, and the tree before a block stays valid until the block commits,
/// so an execution that is not committed costs nothing to drop. Nodes live in slots of a `Nodes` store shared by a
/// family of versions, without reference counts; `commit` and `discard` tell it which versions are no longer
/// needed, and their nodes are reused (`StateTreeNodes.swift`, Docs/state-tree.md "Versions and memory").
public struct StateTree: Sendable {
    /// Digits in a path: 256 bits, two per digit.
    static let pathDigits = 128

    let nodes: Nodes
    let version: UInt64
    let top: NodeRef
    /// The root hash (zero for an empty tree).
    public let root: Hash32

    init(nodes: Nodes, version: UInt64, top: NodeRef, root: Hash32) {
        self.nodes = nodes
        self.version = version
        self.top = top
        self.root = root
    }

    /// A new tree family holding no entries; its root is zero.
    public static var empty: StateTree { StateTree(nodes: Nodes(), version: 0, top: .empty, root: .zero) }

    /// True if the tree holds no entry.
    public var isEmpty: Bool { top.isEmpty }

    /// SHA3-256(0x00 || key || value). Updates hash their new leaves in batches; this one is for proofs.
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

    /// This tree with `changes` applied (later changes to the same key win), as a new uncommitted version. Only the
    /// changed paths are rehashed; everything else is shared with `self`, which is left as it was. Throws if this
    /// version was retired or dropped.
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
        return try nodes.lock.withLock { _ throws(LedgerError) in
            try checkLive()
            var work = Work(nodes: nodes)
            let newTop: Subtree
            do throws(LedgerError) {
                newTop = work.resolve(try work.update(Subtree(ref: top, hash: root), depth: 0, updates[...]))
            } catch {
                work.abandon()
                throw error
            }
            let version = nodes.nextVersion
            nodes.nextVersion += 1
            nodes.uncommitted[version] = Nodes.Version(
                base: self.version, createdBranches: work.newBranches.map(\.index),
                createdLeaves: work.newLeaves.map(\.index), replacedBranches: work.replacedBranches,
                replacedLeaves: work.replacedLeaves
            )
            return StateTree(nodes: nodes, version: version, top: newTop.ref, root: newTop.hash)
        }
    }

    /// The tree holding exactly the authenticated entries of `reader` (every key `StateKey.isAuthenticated` accepts),
    /// as a node builds it when it starts: a new family, committed.
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
        let nodes = Nodes()
        return try nodes.lock.withLock { _ throws(LedgerError) in
            var work = Work(nodes: nodes)
            var reused = false
            let top = work.resolve(try work.build(depth: 0, entries[...], reusing: nil, &reused))
            return StateTree(nodes: nodes, version: 0, top: top.ref, root: top.hash)
        }
    }

    /// The root of the authenticated entries in `reader`, computed from scratch.
    public static func root(_ reader: any KeyValueReader) throws(LedgerError) -> Hash32 { try load(reader).root }

    /// A node reference with its hash (zero for an empty subtree). During an update a new node's hash is not known
    /// yet: `pending` then indexes its record in `Work.newLeaves` or `Work.newBranches`, and `hash` is zero.
    struct Subtree {
        var ref: NodeRef
        var hash: Hash32
        var pending = -1

        static let empty = Subtree(ref: .empty, hash: .zero)
    }

    /// One update or build, done under the nodes' lock: the nodes it creates and replaces, and the hashing of the new
    /// nodes at the end, all leaves and then the branches level by level from the deepest, eight hashes to a
    /// permutation (`SHA3Batch`).
    struct Work {
        /// Where a new node's hash goes: a child slot of a new branch, or (parent `topSlot`) the tree's root.
        struct Slot {
            var parent = Work.topSlot
            var digit = 0
        }

        static let topSlot = UInt32.max

        let nodes: Nodes
        var newLeaves: [(index: UInt32, slot: Slot)] = []
        var newBranches: [(index: UInt32, depth: Int, slot: Slot)] = []
        var replacedBranches: [UInt32] = []
        var replacedLeaves: [UInt32] = []

        init(nodes: Nodes) { self.nodes = nodes }

        /// Frees what a failed update created.
        func abandon() {
            nodes.branches.release(newBranches.map(\.index))
            nodes.leaves.release(newLeaves.map(\.index))
        }

        mutating func newLeaf(key: Hash32, value: Hash32) throws(LedgerError) -> Subtree {
            let index = try nodes.leaves.allocate()
            let slot = nodes.leaves.slot(index)
            key.withUnsafeBytes { slot.copyMemory(from: $0.baseAddress.unsafelyUnwrapped, byteCount: 32) }
            value.withUnsafeBytes { (slot + 32).copyMemory(from: $0.baseAddress.unsafelyUnwrapped, byteCount: 32) }
            newLeaves.append((index, Slot()))
            return Subtree(ref: .leaf(index), hash: .zero, pending: newLeaves.count - 1)
        }

        mutating func newBranch(_ children: (Subtree, Subtree, Subtree, Subtree), depth: Int) throws(LedgerError) -> Subtree {
            let index = try nodes.branches.allocate()
            let slot = nodes.branches.slot(index)
            place(children.0, in: index, slot, 0)
            place(children.1, in: index, slot, 1)
            place(children.2, in: index, slot, 2)
            place(children.3, in: index, slot, 3)
            newBranches.append((index, depth, Slot()))
            return Subtree(ref: .branch(index), hash: .zero, pending: newBranches.count - 1)
        }

        /// Writes `child` as child `digit` of the new branch `parent` (at `slot`), and records where its hash goes if
        /// it is new too.
        @inline(__always)
        mutating func place(_ child: Subtree, in parent: UInt32, _ slot: UnsafeMutableRawPointer, _ digit: Int) {
            slot.storeBytes(of: child.ref.raw, toByteOffset: digit * 4, as: UInt32.self)
            nodes.setChildHash(parent, digit, child.hash)
            guard child.pending >= 0 else { return }
            if child.ref.isLeaf {
                newLeaves[child.pending].slot = Slot(parent: parent, digit: digit)
            } else {
                newBranches[child.pending].slot = Slot(parent: parent, digit: digit)
            }
        }

        /// Hashes every new node into its slot and returns `top` with its hash.
        mutating func resolve(_ top: Subtree) -> Subtree {
            var top = top
            if top.pending >= 0 {
                if top.ref.isLeaf { newLeaves[top.pending].slot = Slot() } else { newBranches[top.pending].slot = Slot() }
            }
            let nodes = self.nodes
            func deliver(_ hash: Hash32, to slot: Slot) {
                if slot.parent == Work.topSlot { top.hash = hash } else { nodes.setChildHash(slot.parent, slot.digit, hash) }
            }
            if !newLeaves.isEmpty {
                var batch = SHA3Batch()
                batch.reserveCapacity(newLeaves.count, bytesEach: 65)
                for leaf in newLeaves {
                    batch.append(tag: 0, UnsafeRawBufferPointer(start: nodes.leaves.slot(leaf.index), count: 64))
                }
                for (hash, leaf) in zip(batch.digests(), newLeaves) { deliver(hash, to: leaf.slot) }
            }
            if !newBranches.isEmpty {
                // Deepest first: a branch's children are final before it is hashed.
                var byDepth = [[Int]](repeating: [], count: StateTree.pathDigits + 1)
                for (position, branch) in newBranches.enumerated() { byDepth[branch.depth].append(position) }
                for depth in stride(from: StateTree.pathDigits, through: 0, by: -1) where !byDepth[depth].isEmpty {
                    var batch = SHA3Batch()
                    batch.reserveCapacity(byDepth[depth].count, bytesEach: 129)
                    for position in byDepth[depth] {
                        let hashes = nodes.branches.slot(newBranches[position].index) + Nodes.hashesOffset
                        batch.append(tag: 1, UnsafeRawBufferPointer(start: hashes, count: 128))
                    }
                    for (hash, position) in zip(batch.digests(), byDepth[depth]) { deliver(hash, to: newBranches[position].slot) }
                }
            }
            top.pending = -1
            return top
        }

        /// The subtree at `depth` that was `subtree`, with `updates` (sorted by key, all on this subtree's path)
        /// applied. New nodes are recorded to be hashed when the whole update is done; replaced ones to be freed
        /// when the new version commits.
        mutating func update(_ subtree: Subtree, depth: Int, _ updates: ArraySlice<Update>) throws(LedgerError) -> Subtree {
            guard !updates.isEmpty else { return subtree }
            let ref = subtree.ref
            if ref.isEmpty {
                var reused = false
                return try build(depth: depth, updates.compactMap { u in u.value.map { (u.key, $0) } }[...], reusing: nil, &reused)
            }
            if ref.isLeaf {
                // A leaf stands for a subtree with one entry: rebuild that subtree with the updates merged in. The
                // leaf is kept (with its hash) when it survives unchanged: a leaf's hash does not depend on where it
                // sits.
                let leafKey = nodes.leafKey(ref.index)
                var entries = updates.compactMap { u in u.value.map { (u.key, $0) } }
                if !updates.contains(where: { $0.key == leafKey }) {
                    let index = entries.firstIndex { $0.0 > leafKey } ?? entries.endIndex
                    entries.insert((leafKey, nodes.leafValue(ref.index)), at: index)
                }
                var reused = false
                let result = try build(depth: depth, entries[...], reusing: subtree, &reused)
                if !reused { replacedLeaves.append(ref.index) }
                return result
            }
            guard depth < pathDigits else { throw LedgerError(.storage, "state tree branch below the last digit") }
            let branch = ref.index
            let old = (
                Subtree(ref: nodes.child(branch, 0), hash: nodes.childHash(branch, 0)),
                Subtree(ref: nodes.child(branch, 1), hash: nodes.childHash(branch, 1)),
                Subtree(ref: nodes.child(branch, 2), hash: nodes.childHash(branch, 2)),
                Subtree(ref: nodes.child(branch, 3), hash: nodes.childHash(branch, 3))
            )
            let (b1, b2, b3) = boundaries(updates, depth: depth) { $0.key }
            let s = updates.startIndex, e = updates.endIndex
            let c0 = try update(old.0, depth: depth + 1, updates[s..<b1])
            let c1 = try update(old.1, depth: depth + 1, updates[b1..<b2])
            let c2 = try update(old.2, depth: depth + 1, updates[b2..<b3])
            let c3 = try update(old.3, depth: depth + 1, updates[b3..<e])
            // A node is never changed once made, so the same reference means the same subtree.
            if c0.ref == old.0.ref && c1.ref == old.1.ref && c2.ref == old.2.ref && c3.ref == old.3.ref { return subtree }
            replacedBranches.append(branch)
            return try join((c0, c1, c2, c3), depth: depth)
        }

        /// The subtree at `depth` holding exactly `entries` (sorted by key, all sharing the path's first `depth`
        /// digits). `existing`, a leaf subtree, is reused (and `reused` set) if its entry is among them unchanged.
        mutating func build(
            depth: Int, _ entries: ArraySlice<(Hash32, Hash32)>, reusing existing: Subtree?, _ reused: inout Bool
        ) throws(LedgerError) -> Subtree {
            if entries.isEmpty { return .empty }
            if entries.count == 1, let only = entries.first {
                if let existing, existing.ref.isLeaf, nodes.leafKey(existing.ref.index) == only.0,
                    nodes.leafValue(existing.ref.index) == only.1
                {
                    reused = true
                    return existing
                }
                return try newLeaf(key: only.0, value: only.1)
            }
            guard depth < pathDigits else { throw LedgerError(.storage, "two equal key hashes in the state tree") }
            let (b1, b2, b3) = boundaries(entries, depth: depth) { $0.0 }
            let s = entries.startIndex, e = entries.endIndex
            let c0 = try build(depth: depth + 1, entries[s..<b1], reusing: existing, &reused)
            let c1 = try build(depth: depth + 1, entries[b1..<b2], reusing: existing, &reused)
            let c2 = try build(depth: depth + 1, entries[b2..<b3], reusing: existing, &reused)
            let c3 = try build(depth: depth + 1, entries[b3..<e], reusing: existing, &reused)
            return try join((c0, c1, c2, c3), depth: depth)
        }

        /// The parent, at `depth`, of four subtrees: empty if all are, a lone leaf moved up, or a new branch. A lone
        /// branch stays where it is (its subtree holds two or more leaves, so it cannot move up).
        mutating func join(_ c: (Subtree, Subtree, Subtree, Subtree), depth: Int) throws(LedgerError) -> Subtree {
            let present = (c.0.ref.isEmpty ? 0 : 1) + (c.1.ref.isEmpty ? 0 : 1) + (c.2.ref.isEmpty ? 0 : 1)
                + (c.3.ref.isEmpty ? 0 : 1)
            if present == 0 { return .empty }
            if present == 1 {
                for child in [c.0, c.1, c.2, c.3] where child.ref.isLeaf { return child }
            }
            return try newBranch(c, depth: depth)
        }
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

    /// The proof for `key` against this tree's root. Throws if this version was retired or dropped.
    public func proof(for key: [UInt8]) throws(LedgerError) -> Proof {
        let keyHash = Hashing.sha3(key)
        return try nodes.lock.withLock { _ throws(LedgerError) in
            try checkLive()
            var siblings: [Hash32] = []
            var ref = top
            var depth = 0
            while ref.isBranch, depth < StateTree.pathDigits {
                let digit = keyHash.digit(depth)
                for other in 0..<4 where other != digit { siblings.append(nodes.childHash(ref.index, other)) }
                ref = nodes.child(ref.index, digit)
                depth += 1
            }
            guard ref.isLeaf else { return Proof(siblings: siblings, terminal: .empty) }
            return Proof(siblings: siblings, terminal: .leaf(key: nodes.leafKey(ref.index), value: nodes.leafValue(ref.index)))
        }
    }
}
