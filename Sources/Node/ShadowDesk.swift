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
        public var payloadBytesMax: UInt64 = 2 << 30
        public var patientQuotaBytes: UInt64 = 16 << 30
        public var requestWindowMillis: UInt64 = 60_000
        public var chunkBytes: UInt64 = Manifest.standardChunkBytes
        public init() {}
    }

    public nonisolated let blobs: BlobStore
    public nonisolated let limits: Limits
    let node: LedgerNode
    var replay: ReplayGuard
    /// Every served read is recorded here before its bytes leave; nil only in tests of the blob routes alone.
    let accessLog: AccessLog?
    /// The key that anchors the log's batches on the ledger (the node's organization key), if this home has it.
    let anchorKey: SecretKey?
    /// The batch submitted for anchoring and when, until the ledger shows it.
    var anchoring: (batch: AccessLog.Batch, at: UInt64)?

    public init(blobs: BlobStore, node: LedgerNode, limits: Limits = Limits(), accessLog: AccessLog? = nil, anchorKey: SecretKey? = nil) {
        self.blobs = blobs
        self.node = node
        self.limits = limits
        self.accessLog = accessLog
        self.anchorKey = anchorKey
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

    /// The record of a read that was allowed, to be written before any of its bytes leave (`record()`, which blocks
    /// on a synced write: the API runs it on a thread of its own while it reads the first chunk).
    public struct PendingAccess: Sendable {
        let log: AccessLog?
        let timeMillis: UInt64
        let requester: Hash32, patient: Hash32, shadow: Hash32, blob: Hash32
        let grant: Hash32?
        let purpose: Purpose

        /// Appends the record to the access log, durably.
        public func record() throws(ShadowDeskError) {
            guard let log else { return }
            do {
                try log.append(timeMillis: timeMillis, requester: requester, patient: patient, shadow: shadow, blob: blob,
                               grant: grant, purpose: purpose)
            } catch {
                throw .shadow(ShadowError(.storage, "the access log could not record the read: \(error)"))
            }
        }
    }

    /// Checks a read's `TwinLedger-Read` header for `blob` of `shadow`: signature, time, nonce, the ledger's consent,
    /// and that the blob is the shadow's manifest, one of its chunks, or one of the requester's envelopes.
    /// `blob` nil takes the blob the request names (the payload route, whose URL names none). The caller serves
    /// nothing before `access.record()` returned.
    public func admitRead(header: String?, shadow: Hash32, blob expected: Hash32?) async throws(ShadowDeskError) -> (request: ReadRequest, decision: ReadAccess.Decision, readable: Readable, access: PendingAccess) {
        let request: ReadRequest
        let allowed: ReadAccess.Allowed
        do throws(AccessError) {
            request = try Self.decode(header, ReadRequest.self, chainID: node.chainID).body
            guard request.shadow == shadow, request.blob == expected ?? request.blob else {
                throw AccessError(.badRequest, "the signed request is for another shadow or blob than the URL's")
            }
            try replay.admit(request, now: node.clockMillis)
            allowed = try await node.readAccess(requester: request.requester.keyID, shadow: shadow, purpose: request.purpose,
                                                blob: request.blob)
        } catch {
            throw .access(error)
        }
        let decision = allowed.decision
        let registration = allowed.shadow.registration
        let blob = request.blob
        let readable = try readable(blob, of: registration, envelopes: allowed.envelopes)
        let access = PendingAccess(log: accessLog, timeMillis: node.clockMillis, requester: request.requester.keyID,
                                   patient: registration.patient, shadow: shadow, blob: blob, grant: decision.grant,
                                   purpose: request.purpose)
        return (request, decision, readable, access)
    }

    /// What `blob` is of the shadow: its manifest, one of its chunks, or one of the requester's own envelopes
    /// (`envelopes`: those the ledger allows them, from the registration and from their grant).
    func readable(_ blob: Hash32, of registration: ShadowRegister, envelopes: [Hash32]) throws(ShadowDeskError) -> Readable {
        if envelopes.contains(blob) { return .envelope }
        let manifest: Manifest
        do throws(ShadowError) {
            guard let stored = try blobs.manifest(registration.manifest) else {
                throw ShadowError(.missingChunk, "the shadow's manifest is not stored on this node (yet)")
            }
            manifest = stored
        } catch {
            throw .shadow(error)
        }
        if blob == registration.manifest { return .manifest(manifest) }
        if let index = manifest.chunks.firstIndex(of: blob) { return .chunk(index: index, of: manifest) }
        throw .access(AccessError(.scopeMismatch, "blob \(blob.hex.prefix(16))… is not part of this shadow"))
    }

    // MARK: Access audit

    /// An access record with what proves it: its batch, its path to the batch's root, and the height at which the
    /// root was anchored on the ledger (nil while it is not).
    public struct ProvenAccess: Sendable {
        public var record: AccessRecord
        public var batch: AccessLog.Batch?
        public var proof: MerkleProof?
        public var anchoredHeight: UInt64?
    }

    /// The accesses to `patient`'s shadows, for the patient's signed `TwinLedger-Accesses` request.
    public func accesses(header: String?, patient: Hash32) async throws(ShadowDeskError) -> [ProvenAccess] {
        do throws(AccessError) {
            let request = try Self.decode(header, AccessListRequest.self, chainID: node.chainID).body
            guard request.patient == patient else { throw AccessError(.badRequest, "the signed request is for another patient") }
            try replay.admit(request, now: node.clockMillis)
            let participant = try? await node.record(Participant.self, StateKey.participant(request.requester.keyID))
            guard participant?.patientID == patient || participant?.role == .auditor else {
                throw AccessError(.noGrant, "only the patient, or an enrolled auditor, lists the accesses to a patient's shadows")
            }
        } catch {
            throw .access(error)
        }
        guard let accessLog else { return [] }
        do {
            // Each batch is read, hashed and looked up on the ledger once, however many of its records are listed.
            let batches = try accessLog.batches()
            var leaves: [UInt64: [Hash32]] = [:]
            var anchoredAt: [UInt64: UInt64?] = [:]
            var result: [ProvenAccess] = []
            for record in try accessLog.records(patient: patient) {
                var proven = ProvenAccess(record: record)
                if let batch = batches.first(where: { $0.first <= record.sequence && record.sequence < $0.first + $0.count }) {
                    if leaves[batch.first] == nil { leaves[batch.first] = try accessLog.leafHashes(batch) }
                    if anchoredAt[batch.first] == nil {
                        let anchored = (try? await node.record(AnchorRecord.self, StateKey.anchor(accessLog.node, batch.first))) ?? nil
                        anchoredAt[batch.first] = .some(anchored.flatMap { $0.anchor.root == batch.root ? $0.height : nil })
                    }
                    proven.batch = batch
                    proven.proof = try accessLog.proof(record, in: batch, leafHashes: leaves[batch.first])
                    proven.anchoredHeight = anchoredAt[batch.first] ?? nil
                }
                result.append(proven)
            }
            return result
        } catch {
            throw .shadow(ShadowError(.storage, "\(error)"))
        }
    }

    /// Anchors the access log: cuts a batch when `batchRecords` records wait or the oldest has waited `batchMillis`,
    /// submits `audit.anchor` with its root, and resubmits it after 30 s until the ledger shows it. One batch is in
    /// flight at a time, so the anchors follow the log's sequence. Returns the batch it submitted, if any.
    @discardableResult
    public func anchorIfDue(batchRecords: UInt64 = 64, batchMillis: UInt64 = 10_000) async -> AccessLog.Batch? {
        guard let accessLog, let anchorKey else { return nil }
        let now = node.clockMillis
        let head = ((try? await node.record(UInt64.self, StateKey.anchorHead(accessLog.node))) ?? nil) ?? 0
        if let pending = anchoring {
            if head >= pending.batch.first + pending.batch.count { anchoring = nil } else if now < pending.at + 30_000 { return nil }
        }
        var batch = anchoring?.batch
        if batch == nil {
            guard accessLog.unbatchedCount > 0 else { return nil }
            let oldest = (try? accessLog.record(accessLog.nextSequence - accessLog.unbatchedCount))??.timeMillis ?? now
            guard accessLog.unbatchedCount >= batchRecords || now >= oldest + batchMillis else { return nil }
            batch = try? accessLog.cutBatch()
        }
        guard let batch, batch.first == head else {
            // The ledger's sequence for this key is not where the log is (another node anchors with the same key, or
            // the log was lost): the log's batches cannot be anchored; they stay provable against their own roots.
            if let batch { anchoring = (batch, now) }
            return nil
        }
        _ = try? await node.submitOwn(.auditAnchor(AuditAnchor(root: batch.root, firstSequence: batch.first, count: batch.count)), key: anchorKey)
        anchoring = (batch, now)
        return batch
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
