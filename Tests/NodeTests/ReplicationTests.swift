// Shadow replication with real processes: four validators and a follower made by `twinledger net init`. A patient
// uploads a multi-chunk payload (1 MiB chunks, as a node stores them) to one validator and registers it; every other
// node, the follower included, fetches the manifest and chunks from its peers and serves the same bytes to the
// patient's signed read; a follower stopped, its blob store deleted, and restarted repairs the shadow from its peers.
// A chunk damaged on a validator's disk is detected on read, never served, and repaired from a peer. Then the
// patient erases the shadow while the follower is down: every node deletes its blobs and signs a receipt (the
// follower on its return), and reads get 410 everywhere. A node killed with SIGKILL mid-upload or mid-replication
// holds only whole blobs under their true addresses afterwards, and completes once restarted.
import API
import Encoding
import Foundation
import Ledger
import Node
import TestSupport
import Testing
import TwinCrypto

@Suite("Shadow replication (real processes)", .serialized, .realProcesses)
struct ReplicationTests {
    /// Posts a signed transaction to `member` and waits for its commit; it must be accepted.
    func commit(_ consortium: ConsortiumProcesses, _ member: String, _ tx: SignedTransaction) async throws {
        let (data, status) = try await httpRequest(
            port: consortium.member(member).apiPort, method: "POST", path: "/v1/transactions?wait=commit&timeout_ms=20000",
            body: Data(#"{"transaction":"\#(Hex.encode(tx.bytes))"}"#.utf8))
        let response = try JSONDecoder().decode(SubmitResponse.self, from: data)
        #expect(status == 200 && response.status == "committed" && response.code == "", "\(String(decoding: data, as: UTF8.self))")
    }

    /// GET `path` on `member` with the patient's fresh signed read of `blob` of `shadow`.
    func read(_ consortium: ConsortiumProcesses, _ member: String, _ path: String, patient: SecretKey, shadow: Hash32,
              blob: Hash32) async throws -> (Data, Int) {
        let request = ReadRequest(chainID: consortium.chainID, requester: patient.publicKey, shadow: shadow, blob: blob,
                                  purpose: .patientRequest, timeMillis: LedgerNode.wallClockMillis(), nonce: SecureRandom.bytes(16))
        return try await httpRequest(port: consortium.member(member).apiPort, method: "GET", path: path, body: nil,
                                     headers: ["TwinLedger-Read": try SignedReadRequest(signing: request, with: patient).headerValue])
    }

    /// The payload as `member` serves it to the patient, or nil while it cannot (not yet replicated).
    func payload(_ consortium: ConsortiumProcesses, _ member: String, patient: SecretKey, shadow: Hash32, manifest: Hash32) async throws -> Data? {
        let (data, status) = try await read(consortium, member, "/v1/shadows/\(shadow.hex)/payload", patient: patient, shadow: shadow, blob: manifest)
        return status == 200 ? data : nil
    }

    func waitForPayload(_ consortium: ConsortiumProcesses, _ member: String, patient: SecretKey, shadow: Hash32,
                        manifest: Hash32, expected: [UInt8]) async throws {
        for _ in 0..<200 {
            // A body cut short (a chunk found damaged while streaming, before its repair) is not an answer yet.
            if let data = try await payload(consortium, member, patient: patient, shadow: shadow, manifest: manifest),
                data.count == expected.count
            {
                // Compared by digest: a failed #expect on two multi-megabyte arrays makes the test library diff them.
                #expect(Hashing.sha3(Array(data)) == Hashing.sha3(expected), "\(member) serves other bytes")
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("\(member) did not get the shadow in 20 s (logs in \(consortium.dir))")
    }

    @Test("a shadow uploaded to one validator reaches every node; a follower that lost its blobs repairs them; erasure reaches all, with receipts")
    func replicates() async throws {
        let dir = try makeTemporaryDirectory("replication")
        defer { removeTemporaryDirectory(dir) }
        let consortium = try ConsortiumProcesses(dir, validators: 4, followers: 1)
        defer { consortium.stopAll() }
        try await consortium.startAll()
        try await consortium.waitHeight(consortium.members.map(\.name), atLeast: 1)
        let organization = try consortium.organizationKey(consortium.member("v0"))
        let patient = try SecretKey()
        let patientID = patientID(for: patient.publicKey)
        try await commit(consortium, "v0", try SignedTransaction(signing: TransactionBody(
            chainID: consortium.chainID, signer: organization.publicKey, nonce: 1,
            payload: .enroll(Enroll(key: patient.publicKey, role: .patient, organization: consortium.member("v0").organization))),
            with: organization))

        // Two and a half chunks of (stand-in) ciphertext, uploaded to v0.
        var random = SeededRandom(seed: 21)
        let payload = random.bytes(2 * (1 << 20) + 300_000)
        let upload = UploadRequest(chainID: consortium.chainID, uploader: patient.publicKey, patient: patientID,
                                   size: UInt64(payload.count), mediaType: "application/octet-stream",
                                   timeMillis: LedgerNode.wallClockMillis(), nonce: SecureRandom.bytes(16))
        let (uploaded, status) = try await httpRequest(
            port: consortium.member("v0").apiPort, method: "POST", path: "/v1/shadows/upload", body: Data(payload),
            headers: ["TwinLedger-Upload": try SignedUploadRequest(signing: upload, with: patient).headerValue])
        #expect(status == 200, "\(String(decoding: uploaded, as: UTF8.self))")
        let response = try JSONDecoder().decode(UploadResponse.self, from: uploaded)
        #expect(response.chunks.count == 3)
        let manifest = try #require(Hash32(hex: response.manifest))
        let shadow = Hashing.sha3(Array("replicated shadow".utf8))
        try await commit(consortium, "v0", try SignedTransaction(signing: TransactionBody(
            chainID: consortium.chainID, signer: patient.publicKey, nonce: 1,
            payload: .shadowRegister(ShadowRegister(shadow: shadow, patient: patientID, version: 1, categories: ["neuro.mri"],
                                                    manifest: manifest, size: UInt64(payload.count)))),
            with: patient))

        for name in ["v1", "v2", "v3", "f0"] {
            try await waitForPayload(consortium, name, patient: patient, shadow: shadow, manifest: manifest, expected: payload)
        }
        #expect(try await consortium.metric("f0", "twinledger_blob_bytes_replicated_total") >= Double(payload.count))
        #expect(try await consortium.metric("f0", "twinledger_blobs_missing") == 0)

        // The follower loses its blob store; restarted, it fetches the shadow again from its peers.
        consortium.stop("f0")
        try FileManager.default.removeItem(atPath: consortium.member("f0").home + "/data/blobs")
        try consortium.start("f0")
        try await consortium.waitHealthy("f0")
        try await waitForPayload(consortium, "f0", patient: patient, shadow: shadow, manifest: manifest, expected: payload)

        // A chunk damaged on v3's disk: detected when read (500 corrupted, never served), quarantined, and repaired from
        // a peer; then v3 serves the whole payload again.
        consortium.stop("v3")
        let chunk = try #require(Hash32(hex: response.chunks[1]))
        #expect(try cli(["debug", "damage-blob", "--path", consortium.member("v3").home + "/data/blobs", "--address", chunk.hex]).status == 0)
        try consortium.start("v3")
        try await consortium.waitHealthy("v3")
        let (damagedBody, damagedStatus) = try await read(consortium, "v3", "/v1/shadows/\(shadow.hex)/blobs/\(chunk.hex)",
                                                          patient: patient, shadow: shadow, blob: chunk)
        #expect(damagedStatus == 500 && String(decoding: damagedBody, as: UTF8.self).contains("corrupted"))
        try await waitForPayload(consortium, "v3", patient: patient, shadow: shadow, manifest: manifest, expected: payload)

        // The patient erases the shadow while the follower is down: every running node deletes its blobs and signs a
        // receipt; the follower does so when it comes back; reads get 410 everywhere.
        consortium.stop("f0")
        try await commit(consortium, "v0", try SignedTransaction(signing: TransactionBody(
            chainID: consortium.chainID, signer: patient.publicKey, nonce: 2, payload: .shadowErase(ShadowErase(shadow: shadow))),
            with: patient))
        try consortium.start("f0")
        try await consortium.waitHealthy("f0")
        for name in ["v0", "v1", "v2", "v3", "f0"] {
            try await waitForReceipt(consortium, name, shadow: shadow)
            let (_, status) = try await read(consortium, name, "/v1/shadows/\(shadow.hex)/payload", patient: patient, shadow: shadow, blob: manifest)
            #expect(status == 410, "\(name) after erasure")
        }
        _ = try await consortium.agreement(consortium.members.map(\.name))
    }

    @Test("SIGKILL during an upload and during replication: only whole blobs under their true addresses; both complete after restart")
    func killed() async throws {
        let dir = try makeTemporaryDirectory("replication-kill")
        defer { removeTemporaryDirectory(dir) }
        let consortium = try ConsortiumProcesses(dir, validators: 4, followers: 1)
        defer { consortium.stopAll() }
        try await consortium.startAll()
        let organization = try consortium.organizationKey(consortium.member("v0"))
        let patient = try SecretKey()
        let patientID = patientID(for: patient.publicKey)
        try await commit(consortium, "v0", try SignedTransaction(signing: TransactionBody(
            chainID: consortium.chainID, signer: organization.publicKey, nonce: 1,
            payload: .enroll(Enroll(key: patient.publicKey, role: .patient, organization: consortium.member("v0").organization))),
            with: organization))
        var random = SeededRandom(seed: 41)
        let payload = random.bytes(24 << 20)
        func uploadHeaders() throws -> [String: String] {
            let request = UploadRequest(chainID: consortium.chainID, uploader: patient.publicKey, patient: patientID,
                                        size: UInt64(payload.count), mediaType: "application/octet-stream",
                                        timeMillis: LedgerNode.wallClockMillis(), nonce: SecureRandom.bytes(16))
            return ["TwinLedger-Upload": try SignedUploadRequest(signing: request, with: patient).headerValue]
        }
        let body = Data(payload)
        func check(_ member: String) throws {
            let (status, output) = try cli(["debug", "check-blobs", "--path", consortium.member(member).home + "/data/blobs"])
            #expect(status == 0 && output.contains("damaged 0"), "\(member): \(output)")
        }
        // Killed mid-upload: whatever it stored is whole and true; after a restart the same upload succeeds.
        let (port, headers) = (consortium.member("v1").apiPort, try uploadHeaders())
        let interrupted = Task { try? await httpRequest(port: port, method: "POST", path: "/v1/shadows/upload", body: body, headers: headers) }
        try await Task.sleep(for: .milliseconds(150))
        consortium.stop("v1", SIGKILL)
        _ = await interrupted.value
        try check("v1")
        try consortium.start("v1")
        try await consortium.waitHealthy("v1")
        let (uploaded, status) = try await httpRequest(port: port, method: "POST", path: "/v1/shadows/upload", body: body,
                                                       headers: try uploadHeaders())
        #expect(status == 200)
        let manifest = try #require(Hash32(hex: try JSONDecoder().decode(UploadResponse.self, from: uploaded).manifest))
        let shadow = Hashing.sha3(Array("killed shadow".utf8))
        try await commit(consortium, "v1", try SignedTransaction(signing: TransactionBody(
            chainID: consortium.chainID, signer: patient.publicKey, nonce: 1,
            payload: .shadowRegister(ShadowRegister(shadow: shadow, patient: patientID, version: 1, categories: ["neuro.mri"],
                                                    manifest: manifest, size: UInt64(payload.count)))),
            with: patient))
        // Killed mid-replication: the follower holds only true blobs, and fetches the rest once restarted.
        try await Task.sleep(for: .milliseconds(100))
        consortium.stop("f0", SIGKILL)
        try check("f0")
        try consortium.start("f0")
        try await consortium.waitHealthy("f0")
        try await waitForPayload(consortium, "f0", patient: patient, shadow: shadow, manifest: manifest, expected: payload)
    }

    /// Waits for `member`'s erasure receipt and checks it: signed by that node's key, nothing of the shadow left.
    func waitForReceipt(_ consortium: ConsortiumProcesses, _ member: String, shadow: Hash32) async throws {
        let nodeKey = try KeyFile.load(from: consortium.member(member).home + "/keys/validator.key").publicKey
        for _ in 0..<200 {
            let (data, status) = try await consortium.get(member, "/v1/shadows/\(shadow.hex)/erasure")
            if status == 200 {
                let response = try JSONDecoder().decode(ErasureResponse.self, from: data)
                let receipt = try SignedErasureReceipt.verified(try #require(Hex.decode(response.receipt)), chainID: consortium.chainID).body
                #expect(receipt.node == nodeKey && receipt.shadow == shadow && receipt.remaining == 0, "\(member)")
                #expect(receipt.deleted == 4, "\(member) deleted the manifest and three chunks")
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("\(member) did not erase the shadow in 20 s (logs in \(consortium.dir))")
    }
}
