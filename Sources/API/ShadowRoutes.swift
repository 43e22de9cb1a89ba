import Encoding
import Foundation
import HTTPTypes
import Hummingbird
import Ledger
import Node
import NIOCore
import NIOPosix
import Shadows
import Storage

extension HTTPField.Name {
    static let twinLedgerUpload = Self("TwinLedger-Upload")!
    static let twinLedgerRead = Self("TwinLedger-Read")!
    static let twinLedgerAccesses = Self("TwinLedger-Accesses")!
}

/// One access to a patient's shadow, with its proof.
public struct AccessJSON: Codable, Sendable {
    public let sequence: UInt64
    public let timeMillis: UInt64
    public let node: String
    public let requester: String
    public let shadow: String
    public let blob: String
    public let grant: String?
    public let purpose: String
    /// The canonical record (hex): the leaf of its batch's Merkle tree.
    public let record: String
    /// Its batch (absent while the record waits for one): first sequence, count and root.
    public let batchFirst: UInt64?
    public let batchCount: UInt64?
    public let batchRoot: String?
    public let proof: MerkleProofJSON?
    /// The height whose state holds the anchor of that root (absent while it is not anchored).
    public let anchoredHeight: UInt64?
    enum CodingKeys: String, CodingKey {
        case sequence, node, requester, shadow, blob, grant, purpose, record, proof
        case timeMillis = "time_ms"
        case batchFirst = "batch_first"
        case batchCount = "batch_count"
        case batchRoot = "batch_root"
        case anchoredHeight = "anchored_height"
    }
}

/// A node's signed statement that it erased a shadow.
public struct ErasureResponse: ResponseEncodable, Decodable, Sendable {
    public let shadow: String
    /// The node key (x-only, hex) that signed the receipt; the genesis names it.
    public let node: String
    public let erasedHeight: UInt64
    public let deleted: UInt64
    public let remaining: UInt64
    /// The signed receipt's canonical bytes (hex), to check with the node's key.
    public let receipt: String
    enum CodingKeys: String, CodingKey {
        case shadow, node, deleted, remaining, receipt
        case erasedHeight = "erased_height"
    }
}

public struct AccessListResponse: ResponseEncodable, Decodable, Sendable {
    public let patient: String
    public let accesses: [AccessJSON]
}

/// The body of a finished upload.
public struct UploadResponse: ResponseEncodable, Decodable, Sendable {
    /// The manifest's address: what `shadow.register` names.
    public let manifest: String
    public let size: UInt64
    public let chunks: [String]
    public let chunkBytes: UInt64
    enum CodingKeys: String, CodingKey {
        case manifest, size, chunks
        case chunkBytes = "chunk_bytes"
    }
}

extension APIError {
    /// The status for a shadow desk refusal (Docs/shadows.md lists the codes).
    static func desk(_ error: ShadowDeskError) -> APIError {
        let status: HTTPResponse.Status = switch error.code {
        case "bad_request", "size_mismatch", "invalid_manifest": .badRequest
        case "stale", "replayed": .unauthorized
        case "unknown_shadow", "unknown_patient": .notFound
        case "missing_chunk": .notFound
        case "erased": .gone
        case "too_large", "quota_exceeded": .contentTooLarge
        case "busy": .serviceUnavailable
        case "storage", "corrupted": .internalServerError
        default: .forbidden
        }
        return APIError(status, error.code, error.message)
    }
}

/// Registers the shadow routes (Docs/shadows.md, Docs/openapi.yaml) on `router`.
func addShadowRoutes(_ router: Router<APIRequestContext>, desk: ShadowDesk) {
    // Upload: the signed request in the header, the payload streamed as the body; chunks are stored as they fill.
    router.post("/v1/shadows/upload") { request, context -> UploadResponse in
        let upload: UploadRequest
        do throws(ShadowDeskError) { upload = try await desk.admitUpload(header: request.headers[.twinLedgerUpload]) } catch { throw APIError.desk(error) }
        var writer = ChunkWriter(blobs: desk.blobs, chunkBytes: desk.limits.chunkBytes, sizeLimit: upload.size)
        do {
            for try await buffer in request.body {
                try buffer.withUnsafeReadableBytes { (raw: UnsafeRawBufferPointer) throws(ShadowError) in try writer.append(raw) }
            }
            guard writer.received == upload.size else {
                throw ShadowError(.sizeMismatch, "the body has \(writer.received) bytes, the request declared \(upload.size)")
            }
        } catch {
            // What a failed upload took counts against the patient's quota: its whole chunks stay stored (named by no
            // manifest), so repeated failures cannot fill the node past the quota.
            try? await desk.uploaded(upload, bytes: writer.received)
            guard let error = error as? ShadowError else { throw error }
            throw APIError.desk(.shadow(error.code == .tooLarge ? ShadowError(.sizeMismatch, "the body is longer than the declared \(upload.size) bytes") : error))
        }
        // The manifest and the patient's usage are stored in one synced write.
        let (manifest, address): (Manifest, Hash32)
        do throws(ShadowError) {
            (manifest, address) = try writer.finish(mediaType: upload.mediaType, owner: upload.patient)
        } catch {
            throw APIError.desk(.shadow(error))
        }
        return UploadResponse(manifest: address.hex, size: manifest.size, chunks: manifest.chunks.map(\.hex), chunkBytes: manifest.chunkBytes)
    }

    // The accesses to a patient's shadows, for the patient, each with its proof in an anchored batch.
    router.get("/v1/patients/:patient_id/accesses") { request, context -> AccessListResponse in
        let patient = try hashParameter(context, "patient_id")
        let accesses: [ShadowDesk.ProvenAccess]
        do throws(ShadowDeskError) { accesses = try await desk.accesses(header: request.headers[.twinLedgerAccesses], patient: patient) } catch {
            throw APIError.desk(error)
        }
        return AccessListResponse(patient: patient.hex, accesses: accesses.map { item in
            let r = item.record
            return AccessJSON(
                sequence: r.sequence, timeMillis: r.timeMillis, node: r.node.hex, requester: r.requester.hex, shadow: r.shadow.hex,
                blob: r.blob.hex, grant: r.grant?.hex, purpose: r.purpose.rawValue, record: Hex.encode(r.leaf),
                batchFirst: item.batch?.first, batchCount: item.batch?.count, batchRoot: item.batch?.root.hex,
                proof: item.proof.map(MerkleProofJSON.init), anchoredHeight: item.anchoredHeight)
        })
    }

    // This node's signed erasure receipt for a shadow, once it deleted the shadow's blobs after shadow.erase.
    router.get("/v1/shadows/:shadow/erasure") { request, context -> ErasureResponse in
        let shadow = try hashParameter(context, "shadow")
        guard let bytes = try? desk.blobs.note(shadow), let signed = try? Canonical.decode(SignedErasureReceipt.self, from: bytes) else {
            throw APIError(.notFound, "not_found", "this node has not erased shadow \(shadow.hex) (it is not erased, or not yet here)")
        }
        let receipt = signed.body
        return ErasureResponse(shadow: shadow.hex, node: receipt.node.hex, erasedHeight: receipt.erasedHeight, deleted: receipt.deleted,
                               remaining: receipt.remaining, receipt: Hex.encode(bytes))
    }

    // One blob of a shadow (its manifest, a chunk, or the requester's envelope), checked against its address.
    router.get("/v1/shadows/:shadow/blobs/:address") { request, context -> Response in
        let shadow = try hashParameter(context, "shadow"), address = try hashParameter(context, "address")
        let readable: ShadowDesk.Readable
        let access: ShadowDesk.PendingAccess
        do throws(ShadowDeskError) {
            (_, _, readable, access) = try await desk.admitRead(header: request.headers[.twinLedgerRead], shadow: shadow, blob: address)
        } catch {
            throw APIError.desk(error)
        }
        // The access is recorded on a thread of its own while the blob is read; nothing leaves before it is on disk.
        let recorded = recordAccess(access)
        let bytes: [UInt8]
        do {
            switch readable {
            case .chunk(let index, let manifest): bytes = try desk.blobs.chunk(index, of: manifest)
            case .manifest(let manifest): bytes = Canonical.encode(manifest)
            case .envelope:
                guard let stored = try desk.blobs.get(address) else {
                    throw ShadowError(.missingChunk, "the envelope is not stored on this node (yet)")
                }
                bytes = stored
            }
        } catch let error as ShadowError {
            throw APIError.desk(.shadow(error))
        } catch let error as BlobError {
            throw APIError.desk(.shadow(ShadowError(error.code == .corrupted ? .corrupted : .storage, error.message)))
        }
        try await awaitRecorded(recorded)
        return Response(status: .ok, headers: [.contentType: "application/octet-stream", .contentLength: "\(bytes.count)"],
                        body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    // The whole payload, streamed chunk by chunk (each checked as it is read; a damaged chunk ends the stream early,
    // which the client sees as a short body). The signed request names the manifest as its blob.
    router.get("/v1/shadows/:shadow/payload") { request, context -> Response in
        let shadow = try hashParameter(context, "shadow")
        let readable: ShadowDesk.Readable
        let access: ShadowDesk.PendingAccess
        do throws(ShadowDeskError) {
            (_, _, readable, access) = try await desk.admitRead(header: request.headers[.twinLedgerRead], shadow: shadow, blob: nil)
        } catch {
            throw APIError.desk(error)
        }
        guard case .manifest(let manifest) = readable else {
            throw APIError.desk(.access(AccessError(.badRequest, "a payload request names the shadow's manifest as its blob")))
        }
        let blobs = desk.blobs
        // The access is recorded on a thread of its own while the first chunk is read, before the response starts (so
        // a missing or damaged start is a proper error); no byte leaves before the record is on disk.
        let recorded = recordAccess(access)
        // Each chunk is copied once, from LevelDB's value into the response's buffer.
        let first: ByteBuffer?
        do throws(ShadowError) {
            first = manifest.chunks.isEmpty ? nil : try blobs.withChunk(0, of: manifest) { ByteBuffer(bytes: $0) }
        } catch {
            throw APIError.desk(.shadow(error))
        }
        try await awaitRecorded(recorded)
        // A payload of one chunk goes out as a plain body; longer ones stream a chunk at a time.
        if manifest.chunks.count <= 1 {
            return Response(status: .ok, headers: [.contentType: "application/octet-stream", .contentLength: "\(manifest.size)"],
                            body: .init(byteBuffer: first ?? ByteBuffer()))
        }
        let body = ResponseBody(contentLength: Int(manifest.size)) { writer in
            if let first { try await writer.write(first) }
            for index in manifest.chunks.indices.dropFirst() {
                try await writer.write(try blobs.withChunk(index, of: manifest) { ByteBuffer(bytes: $0) })
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: body)
    }
}

/// Starts writing an allowed read's access record on NIO's blocking-IO thread pool and returns at once, so the route
/// reads its first bytes meanwhile; the route awaits the result before anything leaves.
func recordAccess(_ access: ShadowDesk.PendingAccess) -> EventLoopFuture<Void> {
    NIOThreadPool.singleton.runIfActive(eventLoop: MultiThreadedEventLoopGroup.singleton.any()) {
        do throws(ShadowDeskError) { try access.record() } catch { throw error }
    }
}

/// Waits for `recordAccess`'s write: its failure becomes the desk's typed error.
func awaitRecorded(_ recorded: EventLoopFuture<Void>) async throws {
    do { try await recorded.get() } catch let error as ShadowDeskError { throw APIError.desk(error) } catch {
        throw APIError.desk(.shadow(ShadowError(.storage, "the access log could not record the read: \(error)")))
    }
}
