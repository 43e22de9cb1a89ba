import CodedErrors
import Consensus
import Encoding
import Ledger

/// The messages nodes exchange (Docs/protocol.md). Each travels in one frame: `length:u32be type:u8 payload`, the
/// payload being the message's canonical encoding (with its version byte).
public enum WireMessage: Sendable, Hashable {
    /// The first message each side sends on a connection; a peer whose chain, genesis or node id is wrong is dropped.
    case hello(Hello)
    /// A signed transaction (its canonical bytes), gossiped to every peer once.
    case transaction([UInt8])
    case proposal(SignedProposal<LedgerBlock>)
    case vote(SignedVote)
    /// Block sync: up to `count` committed blocks from `from` on.
    case blockRequest(from: UInt64, count: UInt64)
    /// Block sync: committed blocks in height order, each with the certificate that decided it.
    case blockResponse([CommittedBlock])
    /// The sender's committed height, sent on change: who is ahead asks no one, who is behind asks.
    case status(height: UInt64)
    /// Shadow replication (protocol version 2): the blobs at these addresses, if the peer has them.
    case blobRequest([Hash32])
    /// Shadow replication: blobs the peer had of a request (each checked against its address by the receiver).
    case blobResponse([[UInt8]])

    /// The type byte of each message.
    public enum Kind: UInt8, Sendable, CaseIterable {
        case hello = 1, transaction = 2, proposal = 3, vote = 4, blockRequest = 5, blockResponse = 6, status = 7
        case blobRequest = 8, blobResponse = 9

        /// The protocol version that introduced this message; a peer that speaks an older one is not sent it.
        public var since: UInt64 { self == .blobRequest || self == .blobResponse ? 2 : 1 }
    }

    public var kind: Kind {
        switch self {
        case .hello: .hello
        case .transaction: .transaction
        case .proposal: .proposal
        case .vote: .vote
        case .blockRequest: .blockRequest
        case .blockResponse: .blockResponse
        case .status: .status
        case .blobRequest: .blobRequest
        case .blobResponse: .blobResponse
        }
    }

    /// The payload: the message's canonical encoding.
    public var payload: [UInt8] {
        switch self {
        case .hello(let hello): Canonical.encode(hello)
        case .transaction(let bytes): Canonical.encode(RawBytes(bytes: bytes))
        case .proposal(let proposal): Canonical.encode(proposal)
        case .vote(let vote): Canonical.encode(vote)
        case .blockRequest(let from, let count): Canonical.encode(BlockRange(from: from, count: count))
        case .blockResponse(let blocks): Canonical.encode(BlockList(blocks: blocks))
        case .status(let height): Canonical.encode(height)
        case .blobRequest(let addresses): Canonical.encode(BlobAddresses(addresses: addresses))
        case .blobResponse(let blobs): Canonical.encode(BlobList(blobs: blobs))
        }
    }

    /// The whole frame: length, type, payload.
    public var frame: [UInt8] {
        let payload = self.payload
        let length = UInt32(payload.count + 1)
        return [UInt8(length >> 24), UInt8(truncatingIfNeeded: length >> 16), UInt8(truncatingIfNeeded: length >> 8),
                UInt8(truncatingIfNeeded: length), kind.rawValue] + payload
    }

    /// The message of `type` in `payload`; a payload that is not exactly one canonical message is refused.
    public static func decode(type: UInt8, payload: [UInt8]) throws(WireError) -> WireMessage {
        guard let kind = Kind(rawValue: type) else { throw WireError(.unknownType, "message type \(type)") }
        // A payload may fill a frame (a block response, a proposal's block, eight blobs): the canonical decoder's
        // standard 4 MiB input bound would refuse it. Each message type bounds its own fields.
        let limits = WireLimits.decoding
        do {
            switch kind {
            case .hello: return .hello(try Canonical.decode(Hello.self, from: payload, limits: limits))
            case .transaction: return .transaction(try Canonical.decode(RawBytes.self, from: payload, limits: limits).bytes)
            case .proposal: return .proposal(try Canonical.decode(SignedProposal<LedgerBlock>.self, from: payload, limits: limits))
            case .vote: return .vote(try Canonical.decode(SignedVote.self, from: payload, limits: limits))
            case .blockRequest:
                let range = try Canonical.decode(BlockRange.self, from: payload, limits: limits)
                return .blockRequest(from: range.from, count: range.count)
            case .blockResponse: return .blockResponse(try Canonical.decode(BlockList.self, from: payload, limits: limits).blocks)
            case .status: return .status(height: try Canonical.decode(UInt64.self, from: payload))
            case .blobRequest: return .blobRequest(try Canonical.decode(BlobAddresses.self, from: payload, limits: limits).addresses)
            case .blobResponse: return .blobResponse(try Canonical.decode(BlobList.self, from: payload, limits: limits).blobs)
            }
        } catch {
            throw WireError(.malformed, "\(kind) payload: \(error)")
        }
    }
}

/// The handshake.
public struct Hello: Sendable, Hashable, CanonicalCodable {
    /// The version this node announces: 2 adds shadow replication (`blob_request`, `blob_response`).
    public static let protocolVersion: UInt64 = 2
    /// The versions this node accepts from peers; a version-1 peer is never sent a message of version 2.
    public static let protocolVersions: ClosedRange<UInt64> = 1...2

    public var protocolVersion: UInt64
    public var chainID: String
    /// SHA3-256 of the genesis file's canonical state (the chain's genesis fingerprint).
    public var genesis: Hash32
    /// The sender's node key id; the TLS certificate must be for the same node.
    public var node: Hash32
    public var height: UInt64

    public init(protocolVersion: UInt64 = Hello.protocolVersion, chainID: String, genesis: Hash32, node: Hash32, height: UInt64) {
        (self.protocolVersion, self.chainID, self.genesis, self.node, self.height) = (protocolVersion, chainID, genesis, node, height)
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(uint: protocolVersion)
        writer.write(string: chainID)
        writer.write(genesis)
        writer.write(node)
        writer.write(uint: height)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        protocolVersion = try reader.readUInt()
        chainID = try reader.readString(limit: ConsensusLimits.chainIDBytesMax)
        genesis = try reader.read()
        node = try reader.read()
        height = try reader.readUInt()
    }
}

/// A committed block with the certificate that decided it (block sync).
public struct CommittedBlock: Sendable, Hashable, CanonicalCodable {
    public var block: Block
    public var certificate: CommitCertificate

    public init(block: Block, certificate: CommitCertificate) {
        self.block = block
        self.certificate = certificate
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(block)
        writer.write(certificate)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        block = try reader.read()
        certificate = try reader.read()
    }
}

struct RawBytes: CanonicalCodable {
    var bytes: [UInt8]
    init(bytes: [UInt8]) { self.bytes = bytes }
    func encode(to writer: inout CanonicalWriter) { writer.write(bytes: bytes) }
    init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        bytes = try reader.readBytes(limit: Limits.transactionBytesMax)
    }
}

struct BlockRange: CanonicalCodable {
    var from: UInt64
    var count: UInt64
    init(from: UInt64, count: UInt64) {
        self.from = from
        self.count = count
    }
    func encode(to writer: inout CanonicalWriter) {
        writer.write(uint: from)
        writer.write(uint: count)
    }
    init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        from = try reader.readUInt()
        count = try reader.readUInt()
        guard count >= 1, count <= UInt64(WireLimits.blocksPerResponseMax) else {
            throw reader.invalidValue("a block request asks for 1 to \(WireLimits.blocksPerResponseMax) blocks")
        }
    }
}

struct BlockList: CanonicalCodable {
    var blocks: [CommittedBlock]
    init(blocks: [CommittedBlock]) { self.blocks = blocks }
    func encode(to writer: inout CanonicalWriter) { writer.write(list: blocks) }
    init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        blocks = try reader.readList(of: CommittedBlock.self, limit: WireLimits.blocksPerResponseMax)
    }
}

struct BlobAddresses: CanonicalCodable {
    var addresses: [Hash32]
    init(addresses: [Hash32]) { self.addresses = addresses }
    func encode(to writer: inout CanonicalWriter) { writer.write(list: addresses) }
    init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        addresses = try reader.readList(of: Hash32.self, limit: WireLimits.blobsPerMessageMax)
        guard !addresses.isEmpty else { throw reader.invalidValue("a blob request asks for at least one blob") }
    }
}

struct BlobList: CanonicalCodable {
    var blobs: [[UInt8]]
    init(blobs: [[UInt8]]) { self.blobs = blobs }
    func encode(to writer: inout CanonicalWriter) { writer.write(list: blobs) { $0.write(bytes: $1) } }
    init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        blobs = try reader.readList(limit: WireLimits.blobsPerMessageMax) { (r: inout CanonicalReader) throws(CanonicalDecodingError) in
            try r.readBytes(limit: WireLimits.blobBytesMax)
        }
    }
}

/// Limits of the wire protocol.
public enum WireLimits {
    /// The largest frame (type and payload), 16 MiB: a proposal's block and a block response must fit.
    public static let frameBytesMax = 16 << 20
    public static let blocksPerResponseMax = 64
    /// Blobs asked for, or sent, in one message: eight chunks of 1 MiB fit a frame with room to spare.
    public static let blobsPerMessageMax = 8
    /// The largest blob a message carries (the blob store's limit: a chunk and its AES-GCM overhead).
    public static let blobBytesMax = (1 << 20) + 1_024
    /// How payloads are decoded: up to a frame, strings and byte strings up to a blob.
    static let decoding = DecodingLimits(inputBytesMax: frameBytesMax, bytesMax: blobBytesMax, countMax: 1 << 16, depthMax: 32)
}

/// Why a peer's bytes were refused. The connection is closed; the node goes on.
public typealias WireError = CodedError<WireErrors>

/// The family of `WireError`.
public enum WireErrors: ErrorDomain {
    public static let prefix = ""
}

extension CodedError<WireErrors>.Code {
    /// A frame longer than `WireLimits.frameBytesMax`, or of length 0.
    public static let badLength = Self(rawValue: "bad_length")
    /// A type byte this protocol version does not define.
    public static let unknownType = Self(rawValue: "unknown_type")
    /// The payload is not exactly one canonical message of its type.
    public static let malformed = Self(rawValue: "malformed")
    /// The peer's hello does not match this node's chain, genesis, protocol version or consortium.
    public static let refusedPeer = Self(rawValue: "refused_peer")
}
