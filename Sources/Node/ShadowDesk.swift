import Encoding
import Ledger
import Shadows
import Storage
import TwinCrypto

/// The node's side of shadows (Docs/shadows.md): its blob store, and the checks in front of it. Uploads and reads come
/// with a signed request in a header; the desk verifies it, refuses replays and stale times, asks the ledger whether
/// the signer may upload for that patient or read that shadow, and enforces the payload limit and the patient's
/// quota. The payload bytes themselves stream between the API and the blob store without passing through here.
public actor ShadowDesk {
    public struct Limits: Sendable {
        public var payloadBytesMax: UInt64 = 1 << 30
        public var patientQuotaBytes: UInt64 = 16 << 30
        public var requestWindowMillis: UInt64 = 60_000
        public var chunkBytes: UInt64 = Manifest.standardChunkBytes
        public init() {}
    }

    public nonisolated let blobs: BlobStore
    public nonisolated let limits: Limits
    let node: LedgerNode
    var replay: ReplayGuard

    public init(blobs: BlobStore, node: LedgerNode, limits: Limits = Limits()) {
        self.blobs = blobs
        self.node = node
        self.limits = limits
        replay = ReplayGuard(windowMillis: limits.requestWindowMillis)
    }

    /// A request header's value: the hex of a signed request's canonical bytes.
    static func decode<Body: SignedRequestBody>(_ header: String?, _ type: Body.Type, chainID: String) throws(AccessError) -> SignedRequest<Body> {
        guard let header, let bytes = Hex.decode(header) else {
            throw AccessError(.badRequest, "the signed request header is missing or not hex")
        }
        return try SignedRequest<Body>.verified(bytes, chainID: chainID)
    }

    /// Checks an upload's `TwinLedger-Upload` header; returns the request and how many bytes the body may have (its
    /// declared size, within the payload limit and the patient's remaining quota).
    public func admitUpload(header: String?) async throws(ShadowDeskError) -> UploadRequest {
        let request: UploadRequest
        do {
            request = try Self.decode(header, UploadRequest.self, chainID: node.chainID).body
            try replay.admit(request, now: node.clockMillis)
            try await node.uploadAccess(uploader: request.uploader.keyID, patient: request.patient)
        } catch {
            throw .access(error)
        }
        guard request.size <= limits.payloadBytesMax else {
            throw .shadow(ShadowError(.tooLarge, "a payload of \(request.size) bytes (this node takes at most \(limits.payloadBytesMax))"))
        }
        let used: UInt64
        do { used = try blobs.usage(request.patient) } catch { throw .shadow(ShadowError(.storage, "\(error)")) }
        guard used <= limits.patientQuotaBytes, request.size <= limits.patientQuotaBytes - used else {
            throw .shadow(ShadowError(.quotaExceeded, "the patient has \(used) of \(limits.patientQuotaBytes) bytes here"))
        }
        return request
    }

    /// Records a finished upload against the patient's quota.
    public func uploaded(_ request: UploadRequest, bytes: UInt64) throws(ShadowDeskError) {
        do { try blobs.addUsage(request.patient, bytes) } catch { throw .shadow(ShadowError(.storage, "\(error)")) }
    }

    /// What a read may return.
    public enum Readable: Sendable {
        /// The shadow's manifest (the payload route streams its chunks after it).
        case manifest(Manifest)
        case chunk(index: Int, of: Manifest)
        /// The requester's own key envelope.
        case envelope
    }

    /// Checks a read's `TwinLedger-Read` header for `blob` of `shadow`: signature, time, nonce, the ledger's consent,
    /// and that the blob is the shadow's manifest, one of its chunks, or the requester's own envelope.
    public func admitRead(header: String?, shadow: Hash32, blob: Hash32) async throws(ShadowDeskError) -> (request: ReadRequest, decision: ReadAccess.Decision, readable: Readable) {
        let request: ReadRequest
        let decision: ReadAccess.Decision
        let record: Shadow
        do throws(AccessError) {
            request = try Self.decode(header, ReadRequest.self, chainID: node.chainID).body
            guard request.shadow == shadow, request.blob == blob else {
                throw AccessError(.badRequest, "the signed request is for another shadow or blob than the URL's")
            }
            try replay.admit(request, now: node.clockMillis)
            (decision, record) = try await node.readAccess(requester: request.requester.keyID, shadow: shadow, purpose: request.purpose)
        } catch {
            throw .access(error)
        }
        let registration = record.registration
        if registration.envelopes.contains(where: { $0.address == blob && $0.recipient == request.requester.keyID }) {
            return (request, decision, .envelope)
        }
        let manifest: Manifest
        do throws(ShadowError) {
            guard let stored = try blobs.manifest(registration.manifest) else {
                throw ShadowError(.missingChunk, "the shadow's manifest is not stored on this node (yet)")
            }
            manifest = stored
        } catch {
            throw .shadow(error)
        }
        if blob == registration.manifest { return (request, decision, .manifest(manifest)) }
        if let index = manifest.chunks.firstIndex(of: blob) { return (request, decision, .chunk(index: index, of: manifest)) }
        throw .access(AccessError(.scopeMismatch, "blob \(blob.hex.prefix(16))… is not part of this shadow"))
    }
}

/// A refusal at the desk: of the request (`AccessError`) or of the payload (`ShadowError`).
public enum ShadowDeskError: Error, Sendable {
    case access(AccessError)
    case shadow(ShadowError)

    public var code: String {
        switch self {
        case .access(let error): error.code.rawValue
        case .shadow(let error): error.code.rawValue
        }
    }

    public var message: String {
        switch self {
        case .access(let error): error.message
        case .shadow(let error): error.message
        }
    }
}
