// Authorization rules of Docs/transactions.md, one suite per transaction kind, each with its unauthorized variants.
// Every rejection is checked for its code and for leaving the state byte-for-byte unchanged (LedgerWorld.reject).
//
// Index: admission (chain, signature, size, malformed) · nonces and replay · enroll · shadow.register ·
// consent.grant · consent.revoke · delegation.grant/revoke · shadow.erase · authority.publish/rotate ·
// audit.anchor · break_glass · validators.update and evidence.submit · history chain.
import ABE
import Consensus
import Encoding
import KeyValue
import Ledger
import TestSupport
import Testing
import TwinCrypto

@Suite("Admission and replay")
struct AdmissionTests {
    @Test("wrong chain, bad signature, malformed and oversized bytes are typed errors")
    func admission() throws {
        let world = try LedgerWorld()
        let body = TransactionBody(
            chainID: world.chainID, signer: world.hospitalA.publicKey, nonce: 1,
            payload: .auditAnchor(AuditAnchor(root: .zero, firstSequence: 0, count: 1))
        )
        let signed = try SignedTransaction(signing: body, with: world.hospitalA)
        #expect(throws: LedgerError.self) { try VerifiedTransaction(bytes: signed.bytes, chainID: "other-chain") }
        #expect { try VerifiedTransaction(bytes: signed.bytes, chainID: "other-chain") } throws: {
            ($0 as? LedgerError)?.code == .wrongChain
        }
        var forged = signed
        forged.body.nonce = 2
        #expect { try VerifiedTransaction(bytes: forged.bytes, chainID: world.chainID) } throws: {
            ($0 as? LedgerError)?.code == .badSignature
        }
        #expect { try VerifiedTransaction(bytes: Array(signed.bytes.dropLast()), chainID: world.chainID) } throws: {
            ($0 as? LedgerError)?.code == .malformed
        }
        #expect { try VerifiedTransaction(bytes: [UInt8](repeating: 1, count: 70_000), chainID: world.chainID) } throws: {
            ($0 as? LedgerError)?.code == .malformed
        }
        #expect { try SignedTransaction(signing: body, with: world.hospitalB) } throws: {
            ($0 as? LedgerError)?.code == .unauthorized
        }
        let verified = try VerifiedTransaction(bytes: signed.bytes, chainID: world.chainID)
        #expect(verified.id == Hashing.sha3(signed.bytes))
    }

    @Test("replays and stale nonces are refused; a rejected transaction does not use up its nonce")
    func nonces() throws {
        let world = try LedgerWorld()
        let patient = try world.enrollPatient()
        let practitioner = try world.enroll(.practitioner)
        let grant = try world.tx(patient.key, .consentGrant(world.grantPayload(patient, to: practitioner)))
        #expect(try world.commit([grant]).first.map { if case .accepted = $0 { true } else { false } } == true)
        // The very same bytes again: a replay.
        let replay = try world.commit([grant])[0]
        #expect({ if case .rejected(_, let e) = replay { e.code == .staleNonce } else { false } }())
        try world.reject(patient.key, .consentGrant(world.grantPayload(patient, to: practitioner)), .staleNonce, nonce: 1)
        // Gaps are allowed.
        try world.accept(patient.key, .consentGrant(world.grantPayload(patient, to: practitioner)))
        // A rejected transaction at nonce 50 leaves nonce 50 usable.
        try world.reject(patient.key, .consentGrant(world.grantPayload(patient, to: patient.key)), .invalidField, nonce: 50)
        let ok = try world.submit(patient.key, .consentGrant(world.grantPayload(patient, to: practitioner)), nonce: 50)
        #expect({ if case .accepted = ok { true } else { false } }())
    }

    @Test("an unknown signer is refused")
    func unknownSigner() throws {
        let world = try LedgerWorld()
        let stranger = try SecretKey()
        try world.reject(stranger, .breakGlass(BreakGlass(patient: .zero, reason: "x")), .unknownSigner)
    }

    @Test("a block mixing accepted and rejected transactions writes exactly what the accepted ones write")
    func rejectedChangesNothing() throws {
        let world = try LedgerWorld()
        let patient = try world.enrollPatient()
        let practitioner = try world.enroll(.practitioner)
        let good1 = try world.tx(patient.key, .consentGrant(world.grantPayload(patient, to: practitioner)))
        let bad = try world.tx(practitioner, .consentGrant(world.grantPayload(patient, to: practitioner)))
        let good2 = try world.tx(patient.key, .shadowRegister(world.shadowPayload(patient, Hashing.sha3([1]), ["neuro.mri"])))
        let context = BlockContext(height: world.height + 1, time: world.time + 5)
        let mixed = try world.machine.execute([good1, bad, good2], on: world.store, tree: world.tree, context: context)
        let clean = try world.machine.execute([good1, good2], on: world.store, tree: world.tree, context: context)
        #expect(mixed.batch.operations == clean.batch.operations)
        #expect(mixed.stateRoot == clean.stateRoot)
        #expect(mixed.results.count == 3)
        #expect({ if case .rejected(_, let e) = mixed.results[1] { e.code == .unauthorized } else { false } }())
    }
}

@Suite("enroll")
struct EnrollTests {
    @Test("an organization enrolls each role into itself; patients get a pseudonymous id and a history")
    func enroll() throws {
        let world = try LedgerWorld()
        for role in Role.allCases {
            let key = try world.enroll(role)
            let participant = try #require(try world.record(Participant.self, StateKey.participant(key.publicKey.keyID)))
            #expect(participant.role == role && participant.organization == "HOSP_A")
            #expect((participant.patientID != nil) == (role == .patient))
        }
        let patient = try world.enrollPatient()
        #expect(try world.history(patient.id).0.count == 1)
        #expect(try world.record(Hash32.self, StateKey.patient(patient.id)) == patient.key.publicKey.keyID)
    }

    @Test("non-organizations, foreign organizations and repeated keys are refused")
    func refused() throws {
        let world = try LedgerWorld()
        let practitioner = try world.enroll(.practitioner)
        let newcomer = try SecretKey()
        try world.reject(practitioner, .enroll(Enroll(key: newcomer.publicKey, role: .patient, organization: "HOSP_A")), .unauthorized)
        try world.reject(world.hospitalB, .enroll(Enroll(key: newcomer.publicKey, role: .patient, organization: "HOSP_A")), .unauthorized)
        try world.reject(world.hospitalA, .enroll(Enroll(key: practitioner.publicKey, role: .patient, organization: "HOSP_A")), .alreadyExists)
        try world.reject(world.hospitalA, .enroll(Enroll(key: world.hospitalB.publicKey, role: .patient, organization: "HOSP_A")), .alreadyExists)
    }
}

@Suite("shadow.register and shadow.erase")
struct ShadowTests {
    @Test("the patient registers versions in sequence; others need a write grant or register power")
    func register() throws {
        let world = try LedgerWorld()
        let patient = try world.enrollPatient()
        let practitioner = try world.enroll(.practitioner)
        let shadow = try world.registerShadow(patient)
        try world.reject(patient.key, .shadowRegister(world.shadowPayload(patient, shadow, ["neuro.mri"], 3)), .badSequence)
        _ = try world.registerShadow(patient, version: 2, shadow: shadow)
        try world.reject(patient.key, .shadowRegister(world.shadowPayload(patient, Hashing.sha3([9]), ["neuro.mri"], 2)), .badSequence)
        // A practitioner without a grant, with a read grant, then with a write grant.
        let newShadow = Hashing.sha3([7])
        try world.reject(practitioner, .shadowRegister(world.shadowPayload(patient, newShadow, ["neuro.eeg"])), .unauthorized)
        try world.accept(patient.key, .consentGrant(world.grantPayload(patient, to: practitioner, actions: .read)))
        try world.reject(practitioner, .shadowRegister(world.shadowPayload(patient, newShadow, ["neuro.eeg"])), .unauthorized)
        try world.accept(patient.key, .consentGrant(world.grantPayload(patient, to: practitioner, actions: [.read, .write])))
        try world.accept(practitioner, .shadowRegister(world.shadowPayload(patient, newShadow, ["neuro.eeg"])))
        // The write grant covers "neuro" only.
        try world.reject(practitioner, .shadowRegister(world.shadowPayload(patient, Hashing.sha3([8]), ["cardio.ecg"])), .unauthorized)
    }

    @Test("bad categories, unknown patients and foreign shadows are refused")
    func invalid() throws {
        let world = try LedgerWorld()
        let patient = try world.enrollPatient()
        let other = try world.enrollPatient()
        try world.reject(patient.key, .shadowRegister(world.shadowPayload(patient, Hashing.sha3([1]), ["Neuro MRI"])), .invalidField)
        try world.reject(patient.key, .shadowRegister(world.shadowPayload(patient, Hashing.sha3([1]), [])), .invalidField)
        let stranger = PatientKey(key: try SecretKey())
        try world.reject(patient.key, .shadowRegister(world.shadowPayload(stranger, Hashing.sha3([1]), ["neuro"])), .notFound)
        let theirs = try world.registerShadow(other)
        try world.reject(patient.key, .shadowRegister(world.shadowPayload(patient, theirs, ["neuro.mri"], 2)), .invalidField)
    }

    @Test("erasure is for ever, by the patient or a delegate with erase power only")
    func erase() throws {
        let world = try LedgerWorld()
        let patient = try world.enrollPatient()
        let practitioner = try world.enroll(.practitioner)
        let shadow = try world.registerShadow(patient)
        try world.reject(practitioner, .shadowErase(ShadowErase(shadow: shadow)), .unauthorized)
        try world.accept(patient.key, .shadowErase(ShadowErase(shadow: shadow)))
        #expect(try world.record(Shadow.self, StateKey.shadow(shadow))?.isErased == true)
        try world.reject(patient.key, .shadowErase(ShadowErase(shadow: shadow)), .erased)
        try world.reject(patient.key, .shadowRegister(world.shadowPayload(patient, shadow, ["neuro.mri"], 2)), .erased)
        try world.reject(patient.key, .consentGrant(world.grantPayload(patient, to: practitioner, categories: [], shadows: [shadow])), .erased)
        try world.reject(patient.key, .shadowErase(ShadowErase(shadow: Hashing.sha3([3]))), .notFound)
        // A caregiver with erase power over neuro erases a neuro shadow.
        let caregiver = try world.enroll(.caregiver)
        let second = try world.registerShadow(patient)
        try world.reject(caregiver, .shadowErase(ShadowErase(shadow: second)), .unauthorized)
        try world.accept(patient.key, .delegationGrant(DelegationGrant(patient: patient.id, delegate: caregiver.publicKey.keyID, powers: .erase, categories: ["neuro"], validUntil: nil)))
        try world.accept(caregiver, .shadowErase(ShadowErase(shadow: second)))
    }
}

@Suite("consent.grant and consent.revoke")
struct ConsentTests {
    @Test("the patient grants; the grant is stored, indexed and active in its period")
    func grant() throws {
        let world = try LedgerWorld()
        let patient = try world.enrollPatient()
        let practitioner = try world.enroll(.practitioner)
        let shadow = try world.registerShadow(patient)
        let receipt = try world.accept(patient.key, .consentGrant(world.grantPayload(patient, to: practitioner, categories: ["neuro"], shadows: [shadow])))
        let grantID = try #require(receipt.created)
        let grant = try #require(try world.record(Grant.self, StateKey.grant(grantID)))
        #expect(grant.isActive(at: world.time) && !grant.isActive(at: world.time + 90_000))
        #expect(grant.grantor == patient.key.publicKey.keyID && !grant.isBreakGlass)
        #expect(try world.store.get(StateKey.patientGrant(patient.id, grant.id)) != nil)
        #expect(try world.store.get(StateKey.granteeGrant(practitioner.publicKey.keyID, patient.id, grant.id)) != nil)
        // An ABE policy as grantee is stored as text.
        var policy = world.grantPayload(patient, to: practitioner)
        policy.grantee = .policy("HOSP_A.cardiologist or NEURO.neurologist")
        try world.accept(patient.key, .consentGrant(policy))
    }

    @Test("every invalid or unauthorized grant is refused with its code")
    func refused() throws {
        let world = try LedgerWorld()
        let patient = try world.enrollPatient()
        let other = try world.enrollPatient()
        let practitioner = try world.enroll(.practitioner)
        let stranger = try SecretKey()
        try world.reject(practitioner, .consentGrant(world.grantPayload(patient, to: practitioner)), .unauthorized)
        try world.reject(other.key, .consentGrant(world.grantPayload(patient, to: practitioner)), .unauthorized)
        try world.reject(patient.key, .consentGrant(world.grantPayload(patient, to: stranger)), .notFound)
        try world.reject(patient.key, .consentGrant(world.grantPayload(patient, to: practitioner, categories: [])), .invalidField)
        try world.reject(patient.key, .consentGrant(world.grantPayload(patient, to: practitioner, actions: [])), .invalidField)
        try world.reject(patient.key, .consentGrant(world.grantPayload(patient, to: practitioner, until: world.time - 1)), .invalidField)
        try world.reject(patient.key, .consentGrant(world.grantPayload(patient, to: practitioner, categories: ["bad category"])), .invalidField)
        let theirs = try world.registerShadow(other)
        try world.reject(patient.key, .consentGrant(world.grantPayload(patient, to: practitioner, categories: [], shadows: [theirs])), .invalidField)
        try world.reject(patient.key, .consentGrant(world.grantPayload(patient, to: practitioner, categories: [], shadows: [Hashing.sha3([5])])), .notFound)
        var emptyPolicy = world.grantPayload(patient, to: practitioner)
        emptyPolicy.grantee = .policy("")
        for malformed in ["HOSP_A.cardiologist or", "HOSP_A.x or HOSP_A.x", "cardiologist", "3 of (A.x, B.y)"] {
            var bad = world.grantPayload(patient, to: practitioner)
            bad.grantee = .policy(malformed)
            try world.reject(patient.key, .consentGrant(bad), .invalidField)
        }
        try world.reject(patient.key, .consentGrant(emptyPolicy), .invalidField)
    }

    @Test("a read grant carries key envelopes for covered, live shadows at their current version; the index finds them")
    func envelopes() throws {
        let world = try LedgerWorld()
        let patient = try world.enrollPatient()
        let other = try world.enrollPatient()
        let practitioner = try world.enroll(.practitioner)
        let mri = try world.registerShadow(patient, categories: ["neuro.mri"])
        let ecg = try world.registerShadow(patient, categories: ["cardio.ecg"])
        _ = try world.registerShadow(patient, version: 2, shadow: mri)
        let theirs = try world.registerShadow(other, categories: ["neuro.mri"])
        func grant(_ envelopes: [ShadowEnvelope], actions: Actions = .read, policy: Bool = false) -> Payload {
            var p = world.grantPayload(patient, to: practitioner, actions: actions, categories: ["neuro"])
            p.envelopes = envelopes
            if policy { p.grantee = .policy("HOSP_A.neurologist") }
            return .consentGrant(p)
        }
        let address = Hashing.sha3([7])
        let current = ShadowEnvelope(shadow: mri, version: 2, address: address)
        try world.reject(patient.key, grant([ShadowEnvelope(shadow: mri, version: 1, address: address)]), .badSequence)
        try world.reject(patient.key, grant([ShadowEnvelope(shadow: ecg, version: 1, address: address)]), .invalidField)
        try world.reject(patient.key, grant([ShadowEnvelope(shadow: theirs, version: 1, address: address)]), .invalidField)
        try world.reject(patient.key, grant([ShadowEnvelope(shadow: Hashing.sha3([9]), version: 1, address: address)]), .notFound)
        try world.reject(patient.key, grant([current, current]), .invalidField)
        try world.reject(patient.key, grant([current], actions: .write), .invalidField)
        try world.reject(patient.key, grant([current], policy: true), .invalidField)
        let receipt = try world.accept(patient.key, grant([current]))
        let id = try #require(receipt.created)
        #expect(try world.record(Grant.self, StateKey.grant(id))?.envelopes == [current])
        #expect(try world.record(ShadowEnvelope.self, StateKey.shadowGrantEnvelope(mri, id)) == current)
        // The indexes stay out of the state root: they are derived from the grant and registration records. Every
        // version of a shadow stays listed (erasure deletes them all).
        #expect(!StateKey.isAuthenticated(StateKey.shadowGrantEnvelope(mri, id)))
        #expect(try world.record(ShadowRegister.self, StateKey.shadowVersion(mri, 1))?.version == 1)
        #expect(try world.record(ShadowRegister.self, StateKey.shadowVersion(mri, 2))?.version == 2)
        #expect(!StateKey.isAuthenticated(StateKey.shadowVersion(mri, 1)))
        // An erased shadow takes no new envelopes.
        try world.accept(patient.key, .shadowErase(ShadowErase(shadow: mri)))
        try world.reject(patient.key, grant([current]), .erased)
    }

    @Test("revocation by the patient, the grantor or a delegate with revoke power; never twice")
    func revoke() throws {
        let world = try LedgerWorld()
        let patient = try world.enrollPatient()
        let practitioner = try world.enroll(.practitioner)
        let other = try world.enroll(.practitioner)
        let caregiver = try world.enroll(.caregiver)
        let first = try #require(try world.accept(patient.key, .consentGrant(world.grantPayload(patient, to: practitioner))).created)
        try world.reject(other, .consentRevoke(ConsentRevoke(grant: first)), .unauthorized)
        try world.reject(practitioner, .consentRevoke(ConsentRevoke(grant: first)), .unauthorized)
        try world.accept(patient.key, .consentRevoke(ConsentRevoke(grant: first)))
        let revoked = try #require(try world.record(Grant.self, StateKey.grant(first)))
        #expect(revoked.revokedHeight == world.height && revoked.revokedBy == patient.key.publicKey.keyID)
        #expect(!revoked.isActive(at: world.time))
        try world.reject(patient.key, .consentRevoke(ConsentRevoke(grant: first)), .alreadyRevoked)
        // The revoked grant, the patient's history head and the signer's nonce are all provable against the root.
        #expect(try world.proves(StateKey.grant(first)))
        #expect(try world.proves(StateKey.historyHead(patient.id)))
        #expect(try world.proves(StateKey.nonce(patient.key.publicKey.keyID)))
        #expect(!StateKey.isAuthenticated(StateKey.patientGrant(patient.id, first)))
        try world.reject(patient.key, .consentRevoke(ConsentRevoke(grant: Hashing.sha3([4]))), .notFound)
        // A delegate grants; after the delegation ends the delegate may still revoke what it granted.
        let delegation = try #require(try world.accept(patient.key, .delegationGrant(DelegationGrant(patient: patient.id, delegate: caregiver.publicKey.keyID, powers: .grant, categories: ["neuro"], validUntil: nil))).created)
        let byDelegate = try #require(try world.accept(caregiver, .consentGrant(world.grantPayload(patient, to: practitioner))).created)
        try world.accept(patient.key, .delegationRevoke(DelegationRevoke(delegation: delegation)))
        try world.accept(caregiver, .consentRevoke(ConsentRevoke(grant: byDelegate)))
    }
}

@Suite("delegation.grant and delegation.revoke")
struct DelegationTests {
    @Test("a delegate acts within scope and powers, cannot re-delegate, and loses power when revoked or expired")
    func delegation() throws {
        let world = try LedgerWorld()
        let patient = try world.enrollPatient()
        let caregiver = try world.enroll(.caregiver)
        let practitioner = try world.enroll(.practitioner)
        let another = try world.enroll(.caregiver)
        try world.reject(caregiver, .consentGrant(world.grantPayload(patient, to: practitioner)), .unauthorized)
        let id = try #require(try world.accept(patient.key, .delegationGrant(DelegationGrant(patient: patient.id, delegate: caregiver.publicKey.keyID, powers: [.grant, .revoke], categories: ["neuro"], validUntil: nil))).created)
        try world.accept(caregiver, .consentGrant(world.grantPayload(patient, to: practitioner, categories: ["neuro.mri"])))
        try world.reject(caregiver, .consentGrant(world.grantPayload(patient, to: practitioner, categories: ["cardio"])), .unauthorized)
        // No re-delegation, no revoking the delegation itself.
        try world.reject(caregiver, .delegationGrant(DelegationGrant(patient: patient.id, delegate: another.publicKey.keyID, powers: .grant, categories: [], validUntil: nil)), .unauthorized)
        try world.reject(caregiver, .delegationRevoke(DelegationRevoke(delegation: id)), .unauthorized)
        try world.accept(patient.key, .delegationRevoke(DelegationRevoke(delegation: id)))
        try world.reject(patient.key, .delegationRevoke(DelegationRevoke(delegation: id)), .alreadyRevoked)
        try world.reject(caregiver, .consentGrant(world.grantPayload(patient, to: practitioner)), .unauthorized)
        // An expiring delegation.
        try world.accept(patient.key, .delegationGrant(DelegationGrant(patient: patient.id, delegate: another.publicKey.keyID, powers: .grant, categories: [], validUntil: world.time + 12)))
        try world.accept(another, .consentGrant(world.grantPayload(patient, to: practitioner)))
        world.time += 10
        try world.reject(another, .consentGrant(world.grantPayload(patient, to: practitioner)), .unauthorized)
    }

    @Test("invalid delegations are refused")
    func invalid() throws {
        let world = try LedgerWorld()
        let patient = try world.enrollPatient()
        let caregiver = try world.enroll(.caregiver)
        try world.reject(patient.key, .delegationGrant(DelegationGrant(patient: patient.id, delegate: caregiver.publicKey.keyID, powers: [], categories: [], validUntil: nil)), .invalidField)
        try world.reject(patient.key, .delegationGrant(DelegationGrant(patient: patient.id, delegate: patient.key.publicKey.keyID, powers: .grant, categories: [], validUntil: nil)), .invalidField)
        try world.reject(patient.key, .delegationGrant(DelegationGrant(patient: patient.id, delegate: Hashing.sha3([1]), powers: .grant, categories: [], validUntil: nil)), .notFound)
        try world.reject(patient.key, .delegationGrant(DelegationGrant(patient: patient.id, delegate: caregiver.publicKey.keyID, powers: .grant, categories: [], validUntil: world.time)), .invalidField)
        try world.reject(world.hospitalA, .delegationGrant(DelegationGrant(patient: patient.id, delegate: caregiver.publicKey.keyID, powers: .grant, categories: [], validUntil: nil)), .unauthorized)
        try world.reject(patient.key, .delegationRevoke(DelegationRevoke(delegation: Hashing.sha3([2]))), .notFound)
    }
}

@Suite("authority, audit.anchor, break_glass, governance")
struct OtherRuleTests {
    @Test("an authority publishes its ABE key at epoch 1 once, rotates to higher epochs, raises attribute versions and records issuances")
    func authority() throws {
        let world = try LedgerWorld()
        let authority = try world.enroll(.authority, by: world.hospitalB, name: "HOSP_B")
        let sibling = try world.enroll(.authority, by: world.hospitalB, name: "HOSP_B")
        let practitioner = try world.enroll(.practitioner)
        var random = SeededRandom(seed: testSeed())
        func abeKey(_ name: String, _ epoch: UInt64) throws -> [UInt8] {
            try ABE.AuthoritySecretKey.generate(authority: name, epoch: epoch, using: &random).publicKey.bytes
        }
        let epoch1 = try abeKey("HOSP_B", 1), epoch2 = try abeKey("HOSP_B", 2)
        let cardiologist = [AttributeVersion(name: "cardiologist", version: 1)]
        let keys = AuthorityKeys(epoch: 1, key: epoch1, attributes: cardiologist)
        try world.reject(practitioner, .authorityPublish(keys), .unauthorized)
        try world.reject(authority, .authorityRotate(AuthorityKeys(epoch: 2, key: epoch2, attributes: cardiologist)), .notFound)
        try world.reject(authority, .authorityPublish(AuthorityKeys(epoch: 2, key: epoch2, attributes: cardiologist)), .badSequence)
        try world.reject(authority, .authorityPublish(AuthorityKeys(epoch: 2, key: epoch1, attributes: cardiologist)), .invalidField)
        try world.reject(authority, .authorityPublish(AuthorityKeys(epoch: 1, key: epoch1, attributes: [])), .invalidField)
        try world.reject(authority, .authorityPublish(AuthorityKeys(epoch: 1, key: [1, 2, 3], attributes: cardiologist)), .invalidField)
        try world.reject(authority, .authorityPublish(AuthorityKeys(epoch: 1, key: try abeKey("HOSP_A", 1), attributes: cardiologist)), .invalidField)
        try world.reject(authority, .authorityPublish(AuthorityKeys(
            epoch: 1, key: epoch1, attributes: [AttributeVersion(name: "cardiologist", version: 0)])), .invalidField)
        try world.reject(authority, .authorityPublish(AuthorityKeys(epoch: 1, key: epoch1, attributes: cardiologist + cardiologist)), .invalidField)
        try world.reject(authority, .authorityPublish(AuthorityKeys(
            epoch: 1, key: epoch1, attributes: [AttributeVersion(name: "cardio.logist", version: 1)])), .invalidField)
        try world.accept(authority, .authorityPublish(keys))
        try world.reject(sibling, .authorityPublish(keys), .alreadyExists)
        try world.reject(sibling, .authorityRotate(AuthorityKeys(epoch: 2, key: epoch2, attributes: cardiologist)), .unauthorized)

        // Attribute versions only go up, by authority.attributes or a rotation.
        let raised = [AttributeVersion(name: "cardiologist", version: 2)]
        try world.reject(sibling, .authorityAttributes(AuthorityAttributes(attributes: raised)), .unauthorized)
        try world.reject(authority, .authorityAttributes(AuthorityAttributes(attributes: cardiologist)), .badSequence)
        try world.accept(authority, .authorityAttributes(AuthorityAttributes(attributes: raised + [AttributeVersion(name: "nurse", version: 1)])))
        try world.reject(authority, .authorityRotate(AuthorityKeys(epoch: 2, key: epoch2, attributes: cardiologist)), .badSequence)
        try world.accept(authority, .authorityRotate(AuthorityKeys(epoch: 2, key: epoch2, attributes: raised)))
        try world.reject(authority, .authorityRotate(AuthorityKeys(epoch: 2, key: epoch2, attributes: raised)), .badSequence)
        let record = try #require(try world.record(Authority.self, StateKey.authority("HOSP_B")))
        #expect(record.epoch == 2 && record.publicKey == epoch2 && record.attributes == raised)

        // Issuances: at the attribute's current version and the current epoch, to an enrolled participant.
        let user = practitioner.publicKey.keyID, digest = Hashing.sha3([7])
        func issue(_ attribute: String, _ version: UInt64, _ epoch: UInt64, to user: Hash32) -> Payload {
            .attributeIssue(AttributeIssue(user: user, attribute: attribute, version: version, epoch: epoch, digest: digest))
        }
        try world.reject(authority, issue("cardiologist", 1, 2, to: user), .badSequence)
        try world.reject(authority, issue("cardiologist", 2, 1, to: user), .badSequence)
        try world.reject(authority, issue("nurse", 1, 2, to: user), .notFound)
        try world.reject(authority, issue("cardiologist", 2, 2, to: Hashing.sha3([9])), .notFound)
        try world.reject(sibling, issue("cardiologist", 2, 2, to: user), .unauthorized)
        try world.reject(practitioner, issue("cardiologist", 2, 2, to: user), .unauthorized)
        try world.accept(authority, issue("cardiologist", 2, 2, to: user))
        let issuance = try #require(try world.record(Issuance.self, StateKey.issuance(user, "HOSP_B", "cardiologist")))
        #expect(issuance.version == 2 && issuance.epoch == 2 && issuance.digest == digest && issuance.authority == "HOSP_B")
    }

    @Test("node keys and organizations anchor contiguous audit batches")
    func anchors() throws {
        let world = try LedgerWorld()
        let node = try world.enroll(.node)
        let practitioner = try world.enroll(.practitioner)
        try world.accept(node, .auditAnchor(AuditAnchor(root: Hashing.sha3([1]), firstSequence: 0, count: 10)))
        try world.reject(node, .auditAnchor(AuditAnchor(root: Hashing.sha3([2]), firstSequence: 11, count: 5)), .badSequence)
        try world.reject(node, .auditAnchor(AuditAnchor(root: Hashing.sha3([2]), firstSequence: 10, count: 0)), .invalidField)
        try world.accept(node, .auditAnchor(AuditAnchor(root: Hashing.sha3([2]), firstSequence: 10, count: 5)))
        try world.accept(world.hospitalA, .auditAnchor(AuditAnchor(root: Hashing.sha3([3]), firstSequence: 0, count: 1)))
        try world.reject(practitioner, .auditAnchor(AuditAnchor(root: Hashing.sha3([4]), firstSequence: 0, count: 1)), .unauthorized)
        #expect(try world.record(UInt64.self, StateKey.anchorHead(node.publicKey.keyID)) == 15)
    }

    @Test("break-glass: emergency role only, a reason, short-lived read of emergency categories, in the history")
    func breakGlass() throws {
        let world = try LedgerWorld()
        let patient = try world.enrollPatient()
        let emergency = try world.enroll(.emergency)
        let practitioner = try world.enroll(.practitioner)
        try world.reject(practitioner, .breakGlass(BreakGlass(patient: patient.id, reason: "collapsed")), .unauthorized)
        try world.reject(emergency, .breakGlass(BreakGlass(patient: patient.id, reason: "  ")), .invalidField)
        try world.reject(emergency, .breakGlass(BreakGlass(patient: Hashing.sha3([1]), reason: "collapsed")), .notFound)
        let receipt = try world.accept(emergency, .breakGlass(BreakGlass(patient: patient.id, reason: "unconscious on arrival")))
        let grantID = try #require(receipt.created)
        let grant = try #require(try world.record(Grant.self, StateKey.grant(grantID)))
        #expect(grant.isBreakGlass && grant.purpose == .emergencyTreatment && grant.actions == .read)
        #expect(grant.scope.categories == world.parameters.emergencyCategories)
        #expect(grant.validUntil == world.time + world.parameters.breakGlassSeconds)
        #expect(try world.history(patient.id).1.last == receipt.transaction)
    }

    @Test("validators.update needs approvals of more than 2/3 of the power in force and takes effect at H+2")
    func validatorUpdates() throws {
        let world = try LedgerWorld()
        let practitioner = try world.enroll(.practitioner)
        let newcomer = try SecretKey()
        let leaving = world.validatorKeys[3]
        let changes = [ValidatorChange(key: newcomer.publicKey, power: 2), ValidatorChange(key: leaving.publicKey, power: 0)]
        func approvals(_ keys: [SecretKey], basis: UInt64 = 0, _ changes: [ValidatorChange] = changes) throws -> [ValidatorApproval] {
            let message = ValidatorsUpdate.approvalBytes(chainID: world.chainID, basis: basis, changes: changes)
            return try keys.map { ValidatorApproval(validator: $0.publicKey.keyID, signature: try $0.sign(message)) }
                .sorted { $0.validator < $1.validator }
        }
        let three = Array(world.validatorKeys.prefix(3))
        let update = ValidatorsUpdate(basis: 0, changes: changes, approvals: try approvals(three))
        try world.reject(practitioner, .validatorsUpdate(update), .unauthorized)
        try world.reject(world.hospitalA, .validatorsUpdate(ValidatorsUpdate(basis: 0, changes: [], approvals: [])), .invalidField)
        let two = ValidatorsUpdate(basis: 0, changes: changes, approvals: try approvals(Array(three.prefix(2))))
        try world.reject(world.hospitalA, .validatorsUpdate(two), .unauthorized)  // 2 of 4 is not more than 2/3
        let stale = ValidatorsUpdate(basis: 1, changes: changes, approvals: try approvals(three, basis: 1))
        try world.reject(world.hospitalA, .validatorsUpdate(stale), .badSequence)
        var forged = update
        forged.approvals[0].signature = update.approvals[1].signature
        try world.reject(world.hospitalA, .validatorsUpdate(forged), .badSignature)
        var unsorted = update
        unsorted.approvals.reverse()
        try world.reject(world.hospitalA, .validatorsUpdate(unsorted), .invalidField)
        let outsider = ValidatorsUpdate(basis: 0, changes: changes, approvals: try approvals(Array(three.prefix(2)) + [newcomer]))
        try world.reject(world.hospitalA, .validatorsUpdate(outsider), .unauthorized)
        let removeStranger = [ValidatorChange(key: newcomer.publicKey, power: 0)]
        try world.reject(world.hospitalA, .validatorsUpdate(ValidatorsUpdate(
            basis: 0, changes: removeStranger, approvals: try approvals(three, removeStranger))), .notFound)

        let receipt = try world.accept(world.hospitalA, .validatorsUpdate(update))
        let height = world.height
        #expect(try world.record(ValidatorsUpdate.self, StateKey.validatorsUpdate(receipt.transaction)) == update)
        let schedule = try #require(try world.record(ValidatorSchedule.self, StateKey.validatorScheduleKey))
        let before = try #require(schedule.entry(at: height + 1))
        let after = try #require(schedule.entry(at: height + 2))
        #expect(before.version == 0 && before.validators.count == 4)
        #expect(after.version == 1 && after.effectiveHeight == height + 2)
        #expect(Set(after.validators.map(\.key)) == Set(three.map(\.publicKey) + [newcomer.publicKey]))
        #expect(try after.set().totalPower == 5)
        // While that change is pending, no other may be made; once in force, the new set approves the next.
        let next = [ValidatorChange(key: leaving.publicKey, power: 1)]
        let newSet = three + [newcomer]
        try world.reject(world.hospitalA, .validatorsUpdate(ValidatorsUpdate(
            basis: 1, changes: next, approvals: try approvals(newSet, basis: 1, next))), .badSequence)
        #expect(world.height == height + 1)
        try world.accept(world.hospitalA, .validatorsUpdate(ValidatorsUpdate(
            basis: 1, changes: next, approvals: try approvals(newSet, basis: 1, next))))
    }

    @Test("evidence: two signed conflicting votes of a validator of that height, recorded once per offense")
    func evidence() throws {
        let world = try LedgerWorld()
        let practitioner = try world.enroll(.practitioner)
        let validator = world.validatorKeys[0]
        func vote(_ block: Hash32?, height: UInt64 = 1, round: Int = 0, by key: SecretKey? = nil) throws -> [UInt8] {
            let key = key ?? validator
            let vote = Vote(chainID: world.chainID, height: height, round: round, type: .prevote, block: block, validator: key.publicKey.keyID)
            return Canonical.encode(try SignedVote(signing: vote, with: key))
        }
        let a = try vote(Hashing.sha3([1])), b = try vote(nil)
        try world.reject(practitioner, .evidenceSubmit(EvidenceSubmit(first: a, second: a)), .invalidField)
        try world.reject(practitioner, .evidenceSubmit(EvidenceSubmit(first: a, second: try vote(Hashing.sha3([1]), round: 1))), .invalidField)
        try world.reject(practitioner, .evidenceSubmit(EvidenceSubmit(first: [1], second: [2])), .invalidField)
        let stranger = try SecretKey()
        try world.reject(practitioner, .evidenceSubmit(EvidenceSubmit(
            first: try vote(Hashing.sha3([1]), by: stranger), second: try vote(nil, by: stranger))), .notFound)
        try world.reject(practitioner, .evidenceSubmit(EvidenceSubmit(
            first: try vote(Hashing.sha3([1]), height: 500), second: try vote(nil, height: 500))), .invalidField)
        var tampered = try Canonical.decode(SignedVote.self, from: b)
        tampered.signature = try Canonical.decode(SignedVote.self, from: a).signature
        try world.reject(practitioner, .evidenceSubmit(EvidenceSubmit(first: a, second: Canonical.encode(tampered))), .badSignature)
        // A validator's own key may submit it (the node that saw the double vote).
        try world.accept(world.validatorKeys[1], .evidenceSubmit(EvidenceSubmit(first: a, second: b)))
        let key = StateKey.evidence(validator: validator.publicKey.keyID, height: 1, round: 0, type: .prevote)
        #expect(try world.record(EvidenceRecord.self, key) != nil)
        try world.reject(practitioner, .evidenceSubmit(EvidenceSubmit(first: b, second: try vote(Hashing.sha3([2])))), .alreadyExists)
        // A validator key signs nothing else.
        try world.reject(world.validatorKeys[1], .auditAnchor(AuditAnchor(root: Hashing.sha3([1]), firstSequence: 0, count: 1)), .unknownSigner)
    }
}

@Suite("History chain")
struct HistoryTests {
    @Test("every consent-related transaction enters the patient's chain, in order, and the head recomputes")
    func chain() throws {
        let world = try LedgerWorld()
        let patient = try world.enrollPatient()
        let other = try world.enrollPatient()
        let practitioner = try world.enroll(.practitioner)
        let caregiver = try world.enroll(.caregiver)
        let emergency = try world.enroll(.emergency)
        var expected: [Hash32] = []
        let (enrolled, _) = try world.history(patient.id)
        #expect(enrolled.count == 1)
        expected.append(contentsOf: try world.history(patient.id).1)
        expected.append(try world.accept(patient.key, .shadowRegister(world.shadowPayload(patient, Hashing.sha3([1]), ["neuro.mri"]))).transaction)
        let g = try world.accept(patient.key, .consentGrant(world.grantPayload(patient, to: practitioner)))
        expected.append(g.transaction)
        expected.append(try world.accept(patient.key, .delegationGrant(DelegationGrant(patient: patient.id, delegate: caregiver.publicKey.keyID, powers: .all, categories: [], validUntil: nil))).transaction)
        expected.append(try world.accept(caregiver, .consentRevoke(ConsentRevoke(grant: try #require(g.created)))).transaction)
        expected.append(try world.accept(emergency, .breakGlass(BreakGlass(patient: patient.id, reason: "stroke"))).transaction)
        // Another patient's transactions and non-consent transactions do not enter this chain.
        _ = try world.registerShadow(other)
        try world.accept(world.hospitalA, .auditAnchor(AuditAnchor(root: .zero, firstSequence: 0, count: 1)))
        let (head, entries) = try world.history(patient.id)
        #expect(entries == expected)
        #expect(head.count == UInt64(expected.count))
        let recomputed = expected.reduce(HistoryHead.empty) { $0.appending($1) }
        #expect(recomputed == head)
        // Dropping or reordering any entry changes the head.
        #expect(expected.dropLast().reduce(HistoryHead.empty) { $0.appending($1) } != head)
        #expect(expected.reversed().reduce(HistoryHead.empty) { $0.appending($1) }.head != head.head)
    }
}
