// The wallet's shadow commands with a real node process: a patient encrypts a multi-chunk file on the client, uploads
// it and registers it (`shadow put`), with the data key wrapped for a practitioner too; the patient downloads,
// checks and decrypts it back byte for byte (`shadow get`); the practitioner is refused until a grant allows the
// read, then gets the same bytes; the patient lists the four reads with proofs against the anchored roots (and the
// practitioner may not list them); a FHIR Bundle is labelled with the resource types it holds.
import Foundation
import TestSupport
import Testing
import TwinCrypto

@Suite("Shadow CLI (real node process)", .serialized, .timeLimit(.minutes(3)))
struct ShadowCLITests {
    @Test("shadow put encrypts and uploads; shadow get decrypts for the patient, and for a practitioner once granted")
    func putAndGet() async throws {
        let dir = try makeTemporaryDirectory("shadow-cli")
        defer { removeTemporaryDirectory(dir) }
        let node = try NodeProcess(home: dir + "/home")
        try await node.start()
        defer { _ = node.stop() }
        let env = ["TWINLEDGER_NODE": node.url]
        let org = dir + "/home/keys/organization-HOSP_A.key"
        func key(_ name: String, _ role: String) throws -> String {
            let path = "\(dir)/\(name).key"
            #expect(try cli(["keys", "new", "--out", path, "--role", role]).status == 0)
            #expect(try cli(["enroll", "--key", org, "--key-file-to-enroll", path, "--role", role], environment: env).status == 0)
            return path
        }
        let patient = try key("patient", "patient"), doctor = try key("doctor", "practitioner")
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
        #expect(try cli(["consent", "grant", "--key", patient, "--to-key-file", doctor, "--categories", "neuro"], environment: env).status == 0)
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
}
