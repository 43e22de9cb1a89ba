import Encoding
import Synchronization

extension StateTree {
    /// A reference to a node in a tree's `Nodes`: 0 for an empty subtree, otherwise a slot index shifted left by one
    /// with the low bit telling a leaf (1) from a branch (0).
    struct NodeRef: Equatable, Sendable {
        var raw: UInt32

        static let empty = NodeRef(raw: 0)
        static func leaf(_ index: UInt32) -> NodeRef { NodeRef(raw: (index + 1) << 1 | 1) }
        static func branch(_ index: UInt32) -> NodeRef { NodeRef(raw: (index + 1) << 1) }

        var isEmpty: Bool { raw == 0 }
        var isLeaf: Bool { raw & 1 == 1 }
        var isBranch: Bool { raw != 0 && raw & 1 == 0 }
        /// The slot index of a leaf or branch.
        var index: UInt32 { (raw >> 1) &- 1 }
    }

    /// Fixed-size slots in chunks that never move, so a slot's address is stable for as long as the pool lives.
    ///
    /// The chunk table is allocated whole when the pool is made (2^16 entries, 512 KiB), so growing the pool only
    /// writes a new table entry: it never moves memory another thread could be reading.
    struct Pool {
        static let chunkShift = 12
        static let chunkSlots = 1 << chunkShift
        static let maxChunks = 1 << 16
        /// At most 2^28 slots: 38 GB of branches, far above the memory of the machines a node runs on.
        static let maxSlots = maxChunks * chunkSlots

        let slotBytes: Int
        let chunks: UnsafeMutablePointer<UnsafeMutableRawPointer?>
        /// Slots handed out so far (free ones included).
        private(set) var highWater = 0
        /// Slots freed, reused last-freed first.
        private(set) var free: [UInt32] = []

        init(slotBytes: Int) {
            self.slotBytes = slotBytes
            chunks = .allocate(capacity: Self.maxChunks)
            chunks.initialize(repeating: nil, count: Self.maxChunks)
        }

        /// Frees every chunk and the table. The pool must not be used afterwards.
        func deallocate() {
            for chunk in 0..<((highWater + Self.chunkSlots - 1) >> Self.chunkShift) { chunks[chunk]?.deallocate() }
            chunks.deallocate()
        }

        /// The address of slot `index`, which must have been allocated.
        @inline(__always)
        func slot(_ index: UInt32) -> UnsafeMutableRawPointer {
            let i = Int(index)
            // Every allocated slot's chunk exists: `allocate` creates a chunk before handing out its first slot.
            return chunks[i >> Self.chunkShift].unsafelyUnwrapped + (i & (Self.chunkSlots - 1)) * slotBytes
        }

        mutating func allocate() throws(LedgerError) -> UInt32 {
            if let index = free.popLast() { return index }
            guard highWater < Self.maxSlots else {
                throw LedgerError(.storage, "the state tree holds \(Self.maxSlots) nodes of one kind, its limit")
            }
            if highWater & (Self.chunkSlots - 1) == 0 {
                chunks[highWater >> Self.chunkShift] = .allocate(byteCount: Self.chunkSlots * slotBytes, alignment: 16)
            }
            highWater += 1
            return UInt32(highWater - 1)
        }

        mutating func release(_ indices: [UInt32]) { free.append(contentsOf: indices) }

        var liveCount: Int { highWater - free.count }
    }

    /// The nodes of one family of trees: every tree derived by `updating` from one `empty` or `load` shares them.
    ///
    /// A branch is 144 bytes: four child references (`NodeRef`, 4 bytes each) and then the four children's hashes
    /// (32 bytes each, in digit order, so the 128 bytes after the references are exactly a branch's hash input after
    /// its tag). A leaf is 64 bytes: the key hash, then the value hash (the leaf's hash input after its tag). Nodes
    /// hold no reference counts: creating a branch copies its unchanged children's references without touching the
    /// children, and freeing a path touches nothing but the free list.
    ///
    /// Which nodes may be freed is decided per version (Docs/state-tree.md, "Versions and memory"): every tree is a
    /// version. `updating` makes an uncommitted version that records the nodes it created and the nodes of its base
    /// it replaced. `commit` makes a version the committed one: the nodes it replaced are freed, its base is retired,
    /// and every uncommitted version not derived from it is dropped with the nodes it created. `discard` drops an
    /// uncommitted version. A retired or dropped tree refuses to be read or updated. Without commits nothing is
    /// freed, and every version stays readable.
    ///
    /// A lock guards the versions, the free lists and node writes; updates, commits and proofs take it, so they are
    /// safe from any thread (one at a time). Node slots never move, and a node is not changed once its tree is
    /// returned, only freed, which happens under the lock and only for nodes no live version can reach.
    final class Nodes: @unchecked Sendable {
        static let branchBytes = 144
        static let hashesOffset = 16
        static let leafBytes = 64

        struct Version {
            let base: UInt64
            let createdBranches: [UInt32]
            let createdLeaves: [UInt32]
            let replacedBranches: [UInt32]
            let replacedLeaves: [UInt32]
        }

        let lock = Mutex(())
        var branches = Pool(slotBytes: Nodes.branchBytes)
        var leaves = Pool(slotBytes: Nodes.leafBytes)
        /// The committed version; version 0 is the tree the family started from.
        var committed: UInt64 = 0
        var nextVersion: UInt64 = 1
        var uncommitted: [UInt64: Version] = [:]

        deinit {
            branches.deallocate()
            leaves.deallocate()
        }

        func isLive(_ version: UInt64) -> Bool { version == committed || uncommitted[version] != nil }

        /// True if `version` is `ancestor` or was derived from it through uncommitted versions.
        func derives(_ version: UInt64, from ancestor: UInt64) -> Bool {
            var current = version
            while current != ancestor {
                guard let entry = uncommitted[current] else { return false }
                current = entry.base
            }
            return true
        }

        /// Drops uncommitted versions for which `dead` holds, freeing the nodes each created.
        func drop(where dead: (UInt64) -> Bool) {
            for version in uncommitted.keys.filter(dead) {
                if let entry = uncommitted.removeValue(forKey: version) {
                    branches.release(entry.createdBranches)
                    leaves.release(entry.createdLeaves)
                }
            }
        }

        // Node access. Callers hold the lock, or read nodes of a live version that no one else is changing.

        @inline(__always)
        func child(_ branch: UInt32, _ digit: Int) -> NodeRef {
            NodeRef(raw: branches.slot(branch).load(fromByteOffset: digit * 4, as: UInt32.self))
        }

        @inline(__always)
        func childHash(_ branch: UInt32, _ digit: Int) -> Hash32 {
            Hash32(copying: branches.slot(branch) + Self.hashesOffset + digit * 32)
        }

        @inline(__always)
        func setChildHash(_ branch: UInt32, _ digit: Int, _ hash: Hash32) {
            let target = branches.slot(branch) + Self.hashesOffset + digit * 32
            hash.withUnsafeBytes { target.copyMemory(from: $0.baseAddress.unsafelyUnwrapped, byteCount: 32) }
        }

        @inline(__always)
        func leafKey(_ leaf: UInt32) -> Hash32 { Hash32(copying: leaves.slot(leaf)) }

        @inline(__always)
        func leafValue(_ leaf: UInt32) -> Hash32 { Hash32(copying: leaves.slot(leaf) + 32) }
    }

    /// How many nodes are allocated and not free, over all live versions of this tree's family.
    public struct NodeCounts: Sendable, Hashable {
        public var branches: Int
        public var leaves: Int
        /// Bytes of node slots in use (not counting slots on the free lists or the chunk tables).
        public var bytes: Int { branches * Nodes.branchBytes + leaves * Nodes.leafBytes }
    }

    /// The nodes in use by this tree's family: its committed version and any uncommitted ones.
    public var liveNodes: NodeCounts {
        nodes.lock.withLock { _ in NodeCounts(branches: nodes.branches.liveCount, leaves: nodes.leaves.liveCount) }
    }

    /// The nodes reachable from this tree's top (each counted once), for checking that versions free what they
    /// should. Throws if this version was retired or dropped.
    func reachableNodes() throws(LedgerError) -> NodeCounts {
        try nodes.lock.withLock { _ throws(LedgerError) in
            try checkLive()
            var counts = NodeCounts(branches: 0, leaves: 0)
            var stack = [top]
            while let ref = stack.popLast() {
                if ref.isLeaf { counts.leaves += 1 }
                guard ref.isBranch else { continue }
                counts.branches += 1
                for digit in 0..<4 { stack.append(nodes.child(ref.index, digit)) }
            }
            return counts
        }
    }

    /// Throws unless this version is committed or uncommitted-and-live. The caller holds the lock.
    func checkLive() throws(LedgerError) {
        guard nodes.isLive(version) else {
            throw LedgerError(.badSequence, "state tree version \(version) was retired by a later commit or dropped")
        }
    }

    /// Makes this tree its family's committed version (Docs/state-tree.md, "Versions and memory"): frees the nodes of
    /// its base that it replaced, retires the base, and drops every uncommitted version not derived from this one.
    /// This tree must be an uncommitted version built on the committed one; committing it again does nothing.
    public func commit() throws(LedgerError) {
        try nodes.lock.withLock { _ throws(LedgerError) in
            if version == nodes.committed { return }
            try checkLive()
            guard isBuiltOnCommitted else {
                throw LedgerError(.badSequence, "state tree version \(version) is not built on the committed version")
            }
            guard let entry = nodes.uncommitted.removeValue(forKey: version) else { return }
            nodes.branches.release(entry.replacedBranches)
            nodes.leaves.release(entry.replacedLeaves)
            nodes.committed = version
            nodes.drop { !nodes.derives($0, from: version) }
        }
    }

    /// Drops this uncommitted tree and every tree derived from it, freeing the nodes they created. Does nothing to a
    /// committed, retired or already dropped tree.
    public func discard() {
        nodes.lock.withLock { _ in
            guard nodes.uncommitted[version] != nil else { return }
            nodes.drop { nodes.derives($0, from: version) }
        }
    }

    /// True if this tree is an uncommitted version whose base is its family's committed version: what `commit`
    /// requires. The caller holds the lock.
    var isBuiltOnCommitted: Bool { nodes.uncommitted[version]?.base == nodes.committed }

    /// True if `commit` would accept this tree: it is uncommitted, live and built on the committed version of the
    /// family `base` belongs to, and `base` is that committed version.
    public func canCommit(over base: StateTree) -> Bool {
        guard nodes === base.nodes else { return false }
        return nodes.lock.withLock { _ in base.version == nodes.committed && isBuiltOnCommitted }
    }
}
