import Consensus
import Encoding
import TwinCrypto

/// The validator sets of the chain in authenticated state (Docs/consensus.md, "Validator set changes"): the set each
/// height votes with, as the genesis named it and as `validators.update` transactions changed it, each change
/// effective two heights after the block that accepted it.
///
/// Kept as one record holding the latest `entriesMax` sets, so the set of any recent height is one read. Evidence
/// about a height older than the oldest set kept is refused as too old.
public struct ValidatorSchedule: Sendable, Hashable, CanonicalCodable {
    public static let entriesMax = 16

    /// A validator set, the first height it votes at, and its version (0 for the genesis set, +1 per update).
    public struct Entry: Sendable, Hashable, CanonicalCodable {
        public var effectiveHeight: UInt64
        public var version: UInt64
        /// Sorted by key id, no repeats, every power above 0.
        public var validators: [ValidatorChange]

        public init(effectiveHeight: UInt64, version: UInt64, validators: [ValidatorChange]) {
            (self.effectiveHeight, self.version, self.validators) = (effectiveHeight, version, validators)
        }

        /// The consensus view of this set.
        /// The entry that `changes`, accepted at `height`, schedule after this one: a power of 0 removes a validator,
        /// any other adds it or sets its power; in force from `height + 2`, version + 1. `missing` is the first
        /// removal of a validator this set does not hold (the ledger refuses such an update).
        public func amended(by changes: [ValidatorChange], at height: UInt64) -> (entry: Entry, missing: ValidatorChange?) {
            var members = Dictionary(validators.map { ($0.key.keyID, $0) }, uniquingKeysWith: { a, _ in a })
            var missing: ValidatorChange?
            for change in changes {
                if change.power == 0 {
                    if members.removeValue(forKey: change.key.keyID) == nil, missing == nil { missing = change }
                } else {
                    members[change.key.keyID] = change
                }
            }
            let entry = Entry(effectiveHeight: height + 2, version: version + 1, validators: members.values.sorted { $0.key.keyID < $1.key.keyID })
            return (entry, missing)
        }

        public func set() throws(LedgerError) -> ValidatorSet {
            do {
                return try ValidatorSet(validators.map { Validator(key: $0.key, power: $0.power) })
            } catch {
                throw LedgerError(.invalidField, "validator set: \(error)")
            }
        }

        public func encode(to writer: inout CanonicalWriter) {
            writer.write(uint: effectiveHeight)
            writer.write(uint: version)
            writer.write(list: validators)
        }

        public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
            effectiveHeight = try reader.readUInt()
            version = try reader.readUInt()
            validators = try reader.readList(of: ValidatorChange.self, limit: ValidatorSet.validatorsMax)
        }
    }

    /// Oldest first; effective heights strictly increase.
    public var entries: [Entry]

    public init(entries: [Entry]) { self.entries = entries }

    /// The set voting at `height`, if the schedule reaches back that far.
    public func entry(at height: UInt64) -> Entry? { entries.last { $0.effectiveHeight <= height } }

    /// The latest set, scheduled or in force.
    public var latest: Entry? { entries.last }

    public func encode(to writer: inout CanonicalWriter) { writer.write(list: entries) }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        entries = try reader.readList(of: Entry.self, limit: Self.entriesMax)
    }
}

/// A validator's approval of a `validators.update`: its key id and its signature over the update's `approvalBytes`.
public typealias ValidatorApproval = ValidatorSignature

extension ValidatorsUpdate {
    /// What each approving validator signs: a domain tag, the chain, the version of the set being amended, and the
    /// changes. The version makes an approval good for one amendment only: once the set has changed, it is stale.
    public static func approvalBytes(chainID: String, basis: UInt64, changes: [ValidatorChange]) -> [UInt8] {
        var writer = CanonicalWriter()
        writer.write(string: chainID)
        writer.write(uint: basis)
        writer.write(list: changes)
        return Array("twinledger/validators-update/v1".utf8) + writer.bytes
    }
}

extension StateKey {
    public static let validatorScheduleKey: [UInt8] = [0x15]
    /// Recorded evidence, one per offense: validator, height, round and vote type.
    public static func evidence(validator: Hash32, height: UInt64, round: Int, type: VoteType) -> [UInt8] {
        key(evidencePrefix, validator) + bigEndian(height) + bigEndian(UInt64(round)) + [UInt8(type.rawValue)]
    }
}

/// An offense the ledger recorded from `evidence.submit`: both conflicting votes, as signed.
public struct EvidenceRecord: Sendable, Hashable, CanonicalCodable {
    public var first: SignedVote
    public var second: SignedVote

    public init(first: SignedVote, second: SignedVote) {
        self.first = first
        self.second = second
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(first)
        writer.write(second)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        first = try reader.read()
        second = try reader.read()
    }
}

extension Execution {
    /// `validators.update`: proposed by an organization, approved by validators holding more than 2/3 of the power
    /// of the set in force, amending exactly that set (`basis` is its version) while no other change is pending; the
    /// new set votes from the height two above this block's. Power 0 removes a validator, which must be in the set.
    mutating func updateValidators(_ p: ValidatorsUpdate, _ signer: Signer) throws(LedgerError) -> Receipt {
        guard signer.organization != nil else {
            throw LedgerError(.unauthorized, "only an organization proposes a validator update")
        }
        guard !p.changes.isEmpty, Set(p.changes.map(\.key)).count == p.changes.count else {
            throw LedgerError(.invalidField, "empty or repeated validator changes")
        }
        var schedule = try state.record(ValidatorSchedule.self, StateKey.validatorScheduleKey) ?? ValidatorSchedule(entries: [])
        guard let latest = schedule.latest else { throw LedgerError(.notFound, "the chain has no validator set to amend") }
        guard p.basis == latest.version else {
            throw LedgerError(.badSequence, "the update amends version \(p.basis); the latest set is version \(latest.version)")
        }
        // One change at a time: the set that approves is the set in force.
        guard latest.effectiveHeight <= context.height else {
            throw LedgerError(.badSequence, "a validator update is pending until height \(latest.effectiveHeight)")
        }
        let current = try latest.set()
        let message = ValidatorsUpdate.approvalBytes(chainID: chainID, basis: p.basis, changes: p.changes)
        do {
            try current.verifyQuorum(p.approvals) { _ in message }
        } catch {
            switch error {
            case .unsorted: throw LedgerError(.invalidField, "approvals: \(error)")
            case .badSignature: throw LedgerError(.badSignature, "approvals: \(error)")
            case .notValidator, .short: throw LedgerError(.unauthorized, "approvals of version \(latest.version): \(error)")
            }
        }
        let (entry, missing) = latest.amended(by: p.changes, at: context.height)
        if let missing { throw LedgerError(.notFound, "validator \(missing.key.keyID.hex.prefix(16))… is not in the set") }
        _ = try entry.set()  // not empty, within the limits on count and power
        schedule.schedule(entry)
        state.put(schedule, at: StateKey.validatorScheduleKey)
        state.put(p, at: StateKey.validatorsUpdate(transaction.id))
        return receipt(created: transaction.id)
    }

    /// `evidence.submit`: two votes by one validator for the same height, round and type but different blocks, both
    /// signed with its key, the validator in the set of that height; recorded once per offense.
    mutating func submitEvidence(_ p: EvidenceSubmit) throws(LedgerError) -> Receipt {
        let first: SignedVote, second: SignedVote
        do {
            first = try Canonical.decode(SignedVote.self, from: p.first)
            second = try Canonical.decode(SignedVote.self, from: p.second)
        } catch {
            throw LedgerError(.invalidField, "evidence votes do not decode: \(error)")
        }
        let (a, b) = (first.vote, second.vote)
        guard a.chainID == chainID, b.chainID == chainID, a.validator == b.validator, a.height == b.height,
            a.round == b.round, a.type == b.type, a.block != b.block
        else { throw LedgerError(.invalidField, "the votes do not conflict (one validator, height, round and type)") }
        guard a.height <= context.height else { throw LedgerError(.invalidField, "evidence about a future height") }
        let schedule = try state.record(ValidatorSchedule.self, StateKey.validatorScheduleKey)
        guard let entry = schedule?.entry(at: a.height), let validator = try entry.set().validator(a.validator) else {
            throw LedgerError(.notFound, "\(a.validator.hex.prefix(16))… is not a known validator at height \(a.height)")
        }
        guard first.verify(validator.key), second.verify(validator.key) else {
            throw LedgerError(.badSignature, "an evidence vote's signature does not verify")
        }
        let key = StateKey.evidence(validator: a.validator, height: a.height, round: a.round, type: a.type)
        guard try state.get(key) == nil else { throw LedgerError(.alreadyExists, "this offense is recorded") }
        let ordered = Canonical.encode(first).lexicographicallyPrecedes(Canonical.encode(second))
            ? EvidenceRecord(first: first, second: second) : EvidenceRecord(first: second, second: first)
        state.put(ordered, at: key)
        return receipt(created: Hashing.sha3(key))
    }
}

extension Chain {
    /// The validator set voting at `height`, from the committed state; nil if the chain has none (a chain whose
    /// genesis named no validators) or the height is older than the sets kept.
    public func validators(at height: UInt64) throws(LedgerError) -> ValidatorSet? {
        let bytes: [UInt8]?
        do { bytes = try store.get(StateKey.validatorScheduleKey) } catch { throw LedgerError(.storage, "\(error)") }
        guard let bytes else { return nil }
        let schedule: ValidatorSchedule
        do { schedule = try Canonical.decode(ValidatorSchedule.self, from: bytes) } catch {
            throw LedgerError(.storage, "the validator schedule does not decode: \(error)")
        }
        return try schedule.entry(at: height)?.set()
    }
}
