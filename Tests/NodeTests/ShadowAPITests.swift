// The shadow routes through Hummingbird's router test client, over a real LedgerNode and a blob store on a real
// LevelDB (4 KiB chunks to keep payloads small): a patient uploads a multi-chunk payload with a signed request and
// registers it; a practitioner reads the manifest, a chunk and the streamed payload only while a grant allows it;
// replayed, stale, tampered, mismatched, out-of-scope, wrong-purpose, revoked and erased requests are refused with
// their code and status; uploads by strangers, of the wrong length, over the limit or the quota are refused, and the
// bytes a failed upload took count against the quota; a chunk damaged on disk is never served.
import API
import Encoding
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeyValue
import Ledger
import Node
import NIOCore
import Shadows
import Storage
import TestSupport
import Testing
import TwinCrypto

/// An API fixture with a shadow desk on a LevelDB blob store. Used from one test task at a time (its nonces and
/// random source are plain state), hence unchecked.
final class ShadowFixture: @unchecked Sendable {
    let base: APIFixture
    let dir: String
    let level: LevelDBStore
    let desk: ShadowDesk
    let accessLog: AccessLog
    var nonces: [Hash32: UInt64] = [:]
    var random = SeededRandom(seed: 11)

    init(payloadBytesMax: UInt64 = 1 << 20, quota: UInt64 = 1 << 20) throws {
        base = try APIFixture()
        dir = try makeTemporaryDirectory("shadow-api")
        level = try LevelDBStore(path: dir + "/blobs")
        var limits = ShadowDesk.Limits()
        limits.chunkBytes = 4_096
        limits.payloadBytesMax = payloadBytesMax
        limits.patientQuotaBytes = quota
        accessLog = try AccessLog(store: level, node: base.organization.publicKey.keyID, start: 0)
        desk = ShadowDesk(blobs: BlobStore(store: level), node: base.node, limits: limits, accessLog: accessLog,
                          anchorKey: base.organization)
    }

    deinit {
        level.close()
        removeTemporaryDirectory(dir)
    }

    var app: some ApplicationProtocol { Application(router: makeRouter(node: base.node, shadows: desk)) }
    var now: UInt64 { base.clock.millis }
    var chainID: String { base.chainID }

    /// Submits transactions signed with each signer's next nonce and commits them in one block; all must be accepted.
    func commit(_ items: [(SecretKey, Payload)]) async throws {
        for (key, payload) in items {
            let nonce = (nonces[key.publicKey.keyID] ?? 0) + 1
            nonces[key.publicKey.keyID] = nonce
            _ = try await base.node.submit(try base.signed(key, nonce, payload).bytes)
        }
        try await base.node.produceBlock()
        let height = await base.node.head.height
        for outcome in try await base.node.outcomes(at: height) ?? [] { #expect(outcome.accepted, "\(outcome)") }
    }

    func enroll(_ role: Role) async throws -> SecretKey {
        let key = try SecretKey()
        try await commit([(base.organization, .enroll(Enroll(key: key.publicKey, role: role, organization: "HOSP_A")))])
        return key
    }

    func uploadHeader(_ key: SecretKey, patient: Hash32, size: Int, time: UInt64? = nil) throws -> HTTPFields {
        let request = UploadRequest(chainID: chainID, uploader: key.publicKey, patient: patient, size: UInt64(size),
                                    mediaType: "application/octet-stream", timeMillis: time ?? now, nonce: random.bytes(16))
        var fields = HTTPFields()
        fields[HTTPField.Name("TwinLedger-Upload")!] = try SignedUploadRequest(signing: request, with: key).headerValue
        return fields
    }

    func readHeader(_ key: SecretKey, shadow: Hash32, blob: Hash32, purpose: Purpose = .treatment, time: UInt64? = nil,
                    nonce: [UInt8]? = nil) throws -> HTTPFields {
        let request = ReadRequest(chainID: chainID, requester: key.publicKey, shadow: shadow, blob: blob, purpose: purpose,
                                  timeMillis: time ?? now, nonce: nonce ?? random.bytes(16))
        var fields = HTTPFields()
        fields[HTTPField.Name("TwinLedger-Read")!] = try SignedReadRequest(signing: request, with: key).headerValue
        return fields
    }
}

func code(_ response: TestResponse) -> String? { (try? json(response))?["code"] as? String }

@Suite("Shadow API", .serialized)
struct ShadowAPITests {
    @Test("upload, register, and read only while a grant allows: manifest, chunk and streamed payload; every refusal by its code")
    func uploadAndRead() async throws {
        let f = try ShadowFixture()
        let patientKey = try await f.enroll(.patient)
        let patient = patientID(for: patientKey.publicKey)
        let doctor = try await f.enroll(.practitioner)
        let payload = f.random.bytes(3 * 4_096 + 1_000)
        let shadow = Hashing.sha3(Array("shadow one".utf8))
        try await f.app.test(.router) { client in
            var uploaded: UploadResponse?
            try await client.execute(uri: "/v1/shadows/upload", method: .post,
                                     headers: try f.uploadHeader(patientKey, patient: patient, size: payload.count),
                                     body: ByteBuffer(bytes: payload)) { response in
                #expect(response.status == .ok)
                uploaded = try JSONDecoder().decode(UploadResponse.self, from: Data(buffer: response.body))
            }
            let upload = try #require(uploaded)
            #expect(upload.size == UInt64(payload.count) && upload.chunks.count == 4 && upload.chunkBytes == 4_096)
            let manifest = try #require(Hash32(hex: upload.manifest))
            try await f.commit([(patientKey, .shadowRegister(ShadowRegister(
                shadow: shadow, patient: patient, version: 1, categories: ["neuro.mri"], manifest: manifest, size: UInt64(payload.count))))])

            let chunk1 = try #require(Hash32(hex: upload.chunks[1]))
            // No grant yet.
            try await client.execute(uri: "/v1/shadows/\(shadow.hex)/blobs/\(manifest.hex)", method: .get,
                                     headers: try f.readHeader(doctor, shadow: shadow, blob: manifest)) { response in
                #expect(response.status == .forbidden && code(response) == "no_grant")
            }
            try await f.commit([(patientKey, .consentGrant(ConsentGrant(
                patient: patient, grantee: .participant(doctor.publicKey.keyID), actions: .read, scope: Scope(categories: ["neuro"]),
                purpose: .treatment, validFrom: 1_700_000_000, validUntil: nil)))])
            // The manifest, a chunk, the whole payload.
            try await client.execute(uri: "/v1/shadows/\(shadow.hex)/blobs/\(manifest.hex)", method: .get,
                                     headers: try f.readHeader(doctor, shadow: shadow, blob: manifest)) { response in
                #expect(response.status == .ok)
                let decoded = try Canonical.decode(Manifest.self, from: Array(buffer: response.body))
                #expect(decoded.chunks.map(\.hex) == upload.chunks && decoded.size == UInt64(payload.count))
            }
            try await client.execute(uri: "/v1/shadows/\(shadow.hex)/blobs/\(chunk1.hex)", method: .get,
                                     headers: try f.readHeader(doctor, shadow: shadow, blob: chunk1)) { response in
                #expect(response.status == .ok && Array(buffer: response.body) == Array(payload[4_096..<8_192]))
            }
            try await client.execute(uri: "/v1/shadows/\(shadow.hex)/payload", method: .get,
                                     headers: try f.readHeader(doctor, shadow: shadow, blob: manifest)) { response in
                #expect(response.status == .ok && Array(buffer: response.body) == payload)
            }
            // The same signed request again: replayed. Too old: stale. A flipped byte: bad_request.
            let once = try f.readHeader(doctor, shadow: shadow, blob: chunk1)
            try await client.execute(uri: "/v1/shadows/\(shadow.hex)/blobs/\(chunk1.hex)", method: .get, headers: once) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v1/shadows/\(shadow.hex)/blobs/\(chunk1.hex)", method: .get, headers: once) { response in
                #expect(response.status == .unauthorized && code(response) == "replayed")
            }
            try await client.execute(uri: "/v1/shadows/\(shadow.hex)/blobs/\(chunk1.hex)", method: .get,
                                     headers: try f.readHeader(doctor, shadow: shadow, blob: chunk1, time: f.now - 61_000)) { response in
                #expect(response.status == .unauthorized && code(response) == "stale")
            }
            var tampered = try f.readHeader(doctor, shadow: shadow, blob: chunk1)
            let name = HTTPField.Name("TwinLedger-Read")!
            var hex = Array(try #require(tampered[name]))
            hex[hex.count - 3] = hex[hex.count - 3] == "0" ? "1" : "0"
            tampered[name] = String(hex)
            try await client.execute(uri: "/v1/shadows/\(shadow.hex)/blobs/\(chunk1.hex)", method: .get, headers: tampered) { response in
                #expect(response.status == .badRequest && code(response) == "bad_request")
            }
            // Signed for the manifest, sent to the chunk's URL; a blob that is not the shadow's; the wrong purpose.
            try await client.execute(uri: "/v1/shadows/\(shadow.hex)/blobs/\(chunk1.hex)", method: .get,
                                     headers: try f.readHeader(doctor, shadow: shadow, blob: manifest)) { response in
                #expect(response.status == .badRequest)
            }
            let foreign = try f.desk.blobs.put(Array("someone else's".utf8))
            try await client.execute(uri: "/v1/shadows/\(shadow.hex)/blobs/\(foreign.hex)", method: .get,
                                     headers: try f.readHeader(doctor, shadow: shadow, blob: foreign)) { response in
                #expect(response.status == .forbidden && code(response) == "scope_mismatch")
            }
            try await client.execute(uri: "/v1/shadows/\(shadow.hex)/blobs/\(chunk1.hex)", method: .get,
                                     headers: try f.readHeader(doctor, shadow: shadow, blob: chunk1, purpose: .research)) { response in
                #expect(response.status == .forbidden && code(response) == "purpose_mismatch")
            }
            // The access log holds the served reads (manifest, chunk, payload, the one accepted of the replayed
            // pair), none of the refused ones, each with the grant that allowed it.
            let served = try f.accessLog.records(patient: patient)
            #expect(served.count == 4 && served.allSatisfy { $0.requester == doctor.publicKey.keyID && $0.grant != nil && $0.purpose == .treatment })
            #expect(served.map(\.blob) == [manifest, chunk1, manifest, chunk1])
            // Anchored: the batch's root goes on the ledger; the patient lists the accesses with proofs that verify.
            let batch = try #require(await f.desk.anchorIfDue(batchRecords: 1))
            #expect(batch.first == 0 && batch.count == 4)
            try await f.base.node.produceBlock()
            func list(_ key: SecretKey) throws -> HTTPFields {
                let request = AccessListRequest(chainID: f.chainID, requester: key.publicKey, patient: patient, timeMillis: f.now, nonce: f.random.bytes(16))
                var fields = HTTPFields()
                fields[HTTPField.Name("TwinLedger-Accesses")!] = try SignedAccessListRequest(signing: request, with: key).headerValue
                return fields
            }
            try await client.execute(uri: "/v1/patients/\(patient.hex)/accesses", method: .get, headers: try list(patientKey)) { response in
                #expect(response.status == .ok)
                let body = try JSONDecoder().decode(AccessListResponse.self, from: Data(buffer: response.body))
                #expect(body.accesses.count == 4)
                let anchor = try #require(try await f.base.node.record(AnchorRecord.self, StateKey.anchor(f.base.organization.publicKey.keyID, 0)))
                for access in body.accesses {
                    let record = try Canonical.decode(AccessRecord.self, from: try #require(Hex.decode(access.record)))
                    #expect(record.requester.hex == access.requester && record.blob.hex == access.blob)
                    let proof = try #require(access.proof)
                    let merkle = MerkleProof(index: proof.index, count: proof.count, path: proof.path.compactMap { Hash32(hex: $0) })
                    #expect(merkle.verify(leaf: record.leaf, root: anchor.anchor.root), "record \(record.sequence)")
                    #expect(access.anchoredHeight == anchor.height && access.batchRoot == anchor.anchor.root.hex)
                }
            }
            try await client.execute(uri: "/v1/patients/\(patient.hex)/accesses", method: .get, headers: try list(doctor)) { response in
                #expect(response.status == .forbidden && code(response) == "no_grant")
            }
            // A chunk damaged on disk is reported, never served, and quarantined.
            var damaged = Array(payload[4_096..<8_192])
            damaged[7] ^= 0x80
            try f.level.put([0x01] + chunk1.bytes, damaged, sync: true)
            try await client.execute(uri: "/v1/shadows/\(shadow.hex)/blobs/\(chunk1.hex)", method: .get,
                                     headers: try f.readHeader(doctor, shadow: shadow, blob: chunk1)) { response in
                #expect(response.status == .internalServerError && code(response) == "corrupted")
            }
            #expect(try f.desk.blobs.quarantined() == [chunk1])
            // Revoked, then erased.
            let grantID = try #require(await f.base.node.indexed(StateKey.patientGrants(patient)).first)
            try await f.commit([(patientKey, .consentRevoke(ConsentRevoke(grant: grantID)))])
            try await client.execute(uri: "/v1/shadows/\(shadow.hex)/blobs/\(manifest.hex)", method: .get,
                                     headers: try f.readHeader(doctor, shadow: shadow, blob: manifest)) { response in
                #expect(response.status == .forbidden && code(response) == "revoked")
            }
            try await f.commit([(patientKey, .shadowErase(ShadowErase(shadow: shadow)))])
            try await client.execute(uri: "/v1/shadows/\(shadow.hex)/payload", method: .get,
                                     headers: try f.readHeader(patientKey, shadow: shadow, blob: manifest)) { response in
                #expect(response.status == .gone && code(response) == "erased")
            }
        }
    }

    @Test("uploads by a stranger, of the wrong length, over the payload limit or the patient's quota are refused; taken bytes count")
    func uploadRefusals() async throws {
        let f = try ShadowFixture(payloadBytesMax: 20_000, quota: 30_000)
        let patientKey = try await f.enroll(.patient)
        let patient = patientID(for: patientKey.publicKey)
        let stranger = try await f.enroll(.practitioner)
        try await f.app.test(.router) { client in
            func upload(_ key: SecretKey, declared: Int, body: Int, patient target: Hash32? = nil) async throws -> (HTTPResponse.Status, String?) {
                var result: (HTTPResponse.Status, String?) = (.ok, nil)
                try await client.execute(uri: "/v1/shadows/upload", method: .post,
                                         headers: try f.uploadHeader(key, patient: target ?? patient, size: declared),
                                         body: ByteBuffer(bytes: f.random.bytes(body))) { response in
                    result = (response.status, code(response))
                }
                return result
            }
            #expect(try await upload(stranger, declared: 100, body: 100) == (.forbidden, "no_grant"))
            #expect(try await upload(patientKey, declared: 100, body: 100, patient: Hashing.sha3([7])) == (.notFound, "unknown_patient"))
            #expect(try await upload(patientKey, declared: 20_001, body: 20_001) == (.contentTooLarge, "too_large"))
            #expect(try f.desk.blobs.usage(patient) == 0)  // refused before any byte was taken
            #expect(try await upload(patientKey, declared: 5_000, body: 5_001) == (.badRequest, "size_mismatch"))
            #expect(try await upload(patientKey, declared: 5_000, body: 4_999) == (.badRequest, "size_mismatch"))
            // Bytes taken by a failed upload count against the quota (its chunks stay stored, named by no manifest).
            let failed = try f.desk.blobs.usage(patient)
            #expect(failed >= 4_999 && failed <= 10_000)
            #expect(try await upload(patientKey, declared: 20_000, body: 20_000) == (.ok, nil))
            #expect(try f.desk.blobs.usage(patient) == failed + 20_000)
            let left = Int(30_000 - failed - 20_000)
            #expect(try await upload(patientKey, declared: left + 1, body: left + 1) == (.contentTooLarge, "quota_exceeded"))
            #expect(try await upload(patientKey, declared: left, body: left) == (.ok, nil))
            #expect(try f.desk.blobs.usage(patient) == 30_000)
            // Unsigned: bad_request.
            try await client.execute(uri: "/v1/shadows/upload", method: .post, body: ByteBuffer(bytes: [1, 2, 3])) { response in
                #expect(response.status == .badRequest && code(response) == "bad_request")
            }
        }
    }
}

@Suite("Grant envelopes at commit")
struct GrantEnvelopeReadingTests {
    @Test("a committed grant's envelopes are read from its payload alone, exactly, whatever its address bytes")
    func envelopes() throws {
        let patient = try SecretKey()
        var random = SeededRandom(seed: testSeed())
        func grant(_ envelopes: [ShadowEnvelope]) throws -> [UInt8] {
            let payload = ConsentGrant(patient: Hashing.sha3([1]), grantee: .participant(Hashing.sha3([2])), actions: .read,
                                       scope: Scope(categories: ["neuro"]), purpose: .treatment, validFrom: 1, validUntil: nil,
                                       envelopes: envelopes)
            return try SignedTransaction(signing: TransactionBody(chainID: "c", signer: patient.publicKey, nonce: 7,
                                                                  payload: .consentGrant(payload)), with: patient).bytes
        }
        #expect(ConsentGrant.envelopes(inSignedTransaction: try grant([])) == [])
        for count in 1...4 {
            let envelopes = try (0..<count).map { index in
                var address = random.bytes(32)
                if index == 0 { address[31] = 0 }  // an address ending in 0 must not read as an empty list
                return ShadowEnvelope(shadow: Hashing.sha3(random.bytes(8)), version: UInt64(index + 1),
                                      address: try #require(Hash32(bytes: address)))
            }
            #expect(ConsentGrant.envelopes(inSignedTransaction: try grant(envelopes)) == envelopes)
        }
        // Not a grant, or not a transaction: nil.
        let revoke = try SignedTransaction(signing: TransactionBody(chainID: "c", signer: patient.publicKey, nonce: 8,
                                                                    payload: .consentRevoke(ConsentRevoke(grant: .zero))), with: patient)
        #expect(ConsentGrant.envelopes(inSignedTransaction: revoke.bytes) == nil)
        #expect(ConsentGrant.envelopes(inSignedTransaction: [1, 2, 3]) == nil)
    }
}
