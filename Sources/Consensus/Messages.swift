import Encoding
import TwinCrypto

/// The two kinds of vote in a round (Tendermint's PREVOTE and PRECOMMIT).
public enum VoteType: UInt64, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case prevote = 1
    case precommit = 2

    public var description: String { self == .prevote ? "prevote" : "precommit" }
}

/// A vote, before signing: what a validator says about one round. `block` is nil for a vote for nothing ("nil" in
/// the paper). Signed over `signingBytes` (Docs/consensus.md, "Messages").
public struct Vote: Sendable, Hashable, CanonicalCodable, CustomStringConvertible {
    public var chainID: String
    public var height: UInt64
    public var round: Int
    public var type: VoteType
    public var block: Hash32?
    /// The key id of the voting validator.
    public var validator: Hash32

    public init(chainID: String, height: UInt64, round: Int, type: VoteType, block: Hash32?, validator: Hash32) {
        (self.chainID, self.height, self.round, self.type) = (chainID, height, round, type)
        (self.block, self.validator) = (block, validator)
    }

    /// The bytes a validator signs: a domain tag, so a vote's signature can never pass for any other message's, and
    /// the canonical vote.
    public var signingBytes: [UInt8] { Array("twinledger/vote/v1".utf8) + Canonical.encode(self) }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(string: chainID)
        writer.write(uint: height)
        writer.write(uint: UInt64(round))
        writer.write(tag: type.rawValue)
        writer.write(optional: block)
        writer.write(validator)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        chainID = try reader.readString(limit: ConsensusLimits.chainIDBytesMax)
        height = try reader.readUInt()
        round = try ConsensusLimits.round(try reader.readUInt(), reader)
        let tag = try reader.readTag()
        guard let type = VoteType(rawValue: tag) else { throw reader.unknownTag(tag, in: "VoteType") }
        self.type = type
        block = try reader.readOptional(Hash32.self)
        validator = try reader.read()
    }

    public var description: String {
        "\(type) h\(height) r\(round) \(block.map { String($0.hex.prefix(8)) } ?? "nil") by \(validator.hex.prefix(8))"
    }
}

/// A vote with its validator's BIP340 signature over `vote.signingBytes`.
public struct SignedVote: Sendable, Hashable, CanonicalCodable {
    public var vote: Vote
    public var signature: Signature

    public init(vote: Vote, signature: Signature) {
        self.vote = vote
        self.signature = signature
    }

    /// Signs `vote` with `key`. Only the safety rules call this in a node (they refuse to sign twice).
    public init(signing vote: Vote, with key: SecretKey) throws(TwinCryptoError) {
        self.vote = vote
        signature = try key.sign(vote.signingBytes)
    }

    /// True if `key` signed exactly this vote.
    public func verify(_ key: PublicKey) -> Bool { key.verify(signature, for: vote.signingBytes) }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(vote)
        writer.write(signature)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        vote = try reader.read()
        signature = try reader.read()
    }
}

/// A proposal, before signing: the round's proposer offers the block with id `block`; `validRound` is the round in
/// which the proposer saw the block get a quorum of prevotes (the paper's vr), or -1.
public struct Proposal: Sendable, Hashable, CanonicalCodable {
    public var chainID: String
    public var height: UInt64
    public var round: Int
    public var block: Hash32
    public var validRound: Int
    public var proposer: Hash32

    public init(chainID: String, height: UInt64, round: Int, block: Hash32, validRound: Int, proposer: Hash32) {
        (self.chainID, self.height, self.round) = (chainID, height, round)
        (self.block, self.validRound, self.proposer) = (block, validRound, proposer)
    }

    public var signingBytes: [UInt8] { Array("twinledger/proposal/v1".utf8) + Canonical.encode(self) }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(string: chainID)
        writer.write(uint: height)
        writer.write(uint: UInt64(round))
        writer.write(block)
        // -1 (no valid round) is encoded as 0, round r as r + 1: the encoding has no negative numbers to get wrong.
        writer.write(uint: UInt64(validRound + 1))
        writer.write(proposer)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        chainID = try reader.readString(limit: ConsensusLimits.chainIDBytesMax)
        height = try reader.readUInt()
        round = try ConsensusLimits.round(try reader.readUInt(), reader)
        block = try reader.read()
        validRound = try ConsensusLimits.round(try reader.readUInt(), reader) - 1
        proposer = try reader.read()
        guard validRound < round else { throw reader.invalidValue("a proposal's valid round must be below its round") }
    }
}

/// A proposal with its proposer's signature, and the proposed value (a block, in a node).
public struct SignedProposal<Value: ConsensusValue>: Sendable, Hashable {
    public var proposal: Proposal
    public var signature: Signature
    public var value: Value

    public init(proposal: Proposal, signature: Signature, value: Value) {
        (self.proposal, self.signature, self.value) = (proposal, signature, value)
    }

    public init(signing proposal: Proposal, value: Value, with key: SecretKey) throws(TwinCryptoError) {
        self.proposal = proposal
        self.value = value
        signature = try key.sign(proposal.signingBytes)
    }

    /// True if `key` signed this proposal and the value is the one it names.
    public func verify(_ key: PublicKey) -> Bool {
        value.id == proposal.block && key.verify(signature, for: proposal.signingBytes)
    }
}

/// What consensus decides on: anything with a collision-resistant id (a block, whose id is its header hash).
public protocol ConsensusValue: Sendable, Hashable {
    var id: Hash32 { get }
}

/// Bounds on what a message may carry.
public enum ConsensusLimits {
    public static let chainIDBytesMax = 64
    /// Rounds above this are refused when decoding: timeouts are capped, so a height that has not decided after a
    /// million rounds has lost its network, not its patience.
    public static let roundMax = 1_000_000

    /// Distinct proposals kept per round (only an equivocating proposer sends more than one).
    public static let proposalsPerRoundMax = 4
    /// Distinct votes kept per validator, round and type (only a Byzantine validator signs more than one).
    public static let votesPerValidatorMax = 4

    static func round(_ value: UInt64, _ reader: CanonicalReader) throws(CanonicalDecodingError) -> Int {
        guard value <= UInt64(roundMax) + 1 else { throw reader.invalidValue("round \(value) above \(roundMax)") }
        return Int(value)
    }
}

extension SignedProposal: CanonicalCodable where Value: CanonicalCodable {
    public func encode(to writer: inout CanonicalWriter) {
        writer.write(proposal)
        writer.write(signature)
        writer.write(value)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        proposal = try reader.read()
        signature = try reader.read()
        value = try reader.read()
    }
}

/// An event as the consensus WAL records it (Docs/consensus.md, "WAL"): a tag, then the event's fields.
extension Tendermint.Event: CanonicalCodable where Value: CanonicalCodable {
    public func encode(to writer: inout CanonicalWriter) {
        switch self {
        case .tick:
            writer.write(tag: 0)
        case .proposal(let proposal):
            writer.write(tag: 1)
            writer.write(proposal)
        case .vote(let vote):
            writer.write(tag: 2)
            writer.write(vote)
        case .validated(let block, let valid):
            writer.write(tag: 3)
            writer.write(block)
            writer.write(bool: valid)
        case .value(let height, let round, let value):
            writer.write(tag: 4)
            writer.write(uint: height)
            writer.write(uint: UInt64(round))
            writer.write(value)
        }
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        let tag = try reader.readTag()
        switch tag {
        case 0: self = .tick
        case 1: self = .proposal(try reader.read())
        case 2: self = .vote(try reader.read())
        case 3: self = .validated(block: try reader.read(), valid: try reader.readBool())
        case 4:
            let height = try reader.readUInt()
            let round = try ConsensusLimits.round(try reader.readUInt(), reader)
            self = .value(height: height, round: round, try reader.read())
        default: throw reader.unknownTag(tag, in: "Tendermint.Event")
        }
    }
}

/// One record of the consensus WAL: an input and the time it was fed (Docs/consensus.md, "WAL"). Replaying a
/// height's records in order, each at its time, rebuilds the instance's state, timeouts included.
public struct WALEntry<Value: ConsensusValue & CanonicalCodable>: Sendable, Hashable, CanonicalCodable {
    public var timeMillis: UInt64
    public var event: Tendermint<Value>.Event

    public init(timeMillis: UInt64, event: Tendermint<Value>.Event) {
        self.timeMillis = timeMillis
        self.event = event
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(uint: timeMillis)
        writer.write(event)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        timeMillis = try reader.readUInt()
        event = try reader.read()
    }
}
