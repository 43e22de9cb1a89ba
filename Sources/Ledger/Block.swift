import Encoding
import TwinCrypto

/// A block header: what validators sign and auditors verify (Docs/blocks.md).
public struct BlockHeader: Sendable, Hashable, CanonicalCodable {
    public var chainID: String
    public var height: UInt64
    /// Unix milliseconds, chosen by the proposer; the state machine sees whole seconds.
    public var timeMillis: UInt64
    /// Hash of the previous header; zero at height 1.
    public var previousBlock: Hash32
    public var transactionCount: UInt64
    /// RFC 9162 Merkle root (SHA3-256) over the transaction ids, in block order.
    public var transactionsRoot: Hash32
    /// RFC 9162 Merkle root over the canonical `TransactionOutcome` of each transaction, in block order.
    public var resultsRoot: Hash32
    /// Root of the authenticated state tree after this block.
    public var stateRoot: Hash32
    public var proposer: PublicKey
    /// Hash of the previous block's commit certificate, carried in this block (zero until consensus provides it).
    public var lastCommit: Hash32

    public init(
        chainID: String, height: UInt64, timeMillis: UInt64, previousBlock: Hash32, transactionCount: UInt64,
        transactionsRoot: Hash32, resultsRoot: Hash32, stateRoot: Hash32, proposer: PublicKey, lastCommit: Hash32
    ) {
        (self.chainID, self.height, self.timeMillis, self.previousBlock) = (chainID, height, timeMillis, previousBlock)
        (self.transactionCount, self.transactionsRoot, self.resultsRoot) = (transactionCount, transactionsRoot, resultsRoot)
        (self.stateRoot, self.proposer, self.lastCommit) = (stateRoot, proposer, lastCommit)
    }

    /// SHA3-256 of the canonical header.
    public var hash: Hash32 { Hashing.sha3(Canonical.encode(self)) }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(string: chainID)
        writer.write(uint: height)
        writer.write(uint: timeMillis)
        writer.write(previousBlock)
        writer.write(uint: transactionCount)
        writer.write(transactionsRoot)
        writer.write(resultsRoot)
        writer.write(stateRoot)
        writer.write(proposer)
        writer.write(lastCommit)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        chainID = try reader.readString(limit: 64)
        height = try reader.readUInt()
        timeMillis = try reader.readUInt()
        previousBlock = try reader.read()
        transactionCount = try reader.readUInt()
        transactionsRoot = try reader.read()
        resultsRoot = try reader.read()
        stateRoot = try reader.read()
        proposer = try reader.read()
        lastCommit = try reader.read()
    }
}

/// How one transaction of a block ended: accepted (empty code) or rejected with its stable code.
public struct TransactionOutcome: Sendable, Hashable, CanonicalCodable {
    public var transaction: Hash32
    /// Empty when accepted; otherwise a `LedgerError` code.
    public var code: String

    public init(transaction: Hash32, code: String) {
        self.transaction = transaction
        self.code = code
    }

    public init(_ result: TransactionResult) {
        switch result {
        case .accepted(let receipt): self.init(transaction: receipt.transaction, code: "")
        case .rejected(let id, let error): self.init(transaction: id, code: error.code.rawValue)
        }
    }

    public var accepted: Bool { code.isEmpty }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(transaction)
        writer.write(string: code)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        transaction = try reader.read()
        code = try reader.readString(limit: 64)
    }
}

/// A block: its header, its transactions (signed bytes, in order), and the previous block's commit certificate.
public struct Block: Sendable, Hashable, CanonicalCodable {
    public var header: BlockHeader
    public var transactions: [[UInt8]]
    /// The commit certificate for the previous block (opaque until consensus defines it).
    public var lastCommit: [UInt8]?

    public init(header: BlockHeader, transactions: [[UInt8]], lastCommit: [UInt8]?) {
        self.header = header
        self.transactions = transactions
        self.lastCommit = lastCommit
    }

    public static let transactionsMax = 10_000

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(header)
        writer.write(list: transactions) { w, tx in w.write(bytes: tx) }
        writer.write(optional: lastCommit) { w, c in w.write(bytes: c) }
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        header = try reader.read()
        transactions = try reader.readList(limit: Block.transactionsMax) { (r: inout CanonicalReader) throws(CanonicalDecodingError) in
            try r.readBytes(limit: Limits.transactionBytesMax)
        }
        lastCommit = try reader.readOptional { (r: inout CanonicalReader) throws(CanonicalDecodingError) in
            try r.readBytes(limit: 1 << 20)
        }
    }
}
