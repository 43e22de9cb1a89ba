// The wallet's shadow commands with a real node process: a patient encrypts a multi-chunk file on the client, uploads
// it and registers it (`shadow put`), with the data key wrapped for a practitioner too; the patient downloads,
// checks and decrypts it back byte for byte (`shadow get`); the practitioner is refused until a grant allows the
// read, then gets the same bytes; the patient lists the four reads with proofs against the anchored roots (and the
// practitioner may not list them); a FHIR Bundle is labelled with the resource types it holds.
// Through a four-validator consortium: `consent grant` wraps the data key for a grantee who had none, and the grantee
// reads on another node once the envelope replicated there; a new version wraps its new key for the holders of
// active read grants; revocation refuses the grantee; erasure deletes every version's blobs and the grant's envelope
// on every node.
import API
import Encoding
import Foundation
import Ledger
import TestSupport
import Testing
import TwinCrypto

@Suite("Shadow CLI (real node process)", .serialized, .realProcesses)
struct ShadowCLITests {
    @Test("shadow put encrypts and uploads; shadow get decrypts for the patient, and for a practitioner once granted")
    func putAndGet() async throws {
        let dir = try makeTemporaryDirectory("shadow-cli")
        defer { removeTemporaryDirectory(dir) }
        let node = try NodeProcess(home: dir + "/home")
        try await node.start()
        defer { _ = node.stop() }
        let env = node.wallet
        let patient = try node.participant("patient", "patient", in: dir), doctor = try node.participant("doctor", "practitioner", in: dir)
        let doctorPublic = try cli(["keys", "show", doctor]).output.components(separatedBy: "\n")
            .first { $0.hasPrefix("public key:") }?.split(separator: " ").last.map(String.init) ?? ""
        #expect(doctorPublic.count == 64)

        // Two and a half segments of plaintext.
        var random = SeededRandom(seed: 31)
        let plaintext = random.bytes(2 * (1 << 20) + 12_345)
        let input = dir + "/scan.bin"
        try Data(plaintext).write(to: URL(fileURLWithPath: input))
        let (putStatus, putOutput) = try cli(["shadow", "put", "--key", patient, "--categories", "neuro.mri",
                                               "--recipients", doctorPublic, input], environment: env)
        #expect(putStatus == 0 && putOutput.contains("shadow.register accepted"), "\(putOutput)")
        let shadow = putOutput.components(separatedBy: "\n").first { $0.contains("shadow id") }?
            .components(separatedBy: "shadow id ").last?.prefix(64).description ?? ""
        #expect(shadow.count == 64, "\(putOutput)")
        #expect(putOutput.contains("in 3 chunks") && putOutput.contains("wrapped for 2 key(s)"), "\(putOutput)")
        // The node holds ciphertext: no chunk of it is the plaintext's.
        #expect(!putOutput.contains("application/fhir"))

        // The patient reads it back.
        let (getStatus, getOutput) = try cli(["shadow", "get", "--key", patient, "--shadow", shadow, "--out", dir + "/back.bin"], environment: env)
        #expect(getStatus == 0 && getOutput.contains("checked, decrypted"), "\(getOutput)")
        #expect(Hashing.sha3(Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/back.bin")))) == Hashing.sha3(plaintext))

        // The practitioner holds an envelope but no grant: refused by the node. Granted: the same bytes.
        let (refusedStatus, refusedOutput) = try cli(["shadow", "get", "--key", doctor, "--shadow", shadow, "--purpose", "TREAT",
                                                       "--out", dir + "/doctor.bin"], environment: env)
        #expect(refusedStatus != 0 && refusedOutput.contains("no_grant"), "\(refusedOutput)")
        let leaked = (try? Data(contentsOf: URL(fileURLWithPath: dir + "/doctor.bin"))) ?? Data()
        #expect(leaked.isEmpty, "nothing is written for a refused read")
        // The practitioner's key came with the put: the grant carries none.
        let (grantStatus, grantOutput) = try cli(["consent", "grant", "--key", patient, "--to-key-file", doctor, "--categories", "neuro",
                                                  "--without-keys"], environment: env)
        #expect(grantStatus == 0 && !grantOutput.contains("wrapped"), "\(grantOutput)")
        let (_, activeList) = try cli(["consent", "list", "--patient", patientID(for: try KeyFile.load(from: patient).publicKey).hex, "--active"], environment: env)
        #expect(activeList.contains(": 1") && activeList.contains("active"), "\(activeList)")
        let (grantedStatus, grantedOutput) = try cli(["shadow", "get", "--key", doctor, "--shadow", shadow, "--purpose", "TREAT",
                                                       "--out", dir + "/doctor.bin"], environment: env)
        #expect(grantedStatus == 0, "\(grantedOutput)")
        #expect(Hashing.sha3(Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/doctor.bin")))) == Hashing.sha3(plaintext))

        // The patient sees the four reads (their own envelope and payload, then the practitioner's), each proven
        // against the root the node anchors on the ledger (within its 10 s batching interval).
        var listed = ""
        for _ in 0..<60 {
            listed = try cli(["access", "list", "--key", patient], environment: env).output
            if listed.components(separatedBy: ": verified").count - 1 == 4 { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        #expect(listed.contains("served by this node: 4") && listed.components(separatedBy: ": verified").count - 1 == 4, "\(listed)")
        #expect(listed.contains("for TREAT, under grant") && listed.contains("for PATRQT, the patient"), "\(listed)")
        let (_, doctorList) = try cli(["access", "list", "--key", doctor], environment: env)
        #expect(doctorList.contains("no_grant"), "only the patient lists the accesses: \(doctorList)")

        // A FHIR Bundle is recognised and labelled with its resource types.
        let bundle = #"{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","id":"p1"}},{"resource":{"resourceType":"Observation","id":"o1","status":"final"}}]}"#
        try bundle.write(toFile: dir + "/bundle.json", atomically: true, encoding: .utf8)
        let (fhirStatus, fhirOutput) = try cli(["shadow", "put", "--key", patient, "--categories", "cardio", dir + "/bundle.json"], environment: env)
        #expect(fhirStatus == 0 && fhirOutput.contains("application/fhir+json;bundle=Observation,Patient"), "\(fhirOutput)")
    }

    @Test("consent grant carries the data key to a grantee, read on another node; new versions re-wrap; erasure takes all versions")
    func grantCarriesKey() async throws {
        let dir = try makeTemporaryDirectory("shadow-grant")
        defer { removeTemporaryDirectory(dir) }
        let consortium = try ConsortiumProcesses(dir, validators: 4, followers: 0)
        defer { consortium.stopAll() }
        try await consortium.startAll()
        try await consortium.waitHeight(consortium.members.map(\.name), atLeast: 1)
        func on(_ member: String) -> [String: String] { consortium.wallet(member) }
        func key(_ name: String, _ role: String) throws -> String { try consortium.participant(name, role) }
        let patient = try key("patient", "patient"), nurse = try key("nurse", "practitioner")
        let nurseID = try KeyFile.load(from: nurse).publicKey.keyID

        var random = SeededRandom(seed: 47)
        let first = random.bytes((1 << 20) + 4_321), second = random.bytes(3 * (1 << 20) / 2)
        try Data(first).write(to: URL(fileURLWithPath: dir + "/v1.bin"))
        try Data(second).write(to: URL(fileURLWithPath: dir + "/v2.bin"))
        let (putStatus, putOutput) = try cli(["shadow", "put", "--key", patient, "--categories", "neuro.mri", dir + "/v1.bin"], environment: on("v0"))
        #expect(putStatus == 0 && putOutput.contains("wrapped for 1 key(s)"), "\(putOutput)")
        let shadow = putOutput.components(separatedBy: "shadow id ").last?.prefix(64).description ?? ""
        #expect(shadow.count == 64, "\(putOutput)")

        // No grant, no key: refused by v2.
        func get(_ member: String, _ out: String) throws -> (Int32, String) {
            try cli(["shadow", "get", "--key", nurse, "--shadow", shadow, "--purpose", "TREAT", "--out", out], environment: on(member))
        }
        let (refused, refusedOutput) = try get("v2", dir + "/nurse.bin")
        #expect(refused != 0 && refusedOutput.contains("no_grant"), "\(refusedOutput)")

        // The grant (by key id: the wallet finds the nurse's public key on the ledger) carries the nurse's envelope.
        let (grantStatus, grantOutput) = try cli(["consent", "grant", "--key", patient, "--to", nurseID.hex, "--categories", "neuro"],
                                                 environment: on("v0"))
        #expect(grantStatus == 0 && grantOutput.contains("data keys of 1 shadow(s) wrapped for the grantee"), "\(grantOutput)")
        let grantID = grantOutput.components(separatedBy: "transaction ").last?.prefix(64).description ?? ""
        // v2 serves it once the envelope replicated there (a 404 missing_chunk until then).
        func waitForRead(_ member: String, _ out: String, _ expected: [UInt8]) async throws {
            var last = ""
            for _ in 0..<100 {
                let (status, output) = try get(member, out)
                last = output
                if status == 0 {
                    #expect(Hashing.sha3(Array(try Data(contentsOf: URL(fileURLWithPath: out)))) == Hashing.sha3(expected))
                    return
                }
                try await Task.sleep(for: .milliseconds(200))
            }
            Issue.record("\(member) did not serve the nurse: \(last)")
        }
        try await waitForRead("v2", dir + "/nurse.bin", first)

        // Version 2, put through v1: a new data key, wrapped for the patient and for the nurse's active read grant.
        let (v2Status, v2Output) = try cli(["shadow", "put", "--key", patient, "--categories", "neuro.mri", "--shadow", shadow,
                                            "--version", "2", dir + "/v2.bin"], environment: on("v1"))
        #expect(v2Status == 0 && v2Output.contains("wrapped for 2 key(s)"), "\(v2Output)")
        try await waitForRead("v3", dir + "/nurse2.bin", second)

        // Revoked: refused.
        #expect(try cli(["consent", "revoke", "--key", patient, "--grant", grantID], environment: on("v0")).status == 0)
        let (revoked, revokedOutput) = try get("v3", dir + "/nurse3.bin")
        #expect(revoked != 0 && revokedOutput.contains("revoked"), "\(revokedOutput)")

        // Erased: every node deletes both versions' manifests and chunks (1 + 2, 1 + 2), the registrations' envelopes
        // (1, 2) and the grant's envelope (1): 10 blobs, none left.
        #expect(try cli(["shadow", "erase", "--key", patient, "--shadow", shadow], environment: on("v0")).status == 0)
        for member in consortium.members.map(\.name) {
            var receipt: ErasureReceipt?
            for _ in 0..<100 {
                let (data, status) = try await consortium.get(member, "/v1/shadows/\(shadow)/erasure")
                if status == 200, let response = try? JSONDecoder().decode(ErasureResponse.self, from: data),
                    let bytes = Hex.decode(response.receipt)
                {
                    receipt = try SignedErasureReceipt.verified(bytes, chainID: consortium.chainID).body
                    break
                }
                try await Task.sleep(for: .milliseconds(200))
            }
            let body = try #require(receipt, "\(member) erased nothing")
            #expect(body.deleted == 10 && body.remaining == 0, "\(member): \(body.deleted) deleted, \(body.remaining) left")
        }
    }
}
