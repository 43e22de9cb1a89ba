// Key rotation through the ledger (Docs/transactions.md, "Key rotation"; Docs/consensus.md, "Consensus key rotation"):
// validator.rotate replaces a validator's consensus key from H+2 with its power and node kept; key.rotate moves a
// patient to a new key keeping grants, shadows and history. Each refusal is checked for its code and for leaving the
// state unchanged (LedgerWorld.reject); the light client's rule is checked against the ledger's.
import Consensus
import Encoding
import Ledger
import TestSupport
import Testing
import TwinCrypto

@Suite("Key rotation")
struct KeyRotationTests {
    @Test("validator.rotate: the old key signs, the new key proves possession, and votes from H+2 with the same power")
    func validatorRotation() throws {
        let world = try LedgerWorld()
        let practitioner = try world.enroll(.practitioner)
        let old = world.validatorKeys[2]
        let new = try SecretKey()
        let rotate = try ValidatorRotate.signed(chainID: world.chainID, basis: 0, oldKey: old.publicKey, newKey: new)

        // Possession signed by another key, or for another old key, or another set version: refused.
        let impostor = try SecretKey()
        var forged = rotate
        forged.possession = try impostor.sign(ValidatorRotate.possessionBytes(
            chainID: world.chainID, basis: 0, oldKey: old.publicKey, newKey: new.publicKey))
        try world.reject(old, .validatorRotate(forged), .badSignature)
        let otherOld = try ValidatorRotate.signed(chainID: world.chainID, basis: 0, oldKey: world.validatorKeys[0].publicKey, newKey: new)
        try world.reject(old, .validatorRotate(otherOld), .badSignature)
        // Only a validator of the latest set, for itself; a participant or a stranger cannot.
        try world.reject(practitioner, .validatorRotate(rotate), .unauthorized)
        try world.reject(impostor, .validatorRotate(rotate), .unknownSigner)
        let stale = try ValidatorRotate.signed(chainID: world.chainID, basis: 1, oldKey: old.publicKey, newKey: new)
        try world.reject(old, .validatorRotate(stale), .badSequence)
        // The new key is no validator's and no participant's already.
        let toMember = try ValidatorRotate.signed(chainID: world.chainID, basis: 0, oldKey: old.publicKey, newKey: world.validatorKeys[1])
        try world.reject(old, .validatorRotate(toMember), .alreadyExists)
        let toParticipant = try ValidatorRotate.signed(chainID: world.chainID, basis: 0, oldKey: old.publicKey, newKey: practitioner)
        try world.reject(old, .validatorRotate(toParticipant), .alreadyExists)

        let receipt = try world.accept(old, .validatorRotate(rotate))
        let height = world.height
        #expect(receipt.created == new.publicKey.keyID)
        let schedule = try #require(try world.record(ValidatorSchedule.self, StateKey.validatorScheduleKey))
        let before = try #require(schedule.entry(at: height + 1)), after = try #require(schedule.entry(at: height + 2))
        #expect(before.validators.contains { $0.key == old.publicKey } && !before.validators.contains { $0.key == new.publicKey })
        #expect(after.version == 1 && after.effectiveHeight == height + 2)
        #expect(Set(after.validators.map(\.key)) == Set(world.validatorKeys.map(\.publicKey)).subtracting([old.publicKey]).union([new.publicKey]))
        #expect(after.validators.first { $0.key == new.publicKey }?.power == before.validators.first { $0.key == old.publicKey }?.power)
        // The new key is held by the old key's node.
        #expect(try world.record(Hash32.self, StateKey.validatorNode(new.publicKey.keyID)) == old.publicKey.keyID)
        #expect(try world.proves(StateKey.validatorNode(new.publicKey.keyID)))
        // The light client's rule gives the same entry.
        #expect(before.rotated(from: old.publicKey, to: new.publicKey, at: height) == after)

        // While the change is pending, no other; once in force, the old key is out and the new one may rotate again,
        // the node recorded being the first key's.
        let newer = try SecretKey()
        try world.reject(new, .validatorRotate(try ValidatorRotate.signed(
            chainID: world.chainID, basis: 1, oldKey: new.publicKey, newKey: newer)), .badSequence)
        #expect(world.height == height + 1)
        try world.reject(old, .validatorRotate(try ValidatorRotate.signed(
            chainID: world.chainID, basis: 1, oldKey: old.publicKey, newKey: newer)), .unauthorized)
        // A rotated-away key cannot come back as anything.
        try world.reject(new, .validatorRotate(try ValidatorRotate.signed(
            chainID: world.chainID, basis: 1, oldKey: new.publicKey, newKey: old)), .alreadyExists)
        try world.accept(new, .validatorRotate(try ValidatorRotate.signed(chainID: world.chainID, basis: 1, oldKey: new.publicKey, newKey: newer)))
        #expect(try world.record(Hash32.self, StateKey.validatorNode(newer.publicKey.keyID)) == old.publicKey.keyID)
        // A consensus key cannot be enrolled as a participant.
        try world.reject(world.hospitalA, .enroll(Enroll(key: new.publicKey, role: .practitioner, organization: "HOSP_A")), .alreadyExists)
    }

    @Test("key.rotate: the patient keeps id, grants, shadows and history; the old key signs nothing and cannot return")
    func patientRotation() throws {
        let world = try LedgerWorld()
        let patient = try world.enrollPatient()
        let pid = patient.id
        let practitioner = try world.enroll(.practitioner)
        let other = try world.enrollPatient()
        let grant = try #require(try world.accept(patient.key, .consentGrant(world.grantPayload(patient, to: practitioner))).created)
        // A shadow with a key envelope for the patient's first key.
        let shadow = Hashing.sha3([7])
        var register = world.shadowPayload(patient, shadow, ["neuro.mri"])
        let ownEnvelope = Hashing.sha3([8])
        register.envelopes = [EnvelopeReference(recipient: patient.key.publicKey.keyID, address: ownEnvelope)]
        try world.accept(patient.key, .shadowRegister(register))
        let historyBefore = try world.history(pid).1

        let new = try SecretKey()
        let rotate = try KeyRotate.signed(chainID: world.chainID, patient: pid, oldKey: patient.key.publicKey, newKey: new)
        var forged = rotate
        forged.possession = try patient.key.sign(KeyRotate.possessionBytes(
            chainID: world.chainID, patient: pid, oldKey: patient.key.publicKey, newKey: new.publicKey))
        try world.reject(patient.key, .keyRotate(forged), .badSignature)
        try world.reject(practitioner, .keyRotate(rotate), .unauthorized)
        try world.reject(other.key, .keyRotate(try KeyRotate.signed(chainID: world.chainID, patient: pid, oldKey: other.key.publicKey, newKey: new)),
                         .unauthorized)  // another patient's id
        try world.reject(patient.key, .keyRotate(try KeyRotate.signed(
            chainID: world.chainID, patient: pid, oldKey: patient.key.publicKey, newKey: practitioner)), .alreadyExists)
        try world.reject(patient.key, .keyRotate(try KeyRotate.signed(
            chainID: world.chainID, patient: pid, oldKey: patient.key.publicKey, newKey: world.validatorKeys[0])), .alreadyExists)

        let receipt = try world.accept(patient.key, .keyRotate(rotate))
        #expect(receipt.patient == pid && receipt.created == new.publicKey.keyID)
        let moved = try #require(try world.record(Participant.self, StateKey.participant(new.publicKey.keyID)))
        #expect(moved.patientID == pid && moved.role == .patient && moved.key == new.publicKey)
        #expect(try world.record(Participant.self, StateKey.participant(patient.key.publicKey.keyID)) == nil)
        #expect(try world.record(Hash32.self, StateKey.patient(pid)) == new.publicKey.keyID)
        let retired = try #require(try world.record(RetiredKey.self, StateKey.retiredKey(patient.key.publicKey.keyID)))
        #expect(retired.patient == pid && retired.successor == new.publicKey.keyID && retired.height == world.height)
        #expect(try world.proves(StateKey.retiredKey(patient.key.publicKey.keyID)))
        // History: everything before, then the rotation.
        #expect(try world.history(pid).1 == historyBefore + [receipt.transaction])

        // The old key is refused for anything, with the reason; it cannot be enrolled again (it would take the
        // patient id back).
        try world.reject(patient.key, .consentRevoke(ConsentRevoke(grant: grant)), .unauthorized)
        try world.reject(patient.key, .keyRotate(rotate), .unauthorized)
        try world.reject(world.hospitalA, .enroll(Enroll(key: patient.key.publicKey, role: .patient, organization: "HOSP_A")), .alreadyExists)
        // The grant still allows the practitioner's read; the patient reads its shadow with the new key, and the
        // envelope made for the old key is still the patient's.
        let allowed = try ReadAccess.check(requester: practitioner.publicKey.keyID, shadow: shadow, purpose: .treatment,
                                           time: world.time, state: world.store)
        #expect(allowed.decision == .grant(grant))
        let own = try ReadAccess.check(requester: new.publicKey.keyID, shadow: shadow, purpose: .patientRequest, time: world.time, state: world.store)
        #expect(own.decision == .patient && own.envelopes == [ownEnvelope])
        // The new key acts as the patient: it revokes the grant made with the old key and registers a new version.
        try world.accept(new, .consentRevoke(ConsentRevoke(grant: grant)))
        #expect(try world.record(Grant.self, StateKey.grant(grant))?.revokedHeight == world.height)
        var second = world.shadowPayload(patient, shadow, ["neuro.mri"], 2)
        second.envelopes = [EnvelopeReference(recipient: new.publicKey.keyID, address: Hashing.sha3([9]))]
        try world.accept(new, .shadowRegister(second))
        // And rotates again; the first key's successor record stays.
        let third = try SecretKey()
        try world.accept(new, .keyRotate(try KeyRotate.signed(chainID: world.chainID, patient: pid, oldKey: new.publicKey, newKey: third)))
        #expect(try world.record(Hash32.self, StateKey.patient(pid)) == third.publicKey.keyID)
        #expect(try world.history(pid).1.count == historyBefore.count + 4)
    }
}
