import Consensus
import Encoding
import TwinCrypto

/// A patient key that `key.rotate` retired: whose it was, the key that replaced it, and the height of the rotation.
/// The retired key signs nothing more, cannot be enrolled again, and its envelopes stay readable by the patient.
public struct RetiredKey: Sendable, Hashable, CanonicalCodable {
    public var patient: Hash32
    public var successor: Hash32
    public var height: UInt64

    public init(patient: Hash32, successor: Hash32, height: UInt64) {
        (self.patient, self.successor, self.height) = (patient, successor, height)
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(patient)
        writer.write(successor)
        writer.write(uint: height)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        patient = try reader.read()
        successor = try reader.read()
        height = try reader.readUInt()
    }
}

extension ValidatorSchedule.Entry {
    /// The entry after this one once the validator holding `oldKey` rotated to `newKey` at `height`: the same set with
    /// the key replaced and the power kept, in force from `height + 2`, version + 1 (the rule `validators.update`
    /// follows). Nil if `oldKey` is not in this set.
    public func rotated(from oldKey: PublicKey, to newKey: PublicKey, at height: UInt64) -> ValidatorSchedule.Entry? {
        guard let member = validators.first(where: { $0.key == oldKey }) else { return nil }
        return amended(by: [ValidatorChange(key: oldKey, power: 0), ValidatorChange(key: newKey, power: member.power)],
                       at: height).entry
    }
}

extension Execution {
    /// `validator.rotate`: signed by a validator's consensus key in the set in force (which must be the latest: one
    /// change at a time), naming that set's version; the new key proves possession, is in no set the schedule keeps,
    /// and is no enrolled or retired key. The new key votes from the height two above this block's, with the same
    /// power, and is recorded as held by the same node.
    mutating func rotateValidator(_ p: ValidatorRotate) throws(LedgerError) -> Receipt {
        var schedule = try state.record(ValidatorSchedule.self, StateKey.validatorScheduleKey) ?? ValidatorSchedule(entries: [])
        guard let latest = schedule.latest else { throw LedgerError(.notFound, "the chain has no validator set") }
        guard latest.validators.contains(where: { $0.key == body.signer }) else {
            throw LedgerError(.unauthorized, "only a validator of the latest set rotates its own key")
        }
        guard p.basis == latest.version else {
            throw LedgerError(.badSequence, "the rotation amends version \(p.basis); the latest set is version \(latest.version)")
        }
        guard latest.effectiveHeight <= context.height else {
            throw LedgerError(.badSequence, "a validator change is pending until height \(latest.effectiveHeight)")
        }
        let newID = p.newKey.keyID
        guard !schedule.entries.contains(where: { $0.validators.contains { $0.key == p.newKey } }),
            try state.get(StateKey.validatorNode(newID)) == nil
        else { throw LedgerError(.alreadyExists, "key \(newID.hex.prefix(16))… is or was a validator key") }
        guard try state.get(StateKey.participant(newID)) == nil, try state.get(StateKey.organization(newID)) == nil,
            try state.get(StateKey.retiredKey(newID)) == nil
        else { throw LedgerError(.alreadyExists, "key \(newID.hex.prefix(16))… is enrolled; a consensus key signs nothing else") }
        let message = ValidatorRotate.possessionBytes(chainID: chainID, basis: p.basis, oldKey: body.signer, newKey: p.newKey)
        guard p.newKey.verify(p.possession, for: message) else {
            throw LedgerError(.badSignature, "the new key's possession signature does not verify")
        }
        guard let entry = latest.rotated(from: body.signer, to: p.newKey, at: context.height) else {
            throw LedgerError(.unauthorized, "only a validator of the latest set rotates its own key")
        }
        _ = try entry.set()
        schedule.schedule(entry)
        state.put(schedule, at: StateKey.validatorScheduleKey)
        let node = try state.record(Hash32.self, StateKey.validatorNode(signerID)) ?? signerID
        state.put(node, at: StateKey.validatorNode(newID))
        return receipt(created: newID)
    }

    /// `key.rotate`: a patient, signing with its current key, moves its enrolment to a new key that proves
    /// possession and is not enrolled, retired or a validator key. The participant record (patient id, organization,
    /// enrolment height) moves to the new key, the patient id points at it, the old key is retired, and the rotation
    /// joins the patient's history. Grants, delegations and shadows are by patient id and are untouched.
    mutating func rotateKey(_ p: KeyRotate, _ signer: Signer) throws(LedgerError) -> Receipt {
        guard var participant = signer.participant, participant.role == .patient, participant.patientID == p.patient else {
            throw LedgerError(.unauthorized, "only the patient's current key rotates the patient's key")
        }
        let newID = p.newKey.keyID
        guard try state.get(StateKey.participant(newID)) == nil, try state.get(StateKey.organization(newID)) == nil,
            try state.get(StateKey.retiredKey(newID)) == nil, try state.get(StateKey.validatorNode(newID)) == nil
        else { throw LedgerError(.alreadyExists, "key \(newID.hex.prefix(16))… is or was enrolled") }
        if let schedule = try state.record(ValidatorSchedule.self, StateKey.validatorScheduleKey),
            schedule.entries.contains(where: { $0.validators.contains { $0.key == p.newKey } })
        {
            throw LedgerError(.alreadyExists, "key \(newID.hex.prefix(16))… is a validator key")
        }
        let message = KeyRotate.possessionBytes(chainID: chainID, patient: p.patient, oldKey: body.signer, newKey: p.newKey)
        guard p.newKey.verify(p.possession, for: message) else {
            throw LedgerError(.badSignature, "the new key's possession signature does not verify")
        }
        participant.key = p.newKey
        state.delete(StateKey.participant(signerID))
        state.put(participant, at: StateKey.participant(newID))
        state.put(newID, at: StateKey.patient(p.patient))
        state.put(RetiredKey(patient: p.patient, successor: newID, height: context.height), at: StateKey.retiredKey(signerID))
        try appendHistory(p.patient)
        return receipt(patient: p.patient, created: newID)
    }
}
