// The RFC 9162 Merkle tree with SHA3-256: roots equal the recursive definition computed independently here, for
// every size up to 70; every audit path verifies; a wrong index or leaf, or a tampered path, fails. (The tree size
// is committed by the root, not the path: verifiers take it from the block header, which carries it.)
import Encoding
import Ledger
import TestSupport
import Testing
import TwinCrypto

/// RFC 9162's recursive definition, written out directly.
func recursiveRoot(_ leaves: ArraySlice<[UInt8]>) -> Hash32 {
    if leaves.isEmpty { return Hashing.sha3([UInt8]()) }
    if leaves.count == 1, let only = leaves.first { return Hashing.sha3([0] + only) }
    var k = 1
    while k * 2 < leaves.count { k *= 2 }
    let split = leaves.startIndex + k
    return Hashing.sha3([1] + recursiveRoot(leaves[..<split]).bytes + recursiveRoot(leaves[split...]).bytes)
}

@Suite("Merkle tree (RFC 9162 shape, SHA3-256)")
struct MerkleTreeTests {
    @Test("roots match the recursive definition and every audit path verifies, sizes 0 to 70")
    func allSizes() throws {
        for size in 0...70 {
            let leaves = (0..<size).map { Array("tx-\($0)".utf8) }
            let root = MerkleTree.root(leaves)
            #expect(root == recursiveRoot(leaves[...]), "size \(size)")
            let hashes = leaves.map(MerkleTree.leafHash)
            for index in 0..<size {
                let proof = MerkleProof(index: UInt64(index), count: UInt64(size), path: MerkleTree.auditPath(hashes: hashes, index: index))
                #expect(proof.verify(leaf: leaves[index], root: root), "size \(size) index \(index)")
                #expect(!proof.verify(leaf: leaves[index] + [0], root: root))
                if size > 1 {
                    var wrongIndex = proof
                    wrongIndex.index = UInt64((index + 1) % size)
                    #expect(!wrongIndex.verify(leaf: leaves[index], root: root))
                    var tampered = proof
                    tampered.path[0] = Hashing.sha3(tampered.path[0].bytes)
                    #expect(!tampered.verify(leaf: leaves[index], root: root))
                }
            }
        }
    }

    @Test("the RFC's distinct leaf and node prefixes keep a node from posing as a leaf")
    func secondPreimage() {
        let leaves: [[UInt8]] = [[1], [2]]
        let root = MerkleTree.root(leaves)
        // Presenting the concatenated children as a single leaf does not reproduce the root.
        let fake = MerkleTree.leafHash([1]).bytes + MerkleTree.leafHash([2]).bytes
        #expect(MerkleTree.root([fake]) != root)
        #expect(!MerkleProof(index: 0, count: 1, path: []).verify(leaf: fake, root: root))
    }
}
