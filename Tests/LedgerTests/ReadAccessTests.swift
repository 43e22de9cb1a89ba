// Read authorization against real ledger state built through the state machine: the patient reads their own
// shadow; a practitioner reads only while a grant from that patient covers the shadow (by id or by category prefix),
// includes read, states the same purpose, is unrevoked and inside its validity; break-glass reads emergency
// categories and nothing else; an erased or unknown shadow is refused as such; the refusal names the closest
// grant's reason. Signed read requests verify only unchanged and on their chain; the replay guard refuses a
// reused nonce and times outside its window, and forgets what left the window.
import ABE
import Encoding
import KeyValue
import Ledger
import TestSupport
import Testing
import TwinCrypto

@Suite("Read access")
struct ReadAccessTests {
    func decision(_ world: LedgerWorld, _ requester: SecretKey, _ shadow: Hash32, _ purpose: Purpose = .treatment,
                  at time: UInt64? = nil) throws -> ReadAccess.Decision {
        try ReadAccess.check(requester: requester.publicKey.keyID, shadow: shadow, purpose: purpose,
                             time: time ?? world.time, state: world.store).decision
    }

    func refusal(_ world: LedgerWorld, _ requester: SecretKey, _ shadow: Hash32, _ purpose: Purpose = .treatment,
                 at time: UInt64? = nil) -> AccessError.Code? {
        do {
            _ = try ReadAccess.check(requester: requester.publicKey.keyID, shadow: shadow, purpose: purpose,
                                     time: time ?? world.time, state: world.store)
            return nil
        } catch {
            return error.code
        }
    }

    @Test("the patient reads their own shadow; a grant covering it allows a practitioner, by category prefix or by id")
    func allowed() throws {
        let world = try LedgerWorld()
        let patient = try world.enrollPatient()
        let doctor = try world.enroll(.practitioner)
        let mri = try world.registerShadow(patient, categories: ["neuro.mri"])
        #expect(try decision(world, patient.key, mri) == .patient)
        #expect(refusal(world, doctor, mri) == .noGrant)
        let grant = try world.accept(patient.key, .consentGrant(world.grantPayload(patient, to: doctor, categories: ["neuro"])))
        #expect(try decision(world, doctor, mri) == .grant(grant.transaction))
        // A grant naming the shadow works for a shadow outside its categories too.
        let ecg = try world.registerShadow(patient, categories: ["cardio.ecg"])
        #expect(refusal(world, doctor, ecg) == .scopeMismatch)
        let named = try world.accept(patient.key, .consentGrant(world.grantPayload(patient, to: doctor, categories: [], shadows: [ecg])))
        #expect(try decision(world, doctor, ecg) == .grant(named.transaction))
        // Another patient's patient key reads nothing of this patient's.
        let other = try world.enrollPatient()
        #expect(refusal(world, other.key, mri) == .noGrant)
    }

    @Test("the envelopes a requester may fetch: their own from the registration, and the allowing grant's for the current version")
    func envelopes() throws {
        let world = try LedgerWorld()
        let patient = try world.enrollPatient()
        let doctor = try world.enroll(.practitioner)
        let nurse = try world.enroll(.practitioner)
        let mri = Hashing.sha3([1])
        var register = world.shadowPayload(patient, mri, ["neuro.mri"])
        let patientEnvelope = Hashing.sha3([2])
        register.envelopes = [EnvelopeReference(recipient: patient.key.publicKey.keyID, address: patientEnvelope)]
        try world.accept(patient.key, .shadowRegister(register))
        func allowed(_ who: SecretKey, blob: Hash32? = nil) throws -> ReadAccess.Allowed {
            try ReadAccess.check(requester: who.publicKey.keyID, shadow: mri, purpose: .treatment, time: world.time, blob: blob,
                                 state: world.store)
        }
        #expect(try allowed(patient.key).envelopes == [patientEnvelope])
        // A grant without keys first, then one carrying the doctor's envelope: asking for that envelope picks the
        // second grant; asking for anything else takes the first in index order.
        let plain = try world.accept(patient.key, .consentGrant(world.grantPayload(patient, to: doctor, categories: ["neuro"])))
        var keyed = world.grantPayload(patient, to: doctor, categories: ["neuro"])
        let doctorEnvelope = Hashing.sha3([3])
        keyed.envelopes = [ShadowEnvelope(shadow: mri, version: 1, address: doctorEnvelope)]
        let carrying = try world.accept(patient.key, .consentGrant(keyed))
        let viaEnvelope = try allowed(doctor, blob: doctorEnvelope)
        #expect(viaEnvelope.decision == .grant(carrying.transaction) && viaEnvelope.envelopes == [doctorEnvelope])
        let other = try allowed(doctor, blob: register.manifest)
        #expect([plain.transaction, carrying.transaction].contains(try #require(other.decision.grant)))
        // The patient's envelope is not the doctor's, nor the doctor's the nurse's (who holds a keyless grant).
        #expect(!viaEnvelope.envelopes.contains(patientEnvelope))
        try world.accept(patient.key, .consentGrant(world.grantPayload(patient, to: nurse, categories: ["neuro"])))
        #expect(try allowed(nurse, blob: doctorEnvelope).envelopes.isEmpty)
        // A new version has a new data key: the grant's envelope for version 1 no longer counts.
        _ = try world.registerShadow(patient, version: 2, shadow: mri)
        #expect(try allowed(doctor, blob: doctorEnvelope).envelopes.isEmpty)
    }

    @Test("every way a grant falls short is refused with its reason, the closest grant's reason first")
    func refusals() throws {
        let world = try LedgerWorld()
        let patient = try world.enrollPatient()
        let doctor = try world.enroll(.practitioner)
        let shadow = try world.registerShadow(patient, categories: ["neuro.mri", "neuro.eeg"])
        // Covers only one of the shadow's two categories.
        try world.accept(patient.key, .consentGrant(world.grantPayload(patient, to: doctor, categories: ["neuro.mri"])))
        #expect(refusal(world, doctor, shadow) == .scopeMismatch)
        // Covers both, but write only.
        try world.accept(patient.key, .consentGrant(world.grantPayload(patient, to: doctor, actions: .write, categories: ["neuro"])))
        #expect(refusal(world, doctor, shadow) == .actionNotGranted)
        // Read, for research.
        try world.accept(patient.key, .consentGrant(world.grantPayload(patient, to: doctor, categories: ["neuro"], purpose: .research)))
        #expect(refusal(world, doctor, shadow) == .purposeMismatch)
        #expect(try decision(world, doctor, shadow, .research) != .patient)
        // Read, for treatment, ending soon; then revoked.
        let until = world.time + 100
        let treatment = try world.accept(patient.key, .consentGrant(world.grantPayload(patient, to: doctor, categories: ["neuro"], until: until)))
        #expect(try decision(world, doctor, shadow) == .grant(treatment.transaction))
        #expect(refusal(world, doctor, shadow, at: until) == .expired)
        #expect(refusal(world, doctor, shadow, at: world.time - 3_600) == .notYetValid)
        try world.accept(patient.key, .consentRevoke(ConsentRevoke(grant: treatment.transaction)))
        #expect(refusal(world, doctor, shadow) == .revoked)
        // Erased: refused as erased even for the patient; an unknown shadow as unknown.
        try world.accept(patient.key, .shadowErase(ShadowErase(shadow: shadow)))
        #expect(refusal(world, patient.key, shadow) == .erased)
        #expect(refusal(world, doctor, Hashing.sha3([1, 2, 3])) == .unknownShadow)
    }

    @Test("a grant to a policy allows exactly the requesters whose issued attributes satisfy it, at current versions and epochs")
    func policyGrants() throws {
        let world = try LedgerWorld()
        let patient = try world.enrollPatient()
        let cardiologist = try world.enroll(.practitioner), neurologist = try world.enroll(.practitioner)
        let stranger = try world.enroll(.practitioner)
        let heart = try world.enroll(.authority, by: world.hospitalA, name: "HOSP_A")
        let neuro = try world.enroll(.authority, by: world.hospitalB, name: "HOSP_B")
        var random = SeededRandom(seed: testSeed())
        func publish(_ key: SecretKey, _ name: String, _ attributes: [String]) throws {
            let abe = try ABE.AuthoritySecretKey.generate(authority: name, epoch: 1, using: &random)
            try world.accept(key, .authorityPublish(AuthorityKeys(
                epoch: 1, key: abe.publicKey.bytes, attributes: attributes.map { AttributeVersion(name: $0, version: 1) })))
        }
        try publish(heart, "HOSP_A", ["cardiologist", "staff"])
        try publish(neuro, "HOSP_B", ["neurologist"])
        func issue(_ by: SecretKey, _ user: SecretKey, _ attribute: String, version: UInt64 = 1, epoch: UInt64 = 1) throws {
            try world.accept(by, .attributeIssue(AttributeIssue(
                user: user.publicKey.keyID, attribute: attribute, version: version, epoch: epoch, digest: Hashing.sha3([3]))))
        }
        let mri = try world.registerShadow(patient, categories: ["neuro.mri"])
        var payload = world.grantPayload(patient, to: stranger, categories: ["neuro"])
        payload.grantee = .policy("(HOSP_A.cardiologist and HOSP_A.staff) or HOSP_B.neurologist")
        let grant = try world.accept(patient.key, .consentGrant(payload))

        #expect(refusal(world, cardiologist, mri) == .attributesNotHeld)
        try issue(heart, cardiologist, "cardiologist")
        #expect(refusal(world, cardiologist, mri) == .attributesNotHeld, "half of the AND")
        try issue(heart, cardiologist, "staff")
        #expect(try decision(world, cardiologist, mri) == .grant(grant.transaction))
        #expect(refusal(world, cardiologist, mri, .research) == .purposeMismatch)
        try issue(neuro, neurologist, "neurologist")
        #expect(try decision(world, neurologist, mri) == .grant(grant.transaction))
        #expect(refusal(world, stranger, mri) == .attributesNotHeld)
        // Raising the version takes the attribute from holders not re-issued.
        try world.accept(neuro, .authorityAttributes(AuthorityAttributes(attributes: [AttributeVersion(name: "neurologist", version: 2)])))
        #expect(refusal(world, neurologist, mri) == .attributesNotHeld)
        try issue(neuro, neurologist, "neurologist", version: 2)
        #expect(try decision(world, neurologist, mri) == .grant(grant.transaction))
        // A new epoch does the same for every attribute of the authority.
        let epoch2 = try ABE.AuthoritySecretKey.generate(authority: "HOSP_A", epoch: 2, using: &random)
        try world.accept(heart, .authorityRotate(AuthorityKeys(
            epoch: 2, key: epoch2.publicKey.bytes, attributes: [AttributeVersion(name: "cardiologist", version: 1),
                                                                 AttributeVersion(name: "staff", version: 1)])))
        #expect(refusal(world, cardiologist, mri) == .attributesNotHeld)
        try issue(heart, cardiologist, "cardiologist", epoch: 2)
        try issue(heart, cardiologist, "staff", epoch: 2)
        #expect(try decision(world, cardiologist, mri) == .grant(grant.transaction))
        // Revoking the grant ends it for everyone.
        try world.accept(patient.key, .consentRevoke(ConsentRevoke(grant: grant.transaction)))
        #expect(refusal(world, cardiologist, mri) == .revoked && refusal(world, neurologist, mri) == .revoked)
    }

    @Test("policy envelopes: made under the current epochs, served with the shadow, counted as stale after a rotation until the next write re-wraps them")
    func policyEnvelopes() throws {
        let world = try LedgerWorld()
        let patient = try world.enrollPatient()
        let heart = try world.enroll(.authority, by: world.hospitalA, name: "HOSP_A")
        var random = SeededRandom(seed: testSeed() &+ 7)
        let mri = Hashing.sha3([42]), address = Hashing.sha3([43])
        func register(_ version: UInt64, _ envelope: PolicyEnvelope) -> Payload {
            var payload = world.shadowPayload(patient, mri, ["neuro.mri"], version)
            payload.policy = envelope
            return .shadowRegister(payload)
        }
        let envelope = PolicyEnvelope(policy: "HOSP_A.cardiologist or HOSP_A.neurologist", address: address, epochs: ["HOSP_A": 1])
        try world.reject(patient.key, register(1, envelope), .notFound)
        try world.accept(heart, .authorityPublish(AuthorityKeys(
            epoch: 1, key: try ABE.AuthoritySecretKey.generate(authority: "HOSP_A", epoch: 1, using: &random).publicKey.bytes,
            attributes: [AttributeVersion(name: "cardiologist", version: 1), AttributeVersion(name: "neurologist", version: 1)])))
        var wrong = envelope
        wrong.epochs = ["HOSP_A": 2]
        try world.reject(patient.key, register(1, wrong), .badSequence)
        wrong.epochs = ["HOSP_A": 1, "HOSP_B": 1]
        try world.reject(patient.key, register(1, wrong), .invalidField)
        wrong = envelope
        wrong.policy = "HOSP_A.cardiologist OR HOSP_A.neurologist"
        try world.reject(patient.key, register(1, wrong), .invalidField)
        try world.accept(patient.key, register(1, envelope))
        #expect(try ReadAccess.check(requester: patient.key.publicKey.keyID, shadow: mri, purpose: .treatment, time: world.time,
                                     state: world.store).envelopes == [address])
        #expect(try PolicyEnvelopes.stale(in: world.store).isEmpty)

        // A rotation leaves the envelope on epoch 1: stale until the next version is wrapped under epoch 2.
        try world.accept(heart, .authorityRotate(AuthorityKeys(
            epoch: 2, key: try ABE.AuthoritySecretKey.generate(authority: "HOSP_A", epoch: 2, using: &random).publicKey.bytes,
            attributes: [AttributeVersion(name: "cardiologist", version: 1), AttributeVersion(name: "neurologist", version: 1)])))
        #expect(try PolicyEnvelopes.stale(in: world.store) == [mri])
        // shadow.rewrap replaces the current version's envelope under the new epoch, same policy, same version.
        var fresh = envelope
        fresh.epochs = ["HOSP_A": 2]
        fresh.address = Hashing.sha3([45])
        let stranger = try world.enroll(.practitioner)
        try world.reject(stranger, .shadowRewrap(ShadowRewrap(shadow: mri, version: 1, policy: fresh)), .unauthorized)
        try world.reject(patient.key, .shadowRewrap(ShadowRewrap(shadow: mri, version: 2, policy: fresh)), .badSequence)
        try world.reject(patient.key, .shadowRewrap(ShadowRewrap(shadow: mri, version: 1, policy: envelope)), .invalidField)
        var otherPolicy = fresh
        otherPolicy.policy = "HOSP_A.cardiologist"
        try world.reject(patient.key, .shadowRewrap(ShadowRewrap(shadow: mri, version: 1, policy: otherPolicy)), .invalidField)
        try world.accept(patient.key, .shadowRewrap(ShadowRewrap(shadow: mri, version: 1, policy: fresh)))
        #expect(try PolicyEnvelopes.stale(in: world.store).isEmpty)
        #expect(try world.store.get(StateKey.retiredEnvelope(mri, address)) != nil, "the replaced envelope is retired")
        #expect(try ReadAccess.check(requester: patient.key.publicKey.keyID, shadow: mri, purpose: .treatment, time: world.time,
                                     state: world.store).envelopes == [fresh.address])
        try world.reject(patient.key, register(2, envelope), .badSequence)
        var rewrapped = envelope
        rewrapped.epochs = ["HOSP_A": 2]
        rewrapped.address = Hashing.sha3([44])
        try world.accept(patient.key, register(2, rewrapped))
        #expect(try PolicyEnvelopes.stale(in: world.store).isEmpty)
        // Erasure drops it from the index: another rotation finds nothing stale.
        try world.accept(patient.key, .shadowErase(ShadowErase(shadow: mri)))
        try world.accept(heart, .authorityRotate(AuthorityKeys(
            epoch: 3, key: try ABE.AuthoritySecretKey.generate(authority: "HOSP_A", epoch: 3, using: &random).publicKey.bytes,
            attributes: [AttributeVersion(name: "cardiologist", version: 1)])))
        #expect(try PolicyEnvelopes.stale(in: world.store).isEmpty)
    }

    @Test("break-glass reads emergency categories for emergency treatment only, and not after its hour")
    func breakGlass() throws {
        let world = try LedgerWorld()
        let patient = try world.enrollPatient()
        let responder = try world.enroll(.emergency)
        let medication = try world.registerShadow(patient, categories: ["medication"])
        let mri = try world.registerShadow(patient, categories: ["neuro.mri"])
        #expect(refusal(world, responder, medication, .emergencyTreatment) == .noGrant)
        let glass = try world.accept(responder, .breakGlass(BreakGlass(patient: patient.id, reason: "unconscious on arrival")))
        #expect(try decision(world, responder, medication, .emergencyTreatment) == .grant(glass.transaction))
        #expect(refusal(world, responder, medication, .treatment) == .purposeMismatch)
        #expect(refusal(world, responder, mri, .emergencyTreatment) == .scopeMismatch)
        #expect(refusal(world, responder, medication, .emergencyTreatment, at: world.time + world.parameters.breakGlassSeconds + 10) == .expired)
    }

    @Test("a signed read request verifies unchanged and on its chain only")
    func signedRequests() throws {
        let key = try SecretKey()
        let request = ReadRequest(chainID: "twinledger-test", requester: key.publicKey, shadow: Hashing.sha3([1]),
                                  blob: Hashing.sha3([2]), purpose: .treatment, timeMillis: 1_800_000_000_000,
                                  nonce: [UInt8](repeating: 7, count: 16))
        let bytes = Canonical.encode(try SignedReadRequest(signing: request, with: key))
        #expect(try SignedReadRequest.verified(bytes, chainID: "twinledger-test").body == request)
        #expect { try SignedReadRequest.verified(bytes, chainID: "other") } throws: { ($0 as? AccessError)?.code == .badRequest }
        // Every byte of the body and the signature matters.
        for index in [1, 40, 80, bytes.count - 70, bytes.count - 1] {
            var tampered = bytes
            tampered[index] ^= 0x01
            #expect { try SignedReadRequest.verified(tampered, chainID: "twinledger-test") } throws: {
                ($0 as? AccessError)?.code == .badRequest
            }
        }
        #expect { try SignedReadRequest(signing: request, with: try SecretKey()) } throws: { ($0 as? AccessError)?.code == .badRequest }
        var shortNonce = request
        shortNonce.nonce = [1, 2, 3]
        #expect { try Canonical.decode(ReadRequest.self, from: Canonical.encode(shortNonce)) } throws: { $0 is CanonicalDecodingError }
    }

    @Test("the replay guard refuses a reused nonce and times outside its window, and forgets what left the window")
    func replayGuard() throws {
        let key = try SecretKey()
        func request(_ time: UInt64, _ nonce: UInt8) -> ReadRequest {
            ReadRequest(chainID: "c", requester: key.publicKey, shadow: .zero, blob: .zero, purpose: .treatment,
                        timeMillis: time, nonce: [UInt8](repeating: nonce, count: 16))
        }
        var guardian = ReplayGuard(windowMillis: 60_000, capacity: 3)
        let now: UInt64 = 1_800_000_000_000
        try guardian.admit(request(now, 1), now: now)
        #expect { try guardian.admit(request(now, 1), now: now + 1) } throws: { ($0 as? AccessError)?.code == .replayed }
        #expect { try guardian.admit(request(now - 60_001, 2), now: now) } throws: { ($0 as? AccessError)?.code == .stale }
        #expect { try guardian.admit(request(now + 60_001, 2), now: now) } throws: { ($0 as? AccessError)?.code == .stale }
        try guardian.admit(request(now + 59_000, 2), now: now)
        try guardian.admit(request(now, 3), now: now)
        #expect { try guardian.admit(request(now, 4), now: now) } throws: { ($0 as? AccessError)?.code == .busy }
        // 100 s later the first ones have left the window: forgotten, and their replays would be stale anyway.
        let later = now + 100_000
        try guardian.admit(request(later, 4), now: later)
        #expect(guardian.count == 2)  // nonce 2 (time now + 59 s) is still inside the window of `later`
        #expect { try guardian.admit(request(now, 1), now: later) } throws: { ($0 as? AccessError)?.code == .stale }
    }

    @Test("uploads for a patient: the patient, a delegate who may register, or a write-grant holder; nobody else")
    func uploads() throws {
        let world = try LedgerWorld()
        let patient = try world.enrollPatient()
        let doctor = try world.enroll(.practitioner)
        let caregiver = try world.enroll(.caregiver)
        func code(_ key: SecretKey, _ patientID: Hash32? = nil) -> AccessError.Code? {
            do {
                try UploadAccess.check(uploader: key.publicKey.keyID, patient: patientID ?? patient.id, time: world.time, state: world.store)
                return nil
            } catch {
                return error.code
            }
        }
        #expect(code(patient.key) == nil)
        #expect(code(doctor) == .noGrant)
        try world.accept(patient.key, .consentGrant(world.grantPayload(patient, to: doctor, actions: .read)))
        #expect(code(doctor) == .noGrant)  // read is not write
        try world.accept(patient.key, .consentGrant(world.grantPayload(patient, to: doctor, actions: .write)))
        #expect(code(doctor) == nil)
        #expect(code(caregiver) == .noGrant)
        try world.accept(patient.key, .delegationGrant(DelegationGrant(patient: patient.id, delegate: caregiver.publicKey.keyID,
                                                                       powers: .grant, categories: ["neuro"], validUntil: nil)))
        #expect(code(caregiver) == .noGrant)  // grant power is not register power
        try world.accept(patient.key, .delegationGrant(DelegationGrant(patient: patient.id, delegate: caregiver.publicKey.keyID,
                                                                       powers: .register, categories: ["neuro"], validUntil: nil)))
        #expect(code(caregiver) == nil)
        #expect(code(patient.key, Hashing.sha3([9])) == .unknownPatient)
    }
}
