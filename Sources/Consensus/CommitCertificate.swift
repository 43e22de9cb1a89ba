import CodedErrors
import Encoding
import TwinCrypto

/// Why consensus refused a message or a certificate. The message changes nothing.
public typealias ConsensusError = CodedError<ConsensusErrors>

/// The family of `ConsensusError`.
public enum ConsensusErrors: ErrorDomain {
    public static let prefix = ""
}

extension CodedError<ConsensusErrors>.Code {
    /// The message names another chain.
    public static let wrongChain = Self(rawValue: "wrong_chain")
    /// The signer is not a validator of the message's height.
    public static let unknownValidator = Self(rawValue: "unknown_validator")
    /// The signature does not verify, or the proposed value is not the one the proposal names.
    public static let badSignature = Self(rawValue: "bad_signature")
    /// A proposal from a validator that is not the proposer of its round.
    public static let wrongProposer = Self(rawValue: "wrong_proposer")
    /// A message for a height already decided here.
    public static let staleHeight = Self(rawValue: "stale_height")
    /// A message for a round or height too far ahead to keep (bounded buffers).
    public static let tooFarAhead = Self(rawValue: "too_far_ahead")
    /// A commit certificate that does not prove its block committed.
    public static let invalidCertificate = Self(rawValue: "invalid_certificate")
}

/// Proof that a block was committed: precommits for it from validators holding more than two thirds of the height's
/// power, all in one round (the precommits seen at the paper's L49). Carried by the next block; anyone holding the
/// validator set of the height can check it.
///
/// Encoded compactly: the shared vote fields once, then each validator's key id and signature, in key id order.
public struct CommitCertificate: Sendable, Hashable, CanonicalCodable {
    public var chainID: String
    public var height: UInt64
    public var round: Int
    public var block: Hash32
    /// (validator key id, signature over its precommit), sorted by key id, no repeats.
    public var signatures: [ValidatorSignature]

    /// The certificate made of `precommits` (all for `block` at `height`, `round`).
    public init(chainID: String, height: UInt64, round: Int, block: Hash32, precommits: [SignedVote]) {
        (self.chainID, self.height, self.round, self.block) = (chainID, height, round, block)
        signatures = precommits.map { ValidatorSignature(validator: $0.vote.validator, signature: $0.signature) }
            .sorted { $0.validator < $1.validator }
    }

    /// The precommit `signer` signed.
    public func vote(of signer: ValidatorSignature) -> Vote {
        Vote(chainID: chainID, height: height, round: round, type: .precommit, block: block, validator: signer.validator)
    }

    /// Checks that validators of `validators` holding more than two thirds of its power signed precommits for the block,
    /// each once.
    public func verify(chainID: String, validators: ValidatorSet) throws(ConsensusError) {
        guard self.chainID == chainID else { throw ConsensusError(.wrongChain, "certificate for chain \(self.chainID)") }
        do {
            try validators.verifyQuorum(signatures) { vote(of: $0).signingBytes }
        } catch {
            throw ConsensusError(.invalidCertificate, error.description)
        }
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(string: chainID)
        writer.write(uint: height)
        writer.write(uint: UInt64(round))
        writer.write(block)
        writer.write(list: signatures)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        chainID = try reader.readString(limit: ConsensusLimits.chainIDBytesMax)
        height = try reader.readUInt()
        round = try ConsensusLimits.round(try reader.readUInt(), reader)
        block = try reader.read()
        signatures = try reader.readList(of: ValidatorSignature.self, limit: ValidatorSet.validatorsMax)
    }
}

/// A validator's key id and its signature over some message (a precommit in a certificate, an approval of a
/// validator set change).
public struct ValidatorSignature: Sendable, Hashable, CanonicalCodable {
    public var validator: Hash32
    public var signature: Signature

    public init(validator: Hash32, signature: Signature) {
        self.validator = validator
        self.signature = signature
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(validator)
        writer.write(signature)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        validator = try reader.read()
        signature = try reader.read()
    }
}
