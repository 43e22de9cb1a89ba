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
/// Nodes are stored in the same key-value store under `0xF0 | depth (2 bytes) | path bits`, and an update
/// touches O(log n) nodes per changed key (fewer, as paths share their upper nodes within one batch).
public enum StateTree {
    static let nodePrefix: UInt8 = 0xF0

    /// A stored node.
    enum Node: Equatable {
        case leaf(key: Hash32, value: Hash32)
        case `internal`(left: Hash32, right: Hash32)

        var hash: Hash32 {
            switch self {
            case .leaf(let key, let value): StateTree.leafHash(key: key, value: value)
            case .internal(let left, let right): StateTree.internalHash(left, right)
            }
        }

        var isLeaf: Bool { if case .leaf = self { true } else { false } }

        func encoded() -> [UInt8] {
            switch self {
            case .leaf(let key, let value): [0] + key.bytes + value.bytes
            case .internal(let left, let right): [1] + left.bytes + right.bytes
            }
        }

        init(decoding bytes: [UInt8]) throws(LedgerError) {
            guard bytes.count == 65 else { throw LedgerError(.storage, "state tree node of \(bytes.count) bytes") }
            let halves = bytes.withUnsafeBytes { raw -> (Hash32, Hash32)? in
                guard let base = raw.baseAddress else { return nil }
                return (Hash32(copying: base + 1), Hash32(copying: base + 33))
            }
            guard let (a, b) = halves else { throw LedgerError(.storage, "empty state tree node") }
            switch bytes[0] {
            case 0: self = .leaf(key: a, value: b)
            case 1: self = .internal(left: a, right: b)
            default: throw LedgerError(.storage, "state tree node with tag \(bytes[0])")
            }
        }
    }

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

    /// Bit `index` (0 = most significant) of a key hash.
    static func bit(_ hash: Hash32, _ index: Int) -> Bool {
        hash.withUnsafeBytes { ($0[index >> 3] >> (7 - UInt8(index & 7))) & 1 == 1 }
    }

    /// The storage key of the node at `depth` on the path of `hash`: the first `depth` bits, the rest zeroed.
    static func position(_ hash: Hash32, depth: Int) -> [UInt8] {
        var out: [UInt8] = [nodePrefix, UInt8(depth >> 8), UInt8(depth & 0xFF)]
        let full = depth >> 3
        hash.withUnsafeBytes { bytes in
            out.append(contentsOf: bytes[0..<full])
            if depth & 7 != 0 { out.append(bytes[full] & (0xFF << (8 - UInt8(depth & 7)))) }
        }
        return out
    }

    static func load(_ reader: any KeyValueReader, _ position: [UInt8]) throws(LedgerError) -> Node? {
        let bytes: [UInt8]?
        do { bytes = try reader.get(position) } catch { throw LedgerError(.storage, "\(error)") }
        guard let bytes else { return nil }
        return try Node(decoding: bytes)
    }

    /// The current root hash (zero for an empty tree).
    public static func root(_ reader: any KeyValueReader) throws(LedgerError) -> Hash32 {
        try load(reader, position(.zero, depth: 0))?.hash ?? .zero
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

    /// Applies `changes` to the tree stored in `reader`; returns the new root and the node writes (to commit in the
    /// same atomic batch as the state they authenticate). Later changes to the same key win.
    public static func update(
        _ reader: any KeyValueReader, _ changes: [Change]
    ) throws(LedgerError) -> (root: Hash32, batch: WriteBatch) {
        var latest: [Hash32: Hash32?] = [:]
        for change in changes {
            // updateValue, not a subscript: assigning nil through a subscript would drop the deletion.
            latest.updateValue(change.value.map { Hashing.sha3($0) }, forKey: Hashing.sha3(change.key))
        }
        let updates = latest.map { Update(key: $0.key, value: $0.value) }.sorted { $0.key < $1.key }
        var updater = Updater(reader: reader)
        let rootPosition = position(.zero, depth: 0)
        let old = try load(reader, rootPosition)
        if old != nil { updater.deletes.insert(rootPosition) }
        let new = try updater.update(depth: 0, path: .zero, existing: old, updates[...])
        if let new { updater.place(new, at: rootPosition) }
        var batch = WriteBatch()
        for key in updater.deletes.sorted(by: { $0.lexicographicallyPrecedes($1) }) { batch.delete(key) }
        for (key, node) in updater.writes.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            batch.put(key, node.encoded())
        }
        return (new?.hash ?? .zero, batch)
    }

    struct Update {
        let key: Hash32
        let value: Hash32?
    }

    /// `path` with bit `depth` set to `right` and every later bit cleared: the path of a child of the node at `depth`.
    static func childPath(_ path: Hash32, depth: Int, right: Bool) -> Hash32 {
        var bytes = path.bytes
        let index = depth >> 3
        let shift = 7 - UInt8(depth & 7)
        bytes[index] = (bytes[index] & ~((1 << (shift + 1)) &- 1)) | (right ? 1 << shift : 0)
        for i in (index + 1)..<32 { bytes[i] = 0 }
        return Hash32(unsafeUninitializedBytes: { $0.copyBytes(from: bytes) })
    }

    /// A child after an update: rebuilt (possibly empty), or untouched and known only by its stored hash.
    enum Child {
        case rebuilt(Node?)
        case untouched(Hash32)
    }

    struct Updater {
        let reader: any KeyValueReader
        var writes: [[UInt8]: Node] = [:]
        var deletes: Set<[UInt8]> = []

        mutating func place(_ node: Node, at position: [UInt8]) {
            deletes.remove(position)
            writes[position] = node
        }

        mutating func remove(at position: [UInt8]) {
            writes[position] = nil
            deletes.insert(position)
        }

        /// The node that now represents the subtree at `depth` along `path` (which shares the subtree's prefix), which
        /// held `existing`. The caller places the result, because a lone leaf moves up to where it is alone.
        mutating func update(
            depth: Int, path: Hash32, existing: Node?, _ updates: ArraySlice<Update>
        ) throws(LedgerError) -> Node? {
            guard !updates.isEmpty else { return existing }
            switch existing {
            case nil:
                return try build(depth: depth, path: path, updates.compactMap { u in u.value.map { (u.key, $0) } }[...])
            case .leaf(let key, let value)?:
                // A leaf stands for a subtree with one entry: rebuild that subtree with the updates merged in.
                var entries = updates.compactMap { u in u.value.map { (u.key, $0) } }
                if !updates.contains(where: { $0.key == key }) {
                    let index = entries.firstIndex { $0.0 > key } ?? entries.endIndex
                    entries.insert((key, value), at: index)
                }
                return try build(depth: depth, path: path, entries[...])
            case .internal(let leftHash, let rightHash)?:
                let split = updates.firstIndex { StateTree.bit($0.key, depth) } ?? updates.endIndex
                let leftPath = StateTree.childPath(path, depth: depth, right: false)
                let rightPath = StateTree.childPath(path, depth: depth, right: true)
                let left = try child(depth + 1, leftPath, leftHash, updates[..<split])
                let right = try child(depth + 1, rightPath, rightHash, updates[split...])
                return try join(depth: depth, path: path, left: left, right: right)
            }
        }

        /// Updates one child if any update goes its way; otherwise leaves it untouched and unread.
        mutating func child(
            _ depth: Int, _ path: Hash32, _ hash: Hash32, _ updates: ArraySlice<Update>
        ) throws(LedgerError) -> Child {
            guard !updates.isEmpty else { return .untouched(hash) }
            let position = StateTree.position(path, depth: depth)
            let old = hash == .zero ? nil : try StateTree.load(reader, position)
            if old != nil { deletes.insert(position) }
            return .rebuilt(try update(depth: depth, path: path, existing: old, updates))
        }

        /// The subtree at `depth` holding exactly `entries` (sorted by key, all sharing the path prefix).
        mutating func build(
            depth: Int, path: Hash32, _ entries: ArraySlice<(Hash32, Hash32)>
        ) throws(LedgerError) -> Node? {
            if entries.isEmpty { return nil }
            if entries.count == 1, let only = entries.first { return .leaf(key: only.0, value: only.1) }
            guard depth < 256 else { throw LedgerError(.storage, "two equal key hashes in one state tree update") }
            let split = entries.firstIndex { StateTree.bit($0.0, depth) } ?? entries.endIndex
            let leftPath = StateTree.childPath(path, depth: depth, right: false)
            let rightPath = StateTree.childPath(path, depth: depth, right: true)
            let left = try build(depth: depth + 1, path: leftPath, entries[..<split])
            let right = try build(depth: depth + 1, path: rightPath, entries[split...])
            return try join(depth: depth, path: path, left: .rebuilt(left), right: .rebuilt(right))
        }

        /// The parent of two children: empty if both are, the lone leaf if only a leaf remains (it moves up), else an
        /// internal node with its rebuilt children placed at their positions.
        mutating func join(depth: Int, path: Hash32, left: Child, right: Child) throws(LedgerError) -> Node? {
            let leftPosition = StateTree.position(StateTree.childPath(path, depth: depth, right: false), depth: depth + 1)
            let rightPosition = StateTree.position(StateTree.childPath(path, depth: depth, right: true), depth: depth + 1)
            let leftHash = try resolve(left)
            let rightHash = try resolve(right)
            if leftHash == .zero && rightHash == .zero { return nil }
            // A lone survivor that is a leaf moves up; a lone internal node stays (its subtree has 2+ leaves).
            if rightHash == .zero, let lone = try lone(left, at: leftPosition) { return lone }
            if leftHash == .zero, let lone = try lone(right, at: rightPosition) { return lone }
            if case .rebuilt(let node?) = left { place(node, at: leftPosition) }
            if case .rebuilt(let node?) = right { place(node, at: rightPosition) }
            return .internal(left: leftHash, right: rightHash)
        }

        func resolve(_ child: Child) throws(LedgerError) -> Hash32 {
            switch child {
            case .rebuilt(let node): node?.hash ?? .zero
            case .untouched(let hash): hash
            }
        }

        /// If `child` is a leaf, removes it from `position` and returns it; else nil.
        mutating func lone(_ child: Child, at position: [UInt8]) throws(LedgerError) -> Node? {
            let node: Node?
            switch child {
            case .rebuilt(let rebuilt): node = rebuilt
            case .untouched: node = try StateTree.load(reader, position)
            }
            guard let node, node.isLeaf else { return nil }
            remove(at: position)
            return node
        }
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
                for i in 0..<siblings.count where StateTree.bit(leafKey, i) != StateTree.bit(keyHash, i) { return false }
                hash = StateTree.leafHash(key: leafKey, value: leafValue)
            }
            for depth in stride(from: siblings.count - 1, through: 0, by: -1) {
                hash = StateTree.bit(keyHash, depth)
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

    /// The proof for `key` against the current root.
    public static func proof(_ reader: any KeyValueReader, key: [UInt8]) throws(LedgerError) -> Proof {
        let keyHash = Hashing.sha3(key)
        var siblings: [Hash32] = []
        var node = try load(reader, position(.zero, depth: 0))
        var depth = 0
        while case .internal(let left, let right)? = node {
            let goRight = bit(keyHash, depth)
            siblings.append(goRight ? left : right)
            depth += 1
            node = (goRight ? right : left) == .zero ? nil : try load(reader, position(keyHash, depth: depth))
        }
        switch node {
        case .leaf(let k, let v)?: return Proof(siblings: siblings, terminal: .leaf(key: k, value: v))
        default: return Proof(siblings: siblings, terminal: .empty)
        }
    }
}
