// Determinism: a seeded random scenario (authorized and unauthorized transactions of every consent kind, several
// per block) run on MemoryStore and on LevelDBStore yields identical results and byte-identical state, and running
// it twice yields the same again. Set TWINLEDGER_SEED to replay a failure.
import Encoding
import KeyValue
import Ledger
import Storage
import TestSupport
import Testing
import TwinCrypto

/// Drives a world through `blocks` random blocks; returns every transaction result in order.
func randomScenario(_ world: LedgerWorld, seed: UInt64, blocks: Int) throws -> [TransactionResult] {
    var rng = SeededRandom(seed: seed)
    var patients: [PatientKey] = []
    for _ in 0..<4 { patients.append(PatientKey(key: try world.enroll(.patient))) }
    var others: [SecretKey] = []
    for role in [Role.practitioner, .practitioner, .caregiver, .researcher, .emergency] {
        others.append(try world.enroll(role))
    }
    var shadows: [Hash32] = []
    var grants: [Hash32] = []
    var delegations: [Hash32] = []
    var results: [TransactionResult] = []
    let categories = ["neuro", "neuro.mri", "cardio.ecg", "emergency", "medication"]
    for _ in 0..<blocks {
        var block: [VerifiedTransaction] = []
        for _ in 0..<Int.random(in: 1...6, using: &rng) {
            let patient = patients.randomElement(using: &rng)!
            // Mostly the patient signs; sometimes someone else does, to exercise refusals.
            let signer = Int.random(in: 0..<4, using: &rng) == 0 ? others.randomElement(using: &rng)! : patient.key
            let other = others.randomElement(using: &rng)!
            let payload: Payload
            switch Int.random(in: 0..<8, using: &rng) {
            case 0:
                let id = Hashing.sha3(rng.bytes(8))
                shadows.append(id)
                payload = .shadowRegister(world.shadowPayload(patient, id, [categories.randomElement(using: &rng)!]))
            case 1, 2:
                payload = .consentGrant(world.grantPayload(
                    patient, to: other, actions: Actions(rawValue: UInt64.random(in: 1...7, using: &rng)),
                    categories: [categories.randomElement(using: &rng)!],
                    shadows: shadows.isEmpty || Bool.random(using: &rng) ? [] : [shadows.randomElement(using: &rng)!]
                ))
            case 3:
                payload = .consentRevoke(ConsentRevoke(grant: grants.randomElement(using: &rng) ?? .zero))
            case 4:
                payload = .delegationGrant(DelegationGrant(
                    patient: patient.id, delegate: other.publicKey.keyID,
                    powers: DelegatedPowers(rawValue: UInt64.random(in: 1...15, using: &rng)),
                    categories: Bool.random(using: &rng) ? [] : [categories.randomElement(using: &rng)!],
                    validUntil: Bool.random(using: &rng) ? nil : world.time + UInt64.random(in: 1...60, using: &rng)
                ))
            case 5:
                payload = .delegationRevoke(DelegationRevoke(delegation: delegations.randomElement(using: &rng) ?? .zero))
            case 6:
                payload = .shadowErase(ShadowErase(shadow: shadows.randomElement(using: &rng) ?? .zero))
            default:
                payload = .breakGlass(BreakGlass(patient: patient.id, reason: "emergency"))
            }
            block.append(try world.tx(signer, payload))
        }
        let blockResults = try world.commit(block)
        for result in blockResults {
            guard case .accepted(let receipt) = result, let created = receipt.created else { continue }
            switch receipt.kind {
            case "consent.grant", "break_glass": grants.append(created)
            case "delegation.grant": delegations.append(created)
            default: break
            }
        }
        results.append(contentsOf: blockResults)
    }
    return results
}

@Suite("Determinism")
struct DeterminismTests {
    @Test("the same scenario on MemoryStore and LevelDB gives identical results and state; twice the same")
    func sameEverywhere() throws {
        let seed = testSeed()
        let dir = try makeTemporaryDirectory("ledger")
        defer { removeTemporaryDirectory(dir) }
        let level = try LevelDBStore(path: dir + "/state")
        defer { level.close() }
        let worlds = [try LedgerWorld(seed: seed), try LedgerWorld(store: level, seed: seed), try LedgerWorld(seed: seed)]
        let runs = try worlds.map { try randomScenario($0, seed: seed ^ 0xD1CE, blocks: 60) }
        #expect(runs[0] == runs[1], "seed \(seed): LevelDB and memory results differ")
        #expect(runs[0] == runs[2], "seed \(seed): two runs differ")
        let dumps = try worlds.map { try $0.dump() }
        #expect(dumps[0] == dumps[1] && dumps[0] == dumps[2], "seed \(seed): states differ")
        // The state root is the reference root of exactly the authenticated entries, on every store.
        let authenticated = Dictionary(uniqueKeysWithValues: dumps[1].filter { StateKey.isAuthenticated($0.key) }
            .map { ($0.key, $0.value) })
        #expect(worlds[1].lastRoot == referenceRoot(authenticated), "seed \(seed): state root")
        #expect(Set(worlds.map(\.lastRoot)).count == 1)
        #expect(try StateTree.root(level) == worlds[1].lastRoot)
        // Every authenticated entry, and a few absent keys, prove against the root.
        for key in authenticated.keys.prefix(200) { #expect(try worlds[1].proves(key)) }
        for i in 0..<20 { #expect(try worlds[1].proves(StateKey.grant(Hashing.sha3([UInt8(i), 0xEE])))) }
        // The scenario must exercise both outcomes to mean anything.
        let accepted = runs[0].filter { if case .accepted = $0 { true } else { false } }.count
        #expect(accepted > 40 && runs[0].count - accepted > 20, "seed \(seed): \(accepted) of \(runs[0].count) accepted")
    }
}
