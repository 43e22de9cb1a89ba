// Key rotation end to end on real processes (Docs/consensus.md, "Consensus key rotation"; Docs/transactions.md,
// "Key rotation"): a validator of four rotates its consensus key with `twinledger validator rotate-key` while the
// consortium runs; from the announced height its new key signs (shown by stopping another validator, so that no
// quorum forms without it), across a restart of its process, and an auditor's light client follows the change. A
// patient rotates with `twinledger keys rotate`: the old key is refused, grants and history stay, and shadows stored
// before the rotation still open.
import API
import Encoding
import Foundation
import Ledger
import TestSupport
import Testing
import TwinCrypto

@Suite("Key rotation (real processes)", .realProcesses)
struct KeyRotationCLITests {
    func consortium(_ net: ConsortiumProcesses, _ name: String) async throws -> ConsortiumResponse {
        try JSONDecoder().decode(ConsortiumResponse.self, from: try await net.get(name, "/v1/consortium").0)
    }

    /// Waits until `name`'s last commit is at or above `height` and signed by `key`; returns the signers seen.
    func waitSigned(_ net: ConsortiumProcesses, _ name: String, by key: String, from height: UInt64, seconds: Int = 120) async throws -> [String] {
        for _ in 0..<(seconds * 5) {
            if let commit = try? await consortium(net, name).lastCommit, commit.height >= height, commit.signers.contains(key) {
                return commit.signers
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw ProcessTestError("no commit at or above height \(height) signed by \(key.prefix(16)) within \(seconds) s")
    }

    @Test("validator rotate-key: the new key signs from H+2, without the old one, across a restart; the light client follows; a patient's keys rotate keeping grants, history and shadows")
    func rotate() async throws {
        let dir = try makeTemporaryDirectory("key-rotation")
        defer { removeTemporaryDirectory(dir) }
        let net = try ConsortiumProcesses(dir, validators: 4)
        defer { net.stopAll() }
        try await net.startAll()
        try await net.waitHeight(["v0", "v1", "v2", "v3"], atLeast: 2, seconds: 120)
        let v1 = net.member("v1")
        let oldID = try KeyFile.load(from: v1.home + "/keys/validator.key").publicKey.keyID.hex

        // A patient with a grant and a shadow, before any rotation.
        let patient = try net.participant("patient", "patient"), doctor = try net.participant("doctor", "practitioner")
        let pid = patientID(for: try KeyFile.load(from: patient).publicKey).hex
        let env = net.wallet("v0")
        var random = SeededRandom(seed: 11)
        try Data(random.bytes(70_000)).write(to: URL(fileURLWithPath: dir + "/scan.bin"))
        let (putStatus, putOutput) = try cli(["shadow", "put", "--key", patient, "--categories", "neuro.mri", dir + "/scan.bin"], environment: env)
        #expect(putStatus == 0, "\(putOutput)")
        let shadow = putOutput.components(separatedBy: "shadow id ").last?.prefix(64).description ?? ""
        let (grantStatus, grantOutput) = try cli(["consent", "grant", "--key", patient, "--to-key-file", doctor, "--categories", "neuro"],
                                                 environment: env)
        #expect(grantStatus == 0, "\(grantOutput)")
        let grantID = grantOutput.components(separatedBy: "transaction ").last?.prefix(64).description ?? ""

        // The validator rotates through its own node.
        let (rotated, rotatedOutput) = try cli(["validator", "rotate-key", "--home", v1.home, "--json"], environment: net.wallet("v1"))
        #expect(rotated == 0, "\(rotatedOutput)")
        let report = try jsonObject(in: rotatedOutput)
        let effective = UInt64(report["effective_height"] as? Int ?? 0)
        let newID = report["new_key_id"] as? String ?? ""
        #expect(report["old_key_id"] as? String == oldID && newID.count == 64 && effective > 2)
        #expect(FileManager.default.fileExists(atPath: v1.home + "/keys/consensus-\(newID).key"))

        // From the effective height the set names the new key, and v1's node signs with it (no restart).
        try await net.waitHeight(["v0", "v1", "v2", "v3"], atLeast: effective, seconds: 120)
        let sets = try await consortium(net, "v2").validatorSets
        let current = try #require(sets.first { $0.effectiveHeight <= effective && $0.version == 1 })
        #expect(current.validators.map(\.keyID).contains(newID) && !current.validators.map(\.keyID).contains(oldID))
        let signers = try await waitSigned(net, "v2", by: newID, from: effective)
        #expect(!signers.contains(oldID))
        let log = try String(contentsOfFile: dir + "/v1.log", encoding: .utf8)
        #expect(log.contains("another consensus key from this height"), "v1 says it switched keys")

        // With v0 stopped, no quorum forms without v1 (three of four): commits going on mean v1's new key counts.
        // v1 restarts meanwhile: it reads keys/consensus-*.key at start and signs with the new key again.
        net.stop("v0")
        net.stop("v1")
        try net.start("v1")
        try await net.waitHealthy("v1")
        let resumed = try await net.height("v2")
        try await net.waitHeight(["v1", "v2", "v3"], atLeast: resumed + 3, seconds: 180)
        let after = try await waitSigned(net, "v2", by: newID, from: resumed + 1)
        #expect(!after.contains(oldID) && after.count == 3)
        try net.start("v0")
        try await net.waitHealthy("v0")

        // The patient rotates. The old key is refused from then on; the new one keeps the patient's id.
        let (keyRotated, keyOutput) = try cli(["keys", "rotate", "--key", patient, "--out", dir + "/patient2.key"], environment: env)
        #expect(keyRotated == 0 && keyOutput.contains("key.rotate accepted"), "\(keyOutput)")
        let patient2 = dir + "/patient2.key"
        let (oldStatus, oldOutput) = try cli(["consent", "revoke", "--key", patient, "--grant", grantID], environment: env)
        #expect(oldStatus != 0 && oldOutput.contains("unauthorized"), "\(oldOutput)")
        let account = try JSONDecoder().decode(AccountResponse.self, from: try await net.get("v2", "/v1/accounts/\(try KeyFile.load(from: patient2).publicKey.keyID.hex)").0)
        #expect(account.participant?.patientID == pid)
        // The grant is still there and active; the doctor's read still works through it.
        let (_, activeList) = try cli(["consent", "list", "--patient", pid, "--active"], environment: env)
        #expect(activeList.contains(String(grantID.prefix(16)) + "… active"), "\(activeList)")
        // The shadow stored before the rotation opens with the new key, the old key file opening its envelope.
        let (getStatus, getOutput) = try cli(["shadow", "get", "--key", patient2, "--previous-keys", patient, "--shadow", shadow,
                                              "--out", dir + "/back.bin"], environment: net.wallet("v3"))
        #expect(getStatus == 0, "\(getOutput)")
        #expect((try? Data(contentsOf: URL(fileURLWithPath: dir + "/back.bin"))) == (try? Data(contentsOf: URL(fileURLWithPath: dir + "/scan.bin"))))
        // The new key acts as the patient: it revokes the grant the old one made.
        let (revoked, revokedOutput) = try cli(["consent", "revoke", "--key", patient2, "--grant", grantID], environment: env)
        #expect(revoked == 0, "\(revokedOutput)")

        // An auditor's light client, trusting only the genesis file, follows the validator change and verifies the
        // patient's history (grant, rotation, revocation) on two nodes.
        let head = try await net.height("v0")
        try await net.waitHeight(["v0", "v2"], atLeast: head, seconds: 60)
        let (auditStatus, auditOutput) = try cli(["audit", "verify", "--genesis", v1.home + "/genesis.json", "--patient", pid, "--json",
                                                  "--node", net.wallet("v0")["TWINLEDGER_NODE"] ?? "", "--node", net.wallet("v2")["TWINLEDGER_NODE"] ?? ""])
        let audit = try jsonObject(in: auditOutput)
        #expect(auditStatus == 0 && (audit["verdict"] as? String)?.hasPrefix("VERIFIED") == true, "\(auditOutput)")
        let timeline = audit["timeline"] as? [[String: Any]] ?? []
        #expect(timeline.contains { $0["kind"] as? String == "key.rotate" && $0["actor"] as? String == "the patient" }, "\(timeline)")
        #expect(timeline.contains { $0["kind"] as? String == "consent.revoke" && $0["actor"] as? String == "the patient" },
                "the revocation signed with the new key is the patient's: \(timeline)")
        let followed = (audit["validator_sets"] as? [[String: Any]] ?? []).first { $0["version"] as? Int == 1 }
        let members = (followed?["validators"] as? [String] ?? []).map { String($0.prefix(64)) }
        #expect(followed?["effective_height"] as? Int == Int(effective) && members.contains(newID) && !members.contains(oldID),
                "the light client's set from H+2 has the new key: \(String(describing: followed))")
        _ = try await net.agreement(["v0", "v1", "v2", "v3"])
    }
}
