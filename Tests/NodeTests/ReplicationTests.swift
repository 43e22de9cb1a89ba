// Shadow replication with real processes: four validators and a follower made by `twinledger net init`. A patient
// uploads a multi-chunk payload (1 MiB chunks, as a node stores them) to one validator and registers it; every other
// node, the follower included, fetches the manifest and chunks from its peers and serves the same bytes to the
// patient's signed read; a follower stopped, its blob store deleted, and restarted repairs the shadow from its peers.
// Then the patient erases the shadow while the follower is down: every node deletes its blobs and signs a receipt
// (the follower on its return), and reads get 410 everywhere.
import API
import Encoding
import Foundation
import Ledger
import Node
import TestSupport
import Testing
import TwinCrypto

@Suite("Shadow replication (real processes)", .serialized, .timeLimit(.minutes(3)))
struct ReplicationTests {
    /// Posts a signed transaction to `member` and waits for its commit; it must be accepted.
    func commit(_ consortium: ConsortiumProcesses, _ member: String, _ tx: SignedTransaction) async throws {
        let (data, status) = try await httpRequest(
            port: consortium.member(member).apiPort, method: "POST", path: "/v1/transactions?wait=commit&timeout_ms=20000",
            body: Data(#"{"transaction":"\#(Hex.encode(tx.bytes))"}"#.utf8))
        let response = try JSONDecoder().decode(SubmitResponse.self, from: data)
        #expect(status == 200 && response.status == "committed" && response.code == "", "\(String(decoding: data, as: UTF8.self))")
    }

    /// The payload as `member` serves it to the patient, or nil while it cannot (not yet replicated).
    func payload(_ consortium: ConsortiumProcesses, _ member: String, patient: SecretKey, shadow: Hash32, manifest: Hash32) async throws -> Data? {
        let request = ReadRequest(chainID: consortium.chainID, requester: patient.publicKey, shadow: shadow, blob: manifest,
                                  purpose: .patientRequest, timeMillis: LedgerNode.wallClockMillis(), nonce: SecureRandom.bytes(16))
        let (data, status) = try await httpRequest(
            port: consortium.member(member).apiPort, method: "GET", path: "/v1/shadows/\(shadow.hex)/payload", body: nil,
            headers: ["TwinLedger-Read": try SignedReadRequest(signing: request, with: patient).headerValue])
        return status == 200 ? data : nil
    }

    func waitForPayload(_ consortium: ConsortiumProcesses, _ member: String, patient: SecretKey, shadow: Hash32,
                        manifest: Hash32, expected: [UInt8]) async throws {
        for _ in 0..<200 {
            if let data = try await payload(consortium, member, patient: patient, shadow: shadow, manifest: manifest) {
                #expect(Array(data) == expected, "\(member) serves other bytes")
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
            let request = ReadRequest(chainID: consortium.chainID, requester: patient.publicKey, shadow: shadow, blob: manifest,
                                      purpose: .patientRequest, timeMillis: LedgerNode.wallClockMillis(), nonce: SecureRandom.bytes(16))
            let (_, status) = try await httpRequest(
                port: consortium.member(name).apiPort, method: "GET", path: "/v1/shadows/\(shadow.hex)/payload", body: nil,
                headers: ["TwinLedger-Read": try SignedReadRequest(signing: request, with: patient).headerValue])
            #expect(status == 410, "\(name) after erasure")
        }
        _ = try await consortium.agreement(consortium.members.map(\.name))
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
