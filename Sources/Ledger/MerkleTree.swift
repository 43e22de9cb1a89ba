import Encoding
import TwinCrypto

/// The Merkle tree of RFC 9162 (Certificate Transparency v2, section 2.1) with SHA3-256: the root of a list of
/// byte strings, and audit paths proving that one of them is at a given index.
///
///     MTH({})       = SHA3-256()
///     MTH({d0})     = SHA3-256(0x00 || d0)
///     MTH(D[0..n))  = SHA3-256(0x01 || MTH(D[0..k)) || MTH(D[k..n))),  k the largest power of two below n
///
/// Blocks use it for their transactions (leaves: transaction ids) and results; nodes use it for access-log batches.
public enum MerkleTree {
    public static func leafHash(_ data: [UInt8]) -> Hash32 { Hashing.sha3([0] + data) }

    static func nodeHash(_ left: Hash32, _ right: Hash32) -> Hash32 { Hashing.sha3([1] + left.bytes + right.bytes) }

    public static let emptyRoot = Hashing.sha3([UInt8]())

    /// The root over `leaves` (the leaf data, not yet hashed).
    public static func root(_ leaves: [[UInt8]]) -> Hash32 {
        root(hashes: leaves.map(leafHash))
    }

    /// The root over already-hashed leaves, computed level by level: pairing left to right and carrying a lone last
    /// node up gives exactly the RFC's largest-power-of-two split.
    public static func root(hashes: [Hash32]) -> Hash32 {
        guard !hashes.isEmpty else { return emptyRoot }
        var level = hashes
        while level.count > 1 {
            var next: [Hash32] = []
            next.reserveCapacity((level.count + 1) / 2)
            var index = 0
            while index + 1 < level.count {
                next.append(nodeHash(level[index], level[index + 1]))
                index += 2
            }
            if index < level.count { next.append(level[index]) }
            level = next
        }
        return level[0]
    }

    /// The audit path for leaf `index` of `count` leaves (RFC 9162 section 2.1.3.1), from the leaf upward.
    public static func auditPath(hashes: [Hash32], index: Int) -> [Hash32] {
        guard index >= 0, index < hashes.count, hashes.count > 1 else { return [] }
        let k = largestPowerOfTwo(below: hashes.count)
        if index < k {
            return auditPath(hashes: Array(hashes[..<k]), index: index) + [root(hashes: Array(hashes[k...]))]
        }
        return auditPath(hashes: Array(hashes[k...]), index: index - k) + [root(hashes: Array(hashes[..<k]))]
    }

    /// Verifies that `leafHash` is leaf `index` of a tree of `count` leaves with `root` (RFC 9162 section 2.1.3.2).
    public static func verify(leafHash: Hash32, index: Int, count: Int, path: [Hash32], root: Hash32) -> Bool {
        guard index >= 0, index < count else { return false }
        var fn = index
        var sn = count - 1
        var r = leafHash
        for p in path {
            guard sn != 0 else { return false }
            if fn & 1 == 1 || fn == sn {
                r = nodeHash(p, r)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                r = nodeHash(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && r == root
    }

    static func largestPowerOfTwo(below n: Int) -> Int {
        var k = 1
        while k << 1 < n { k <<= 1 }
        return k
    }
}

/// A proof that a leaf is at an index of a Merkle tree.
public struct MerkleProof: Sendable, Hashable, CanonicalCodable {
    public var index: UInt64
    public var count: UInt64
    public var path: [Hash32]

    public init(index: UInt64, count: UInt64, path: [Hash32]) {
        self.index = index
        self.count = count
        self.path = path
    }

    public func verify(leaf: [UInt8], root: Hash32) -> Bool {
        guard index < count, count <= UInt64(Int.max) else { return false }
        return MerkleTree.verify(
            leafHash: MerkleTree.leafHash(leaf), index: Int(index), count: Int(count), path: path, root: root
        )
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(uint: index)
        writer.write(uint: count)
        writer.write(list: path)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        index = try reader.readUInt()
        count = try reader.readUInt()
        path = try reader.readList(of: Hash32.self, limit: 64)
    }
}
