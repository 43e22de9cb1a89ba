import Encoding
import TwinCrypto

/// Where the safety rules keep the last position they signed. `save` must be durable (written and fsynced) when it
/// returns: a signature leaves the node only after it. `Storage.AtomicFile` is the node's implementation.
public protocol SignedPositionStore: Sendable {
    func load() throws -> [UInt8]?
    func save(_ bytes: [UInt8]) throws
}

/// A (height, round, step) a validator signed at; proposals sign at step `propose`, votes at their type's step.
public struct SignedPosition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var height: UInt64
    public var round: Int
    public var step: Step

    public init(height: UInt64, round: Int, step: Step) {
        (self.height, self.round, self.step) = (height, round, step)
    }

    public static func < (a: SignedPosition, b: SignedPosition) -> Bool {
        (a.height, a.round, a.step.rawValue) < (b.height, b.round, b.step.rawValue)
    }

    public var description: String { "h\(height) r\(round) \(step)" }
}

/// Why the safety rules refused to sign.
public struct SafetyError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// Signing would go back to, or conflict at, a position already signed (a double sign).
        case conflict
        /// The signed-position record could not be written or read; nothing was signed.
        case storage
        /// The message is not this validator's.
        case notMine
    }

    public let kind: Kind
    public let message: String
    public var description: String { "\(kind.rawValue): \(message)" }
}

/// The double-sign guard: the only holder of the validator key. It signs a vote or proposal only at a position above
/// the last one it signed, or the very same message again (a restart re-sending what it already sent, with the same
/// signature), and makes the new position durable before the signature is returned (CometBFT's privval keeps the
/// same rule apart from its state machine; so do we).
///
/// A validator whose consensus key was rotated holds both keys for a while; the rules sign with the key a message
/// names, and one signed-position record covers them all (positions only go forward, whichever key signs).
public final class SafetyRules: @unchecked Sendable {
    /// The validator's consensus keys by key id: the first, and those it rotated to.
    private(set) var keys: [Hash32: SecretKey]
    let store: any SignedPositionStore
    /// The last signed position, the hash of the bytes signed there, and the signature.
    private(set) var last: Record?

    struct Record: Sendable, Hashable, CanonicalCodable {
        var position: SignedPosition
        var signed: Hash32
        var signature: Signature

        func encode(to writer: inout CanonicalWriter) {
            writer.write(uint: position.height)
            writer.write(uint: UInt64(position.round))
            writer.write(tag: UInt64(position.step.rawValue))
            writer.write(signed)
            writer.write(signature)
        }

        init(position: SignedPosition, signed: Hash32, signature: Signature) {
            (self.position, self.signed, self.signature) = (position, signed, signature)
        }

        init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
            let height = try reader.readUInt()
            let round = try ConsensusLimits.round(try reader.readUInt(), reader)
            let tag = try reader.readTag()
            guard let step = Step(rawValue: Int(tag)), step != .decided else { throw reader.unknownTag(tag, in: "Step") }
            position = SignedPosition(height: height, round: round, step: step)
            signed = try reader.read()
            signature = try reader.read()
        }
    }

    /// Loads the last signed position from `store`. A record that does not decode stops here: signing without
    /// knowing what was signed could sign twice.
    public convenience init(key: SecretKey, store: any SignedPositionStore) throws(SafetyError) {
        try self.init(keys: [key], store: store)
    }

    /// Rules holding several consensus keys of one validator (before and after a rotation).
    public init(keys: [SecretKey], store: any SignedPositionStore) throws(SafetyError) {
        self.keys = Dictionary(keys.map { ($0.publicKey.keyID, $0) }, uniquingKeysWith: { a, _ in a })
        self.store = store
        do {
            if let bytes = try store.load() { last = try Canonical.decode(Record.self, from: bytes) }
        } catch {
            throw SafetyError(kind: .storage, message: "the signed-position record is unreadable (\(error)); refusing to sign")
        }
    }

    /// The last position signed, if any.
    public var lastSigned: SignedPosition? { last?.position }

    /// Whether the rules hold the key with id `id`.
    public func holds(_ id: Hash32) -> Bool { keys[id] != nil }

    /// The key with id `id`, if held.
    public func key(_ id: Hash32) -> SecretKey? { keys[id] }

    /// Adds a consensus key this validator rotated to.
    public func add(_ key: SecretKey) { keys[key.publicKey.keyID] = key }

    /// Signs `vote` if it is this validator's and above the last signed position (or exactly the last message).
    public func sign(_ vote: Vote) throws(SafetyError) -> SignedVote {
        guard let key = keys[vote.validator] else { throw SafetyError(kind: .notMine, message: "vote for \(vote.validator.hex.prefix(16))") }
        let step: Step = vote.type == .prevote ? .prevote : .precommit
        let signature = try sign(vote.signingBytes, at: SignedPosition(height: vote.height, round: vote.round, step: step), with: key)
        return SignedVote(vote: vote, signature: signature)
    }

    /// Signs `proposal` under the same rule, at step `propose`.
    public func sign<Value: ConsensusValue>(_ proposal: Proposal, value: Value) throws(SafetyError) -> SignedProposal<Value> {
        guard let key = keys[proposal.proposer] else {
            throw SafetyError(kind: .notMine, message: "proposal by \(proposal.proposer.hex.prefix(16))")
        }
        let position = SignedPosition(height: proposal.height, round: proposal.round, step: .propose)
        return SignedProposal(proposal: proposal, signature: try sign(proposal.signingBytes, at: position, with: key), value: value)
    }

    func sign(_ bytes: [UInt8], at position: SignedPosition, with key: SecretKey) throws(SafetyError) -> Signature {
        let digest = Hashing.sha3(bytes)
        if let last {
            if position == last.position, digest == last.signed { return last.signature }
            guard position > last.position else {
                throw SafetyError(kind: .conflict, message: "asked to sign at \(position), already signed \(last.position)")
            }
        }
        let signature: Signature
        do { signature = try key.sign(bytes) } catch {
            throw SafetyError(kind: .storage, message: "signing failed: \(error)")
        }
        let record = Record(position: position, signed: digest, signature: signature)
        do { try store.save(Canonical.encode(record)) } catch {
            throw SafetyError(kind: .storage, message: "could not persist the signed position \(position): \(error)")
        }
        last = record
        return signature
    }
}
