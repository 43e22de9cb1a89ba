import Consensus
import Encoding

/// A block as consensus decides on it: the value of the Tendermint instance, whose id is the header hash (computed
/// once, since consensus asks for it often).
public struct LedgerBlock: ConsensusValue, CanonicalCodable, CustomStringConvertible {
    public let block: Block
    public let id: Hash32

    public init(_ block: Block) {
        self.block = block
        id = block.header.hash
    }

    public func encode(to writer: inout CanonicalWriter) { writer.write(block) }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) { self.init(try reader.read()) }

    public static func == (a: LedgerBlock, b: LedgerBlock) -> Bool { a.id == b.id }
    public func hash(into hasher: inout Hasher) { hasher.combine(id) }

    public var description: String { "block h\(block.header.height) \(id.hex.prefix(8))" }
}

extension LedgerBlock {
    /// Whether the block carries the commit certificate of the chain's head: none on top of genesis; otherwise one
    /// for the head's height and block that `verify` accepts (a quorum of that height's validators).
    public func carriesCertificate(of head: Chain.ChainHead, verify: (CommitCertificate) -> Bool) -> Bool {
        guard head.height > 0 else { return block.lastCommit == nil }
        guard let bytes = block.lastCommit, let certificate = try? Canonical.decode(CommitCertificate.self, from: bytes),
            certificate.height == head.height, certificate.block == head.blockHash
        else { return false }
        return verify(certificate)
    }
}
