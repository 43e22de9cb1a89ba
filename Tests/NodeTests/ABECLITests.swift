// Attribute-based encryption end to end through the wallet and a real four-validator consortium: two authorities in
// different organizations publish their ABE keys (`authority init`) and issue attribute keys to practitioners
// (`authority issue-key`, each recorded on the ledger); a patient puts a shadow wrapped under
// "(ORG_0.cardiologist and ORG_0.staff) or ORG_1.neurologist" and grants that policy read access; the cardiologist
// who is staff and the neurologist (on another node) read it, a practitioner holding only half of the AND is refused
// by the node, and one holding another user's key files cannot open it. Authority ORG_0 rotates: the envelope counts
// as stale in /metrics, the old issuances no longer satisfy the grant, re-issued keys of the new epoch do not open
// the old envelope, and the next version, wrapped under the new epoch, opens with them and clears the count; after a
// second rotation `shadow rewrap` re-wraps the same version on demand.
import Encoding
import Foundation
import Ledger
import TestSupport
import Testing
import TwinCrypto

@Suite("ABE CLI (real consortium)", .serialized, .realProcesses)
struct ABECLITests {
    @Test("a shadow under a two-authority policy is read by exactly the holders who satisfy it; rotation and re-wrap through the ledger")
    func policyShadow() async throws {
        let dir = try makeTemporaryDirectory("abe-cli")
        defer { removeTemporaryDirectory(dir) }
        let consortium = try ConsortiumProcesses(dir, validators: 4, followers: 0)
        defer { consortium.stopAll() }
        try await consortium.startAll()
        try await consortium.waitHeight(consortium.members.map(\.name), atLeast: 1)
        func run(_ arguments: [String], on member: String = "v0") throws -> (status: Int32, output: String) {
            try cli(arguments, environment: consortium.wallet(member).merging(["NEURO_SECRET": "correct horse battery"]) { a, _ in a })
        }
        func key(_ name: String, _ role: String, by member: String = "v0") throws -> String {
            try consortium.participant(name, role, by: member)
        }
        let patient = try key("patient", "patient")
        let heart = try key("heart", "authority"), neuro = try key("neuro", "authority", by: "v1")
        let cardiologist = try key("cardiologist", "practitioner"), neurologist = try key("neurologist", "practitioner")
        let half = try key("half", "practitioner")

        // Two authorities publish; each issues keys for its own attributes.
        var (status, output) = try run(["authority", "init", "--key", heart, "--attributes", "cardiologist,staff", "--out", dir + "/heart-1.abe"])
        #expect(status == 0 && output.contains("authority.publish accepted"), "\(output)")
        // ORG_1 seals its master secret with a passphrase.
        (status, output) = try run(["authority", "init", "--key", neuro, "--attributes", "neurologist", "--out", dir + "/neuro-1.abe",
                                    "--secret-passphrase-env", "NEURO_SECRET"], on: "v1")
        #expect(status == 0, "\(output)")
        let sealedFile = try String(contentsOfFile: dir + "/neuro-1.abe", encoding: .utf8)
        #expect(sealedFile.contains("\"sealed\"") && !sealedFile.contains("\"key\""), "\(sealedFile)")
        func issue(_ authority: String, _ secret: String, _ user: String, _ attribute: String, _ out: String) throws {
            let passphrase = secret.contains("neuro") ? ["--secret-passphrase-env", "NEURO_SECRET"] : []
            let (status, output) = try run(["authority", "issue-key", "--key", authority, "--secret", secret, "--user-key-file", user,
                                            "--attr", attribute, "--out", dir + "/" + out] + passphrase)
            #expect(status == 0 && output.contains("attribute.issue accepted"), "\(output)")
        }
        try issue(heart, dir + "/heart-1.abe", cardiologist, "cardiologist", "c-card.abekey")
        try issue(heart, dir + "/heart-1.abe", cardiologist, "staff", "c-staff.abekey")
        (status, output) = try run(["authority", "issue-key", "--key", neuro, "--secret", dir + "/neuro-1.abe", "--user-key-file",
                                    neurologist, "--attr", "neurologist", "--out", dir + "/unsealed.abekey"])
        #expect(status != 0 && output.contains("sealed"), "a sealed master secret needs its passphrase: \(output)")
        try issue(neuro, dir + "/neuro-1.abe", neurologist, "neurologist", "n-neuro.abekey")
        try issue(heart, dir + "/heart-1.abe", half, "cardiologist", "h-card.abekey")
        (status, output) = try run(["authority", "show", "ORG_0"])
        #expect(status == 0 && output.contains("epoch 1") && output.contains("ORG_0.staff#1"), "\(output)")

        // The patient wraps a shadow under the policy and grants the policy read access.
        let policy = "(ORG_0.cardiologist and ORG_0.staff) or ORG_1.neurologist"
        var random = SeededRandom(seed: 53)
        let plaintext = random.bytes((1 << 20) + 777)
        try Data(plaintext).write(to: URL(fileURLWithPath: dir + "/scan.bin"))
        (status, output) = try run(["shadow", "put", "--key", patient, "--categories", "neuro.mri", "--policy", policy, dir + "/scan.bin"])
        #expect(status == 0 && output.contains("under the policy") && output.contains("ORG_0 epoch 1"), "\(output)")
        let shadow = output.components(separatedBy: "shadow id ").last?.prefix(64).description ?? ""
        #expect(shadow.count == 64, "\(output)")
        (status, output) = try run(["consent", "grant", "--key", patient, "--policy", policy, "--categories", "neuro"])
        #expect(status == 0 && output.contains("consent.grant accepted"), "\(output)")

        func read(_ who: String, _ keys: [String], on member: String = "v0", out: String) throws -> (Int32, String) {
            try run(["shadow", "get", "--key", who, "--shadow", shadow, "--purpose", "TREAT",
                     "--attribute-keys", keys.map { dir + "/" + $0 }.joined(separator: ","), "--out", dir + "/" + out], on: member)
        }
        func content(_ out: String) -> Hash32 { Hashing.sha3(Array((try? Data(contentsOf: URL(fileURLWithPath: dir + "/" + out))) ?? Data())) }
        (status, output) = try read(cardiologist, ["c-card.abekey", "c-staff.abekey"], out: "card.bin")
        #expect(status == 0, "\(output)")
        #expect(content("card.bin") == Hashing.sha3(plaintext))
        // The neurologist reads on another node, once the envelope and chunks replicated there.
        var neuroRead = (Int32(1), "")
        for _ in 0..<40 {
            neuroRead = try read(neurologist, ["n-neuro.abekey"], on: "v2", out: "neuro.bin")
            if neuroRead.0 == 0 { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        #expect(neuroRead.0 == 0 && content("neuro.bin") == Hashing.sha3(plaintext), "\(neuroRead.1)")
        // Half of the AND: the node refuses; another user's key files do not open the envelope either.
        (status, output) = try read(half, ["h-card.abekey"], out: "half.bin")
        #expect(status != 0 && output.contains("attributes_not_held"), "\(output)")
        (status, output) = try read(neurologist, ["c-card.abekey", "c-staff.abekey"], out: "stolen.bin")
        #expect(status != 0 && output.contains("not_satisfied"), "\(output)")

        // ORG_0 rotates: the envelope is on an old epoch, and the old issuances no longer count.
        (status, output) = try run(["authority", "rotate", "--key", heart, "--out", dir + "/heart-2.abe"])
        #expect(status == 0 && output.contains("epoch 2"), "\(output)")
        #expect(try await consortium.metric("v0", "twinledger_abe_envelopes_stale") == 1)
        (status, output) = try read(cardiologist, ["c-card.abekey", "c-staff.abekey"], out: "card2.bin")
        #expect(status != 0 && output.contains("attributes_not_held"), "\(output)")
        try issue(heart, dir + "/heart-2.abe", cardiologist, "cardiologist", "c-card-2.abekey")
        try issue(heart, dir + "/heart-2.abe", cardiologist, "staff", "c-staff-2.abekey")
        (status, output) = try read(cardiologist, ["c-card-2.abekey", "c-staff-2.abekey"], out: "card2.bin")
        #expect(status != 0 && output.contains("not_satisfied"), "the epoch-2 keys do not open an epoch-1 envelope: \(output)")
        // The next write wraps under the current epochs.
        (status, output) = try run(["shadow", "put", "--key", patient, "--categories", "neuro.mri", "--shadow", shadow, "--version", "2",
                                    "--policy", policy, dir + "/scan.bin"])
        #expect(status == 0 && output.contains("ORG_0 epoch 2"), "\(output)")
        #expect(try await consortium.metric("v0", "twinledger_abe_envelopes_stale") == 0)
        (status, output) = try read(cardiologist, ["c-card-2.abekey", "c-staff-2.abekey"], out: "card3.bin")
        #expect(status == 0 && content("card3.bin") == Hashing.sha3(plaintext), "\(output)")

        // Another rotation, re-wrapped on demand: same version, new envelope, the epoch-3 keys open it.
        (status, output) = try run(["authority", "rotate", "--key", heart, "--out", dir + "/heart-3.abe"])
        #expect(status == 0, "\(output)")
        #expect(try await consortium.metric("v0", "twinledger_abe_envelopes_stale") == 1)
        (status, output) = try run(["shadow", "rewrap", "--key", patient])
        #expect(status == 0 && output.contains("shadow.rewrap accepted") && output.contains("re-wrapped 1 shadow(s)"), "\(output)")
        #expect(try await consortium.metric("v0", "twinledger_abe_envelopes_stale") == 0)
        (status, output) = try run(["shadow", "rewrap", "--key", patient])
        #expect(status == 0 && output.contains("re-wrapped 0 shadow(s); 1 already under the current epochs"), "\(output)")
        try issue(heart, dir + "/heart-3.abe", cardiologist, "cardiologist", "c-card-3.abekey")
        try issue(heart, dir + "/heart-3.abe", cardiologist, "staff", "c-staff-3.abekey")
        (status, output) = try read(cardiologist, ["c-card-3.abekey", "c-staff-3.abekey"], out: "card4.bin")
        #expect(status == 0 && content("card4.bin") == Hashing.sha3(plaintext), "\(output)")
        (status, output) = try read(neurologist, ["n-neuro.abekey"], out: "neuro2.bin")
        #expect(status == 0 && content("neuro2.bin") == Hashing.sha3(plaintext), "ORG_1 did not rotate: \(output)")
    }
}
