import Consensus
import Encoding
import Foundation
import HTTPTypes
import Hummingbird
import Ledger
import Node
import NIOCore
import TwinCrypto

/// The API's routes: one table, used to register them and checked against Docs/openapi.yaml by the tests.
public enum APIRoutes {
    public static let table: [(method: String, path: String)] = [
        ("POST", "/v1/transactions"),
        ("GET", "/v1/transactions/{id}"),
        ("GET", "/v1/blocks/latest"),
        ("GET", "/v1/blocks/{height}"),
        ("GET", "/v1/blocks/{height}/raw"),
        ("GET", "/v1/state/{key}"),
        ("GET", "/v1/accounts/{key_id}"),
        ("GET", "/v1/patients/{patient_id}/grants"),
        ("GET", "/v1/patients/{patient_id}/history"),
        ("GET", "/v1/patients/{patient_id}/delegations"),
        ("GET", "/v1/patients/{patient_id}/shadows"),
        ("GET", "/v1/patients/{patient_id}/accesses"),
        ("POST", "/v1/shadows/upload"),
        ("GET", "/v1/shadows/{shadow}/blobs/{address}"),
        ("GET", "/v1/shadows/{shadow}/payload"),
        ("GET", "/v1/shadows/{shadow}/erasure"),
        ("GET", "/v1/fhir/Consent"),
        ("GET", "/v1/fhir/AuditEvent"),
        ("GET", "/v1/fhir/Provenance"),
        ("GET", "/v1/consortium"),
        ("GET", "/"),
        ("GET", "/health"),
        ("GET", "/metrics"),
    ]
}

/// Builds the router for `node`; with `shadows`, the shadow upload and read routes too.
/// With `limits`, each client's requests are charged to its token bucket before any route runs (429 beyond).
public func makeRouter(node: LedgerNode, shadows: ShadowDesk? = nil, limits: ClientLimits? = nil) -> Router<APIRequestContext> {
    let router = Router(context: APIRequestContext.self)
    if let limits { router.add(middleware: ClientRateMiddleware(limits: limits)) }
    if let shadows { addShadowRoutes(router, desk: shadows) }
    addFHIRRoutes(router, node: node, desk: shadows)
    let submitBytesMax = Limits.transactionBytesMax * 2 + 1_024

    router.post("/v1/transactions") { request, context -> SubmitResponse in
        let body = try await request.body.collect(upTo: submitBytesMax)
        let bytes = try SubmitRequest.transactionBytes(body: body, contentType: request.headers[.contentType])
        let id: Hash32
        do {
            id = try await node.submit(bytes)
        } catch let refusal as LedgerNode.Refusal {
            throw APIError.refusal(refusal.code, refusal.message)
        }
        guard request.uri.queryParameters.get("wait") == "commit" else {
            return SubmitResponse(id: id.hex, status: "pending", height: nil, code: nil)
        }
        let seconds = request.uri.queryParameters.get("timeout_ms").flatMap { Int($0) }.map { min($0, 60_000) } ?? 10_000
        await node.waitForCommit(id, timeout: .milliseconds(seconds))
        if case .committed(let proof) = try await node.status(of: id) {
            return SubmitResponse(id: id.hex, status: "committed", height: proof.header.height, code: proof.outcome.code)
        }
        return SubmitResponse(id: id.hex, status: "pending", height: nil, code: nil)
    }

    router.get("/v1/transactions/:id") { request, context -> TransactionStatusResponse in
        let id = try hashParameter(context, "id")
        switch try await ledger { try await node.status(of: id) } {
        case .unknown:
            throw APIError(.notFound, "not_found", "no transaction \(id.hex) is pending or committed here")
        case .pending:
            return TransactionStatusResponse(
                id: id.hex, status: "pending", kind: nil, signer: nil, nonce: nil, height: nil, index: nil,
                accepted: nil, code: nil, transaction: nil, header: nil, transactionProof: nil, outcomeProof: nil
            )
        case .committed(let proof):
            let signed = try? Canonical.decode(SignedTransaction.self, from: proof.transaction)
            return TransactionStatusResponse(
                id: id.hex, status: "committed", kind: signed?.body.payload.kind, signer: signed?.body.signer.hex,
                nonce: signed?.body.nonce, height: proof.header.height, index: proof.transactionProof.index,
                accepted: proof.outcome.accepted, code: proof.outcome.code, transaction: Hex.encode(proof.transaction),
                header: HeaderJSON(proof.header), transactionProof: MerkleProofJSON(proof.transactionProof),
                outcomeProof: MerkleProofJSON(proof.outcomeProof)
            )
        }
    }

    router.get("/v1/blocks/latest") { _, _ -> BlockResponse in
        let height = await node.head.height
        guard height > 0 else { throw APIError(.notFound, "not_found", "no block has been committed yet") }
        return try await blockResponse(node, height)
    }

    router.get("/v1/blocks/:height") { request, context -> BlockResponse in
        guard let text = context.parameters.get("height"), let height = UInt64(text) else {
            throw APIError(.badRequest, "invalid_parameter", "height must be a positive integer")
        }
        return try await blockResponse(node, height)
    }

    router.get("/v1/blocks/:height/raw") { _, context -> RawBlockResponse in
        guard let text = context.parameters.get("height"), let height = UInt64(text) else {
            throw APIError(.badRequest, "invalid_parameter", "height must be a positive integer")
        }
        guard let block = try await ledger({ try await node.block(at: height) }) else {
            throw APIError(.notFound, "not_found", "no block at height \(height)")
        }
        let outcomes = try await ledger { try await node.outcomes(at: height) } ?? []
        let certificate = try await ledger { try await node.certificate(at: height) }
        return RawBlockResponse(
            height: height, block: Hex.encode(Canonical.encode(block)),
            outcomes: outcomes.map { RawOutcomeJSON(transaction: $0.transaction.hex, code: $0.code) },
            certificate: certificate.map { Hex.encode($0) })
    }

    router.get("/v1/state/:key") { request, context -> StateResponse in
        guard let text = context.parameters.get("key"), let key = Hex.decode(text), !key.isEmpty, key.count <= 256 else {
            throw APIError(.badRequest, "invalid_parameter", "key must be 1-256 bytes of hex")
        }
        let (value, proof, root, height) = try await ledger { try await node.stateValue(key) }
        return StateResponse(
            key: Hex.encode(key), exists: value != nil, value: value.map { Hex.encode($0) }, stateRoot: root.hex,
            height: height, proof: StateProofJSON(proof)
        )
    }

    router.get("/v1/accounts/:key_id") { request, context -> AccountResponse in
        let keyID = try hashParameter(context, "key_id")
        let participant = try await ledger { try await node.record(Participant.self, StateKey.participant(keyID)) }
        let organization = try await ledger { try await node.record(Organization.self, StateKey.organization(keyID)) }
        return AccountResponse(
            keyID: keyID.hex, nonce: await node.committedNonceOf(keyID),
            participant: participant.map {
                ParticipantJSON(publicKey: $0.key.hex, role: $0.role.name, organization: $0.organization,
                                patientID: $0.patientID?.hex, enrolledHeight: $0.enrolledHeight)
            },
            organization: organization?.name
        )
    }

    router.get("/v1/patients/:patient_id/grants") { request, context -> GrantsResponse in
        let patient = try hashParameter(context, "patient_id")
        let activeOnly = request.uri.queryParameters.get("active") == "true"
        let now = await node.head.timeMillis / 1_000
        var grants: [GrantJSON] = []
        for id in try await ledger({ try await node.indexed(StateKey.patientGrants(patient)) }) {
            guard let grant = try await ledger({ try await node.record(Grant.self, StateKey.grant(id)) }) else { continue }
            if activeOnly && !grant.isActive(at: now) { continue }
            grants.append(GrantJSON(grant, now: now))
        }
        return GrantsResponse(patient: patient.hex, height: await node.head.height, grants: grants)
    }

    router.get("/v1/patients/:patient_id/shadows") { _, context -> ShadowsResponse in
        let patient = try hashParameter(context, "patient_id")
        let height = await node.head.height
        var shadows: [ShadowJSON] = []
        for id in try await ledger({ try await node.indexed(StateKey.patientShadows(patient)) }) {
            if let shadow = try await ledger({ try await node.record(Shadow.self, StateKey.shadow(id)) }) {
                shadows.append(ShadowJSON(shadow))
            }
        }
        return ShadowsResponse(patient: patient.hex, height: height, shadows: shadows)
    }

    router.get("/v1/patients/:patient_id/delegations") { request, context -> DelegationsResponse in
        let patient = try hashParameter(context, "patient_id")
        let now = await node.head.timeMillis / 1_000
        var delegations: [DelegationJSON] = []
        for id in try await ledger({ try await node.indexed(StateKey.patientDelegations(patient)) }) {
            if let d = try await ledger({ try await node.record(Delegation.self, StateKey.delegation(id)) }) {
                delegations.append(DelegationJSON(d, now: now))
            }
        }
        return DelegationsResponse(patient: patient.hex, delegations: delegations)
    }

    router.get("/v1/patients/:patient_id/history") { request, context -> HistoryResponse in
        let patient = try hashParameter(context, "patient_id")
        let history = try await ledger { try await node.history(patient) }
        var entries: [HistoryEntryJSON] = []
        for (index, id) in history.entries.enumerated() {
            var kind: String?
            var signer: String?
            var height: UInt64?
            if case .committed(let proof) = try await ledger({ try await node.status(of: id) }) {
                let signed = try? Canonical.decode(SignedTransaction.self, from: proof.transaction)
                kind = signed?.body.payload.kind
                signer = signed?.body.signer.hex
                height = proof.header.height
            }
            entries.append(HistoryEntryJSON(index: index, transaction: id.hex, kind: kind, signer: signer, height: height))
        }
        return HistoryResponse(
            patient: patient.hex, count: history.head.count, head: history.head.head.hex, entries: entries,
            stateRoot: history.root.hex, height: history.height, proof: StateProofJSON(history.proof)
        )
    }

    router.get("/v1/consortium") { _, _ -> ConsortiumResponse in
        let head = await node.head
        let sync = await node.syncStatus
        let schedule = try await ledger { try await node.record(ValidatorSchedule.self, StateKey.validatorScheduleKey) }
        let current = schedule?.entry(at: max(head.height, 1))
        let sets = (schedule?.entries ?? []).filter { $0.effectiveHeight >= (current?.effectiveHeight ?? 0) }.map { entry in
            ConsortiumResponse.ValidatorSetJSON(
                version: entry.version, effectiveHeight: entry.effectiveHeight,
                validators: entry.validators.map { .init(keyID: $0.key.keyID.hex, publicKey: $0.key.hex, power: $0.power) })
        }
        var lastCommit: ConsortiumResponse.LastCommitJSON?
        if head.height > 0, let bytes = try await ledger({ try await node.certificate(at: head.height) }),
            let certificate = try? Canonical.decode(CommitCertificate.self, from: bytes)
        {
            lastCommit = .init(height: certificate.height, round: certificate.round, signers: certificate.signatures.map(\.validator.hex))
        }
        return ConsortiumResponse(
            chainID: node.chainID, height: head.height, block: head.height > 0 ? head.blockHash.hex : nil, timeMs: head.timeMillis,
            role: sync.validator ? "validator" : "follower", peers: sync.peers, bestPeerHeight: sync.bestPeerHeight,
            caughtUp: await node.caughtUp, validatorSets: sets, lastCommit: lastCommit)
    }

    router.get("/") { _, _ -> Response in
        Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .contentSecurityPolicy: Explorer.contentSecurityPolicy],
                 body: .init(byteBuffer: ByteBuffer(string: Explorer.page)))
    }

    router.get("/health") { _, _ -> Response in
        let healthy = await node.healthy
        let head = await node.head
        let sync = await node.syncStatus
        let health = HealthResponse(
            status: healthy ? "ok" : "failing", chainID: node.chainID, height: head.height,
            block: head.height > 0 ? head.blockHash.hex : nil, mempool: await node.mempoolCount,
            role: sync.validator ? "validator" : "follower", peers: sync.peers, bestPeerHeight: sync.bestPeerHeight,
            caughtUp: await node.caughtUp
        )
        let body = try JSONEncoder().encode(health)
        return Response(
            status: healthy ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: body))
        )
    }

    router.get("/metrics") { _, _ -> Response in
        Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
            body: .init(byteBuffer: ByteBuffer(string: node.metrics.text()))
        )
    }
    return router
}

func hashParameter(_ context: APIRequestContext, _ name: String) throws -> Hash32 {
    guard let text = context.parameters.get(name), let hash = Hash32(hex: text) else {
        throw APIError(.badRequest, "invalid_parameter", "\(name) must be 64 hex digits")
    }
    return hash
}

/// Runs a ledger query, turning a storage failure into a 500 with its code.
func ledger<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as LedgerError {
        throw APIError(.internalServerError, error.code.rawValue, error.message)
    }
}

func blockResponse(_ node: LedgerNode, _ height: UInt64) async throws -> BlockResponse {
    guard let block = try await ledger({ try await node.block(at: height) }) else {
        throw APIError(.notFound, "not_found", "no block at height \(height)")
    }
    let outcomes = try await ledger { try await node.outcomes(at: height) } ?? []
    let transactions = block.transactions.enumerated().map { index, bytes in
        let signed = try? Canonical.decode(SignedTransaction.self, from: bytes)
        let outcome = index < outcomes.count ? outcomes[index] : nil
        return BlockTransactionJSON(
            id: Hashing.sha3(bytes).hex, kind: signed?.body.payload.kind ?? "?", signer: signed?.body.signer.hex ?? "",
            accepted: outcome?.accepted ?? false, code: outcome?.code ?? ""
        )
    }
    return BlockResponse(header: HeaderJSON(block.header), transactions: transactions)
}
