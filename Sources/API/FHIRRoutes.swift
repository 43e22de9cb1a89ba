import Encoding
import Foundation
import HTTPTypes
import Hummingbird
import Ledger
import Node
import NIOCore

/// Registers `GET /v1/fhir/Consent`, `/v1/fhir/AuditEvent` and `/v1/fhir/Provenance` (Docs/fhir.md): each takes
/// `patient=ID` and optionally `_fhirVersion=5` (R5; R4 otherwise) and answers a FHIR `searchset` Bundle as
/// `application/fhir+json`. AuditEvent lists break-glass events to anyone who may read the ledger, and the served reads
/// only to the patient or an enrolled auditor, with the signed `TwinLedger-Accesses` header of the accesses route.
func addFHIRRoutes(_ router: Router<APIRequestContext>, node: LedgerNode, desk: ShadowDesk?) {
    router.get("/v1/fhir/Consent") { request, _ -> Response in
        let (patient, version) = try fhirQuery(request)
        let facts = try await gatherFacts(node, patient)
        let resources = facts.grants.filter { !$0.record.isBreakGlass }.map { FHIRExport.consent($0, facts, version) }
            + facts.delegations.map { FHIRExport.delegationConsent($0, facts, version) }
        return try fhirResponse(FHIRExport.bundle(resources, type: "Consent"))
    }

    router.get("/v1/fhir/AuditEvent") { request, _ -> Response in
        let (patient, version) = try fhirQuery(request)
        var facts = try await gatherFacts(node, patient)
        if let header = request.headers[.twinLedgerAccesses] {
            guard let desk else { throw APIError(.notFound, "not_found", "this node serves no shadows") }
            do throws(ShadowDeskError) {
                facts.accesses = try await desk.accesses(header: header, patient: patient).map(\.record)
            } catch { throw APIError.desk(error) }
            try await addParticipants(node, &facts, facts.accesses.flatMap { [$0.requester, $0.node] })
        }
        let resources = facts.grants.filter(\.record.isBreakGlass).map { FHIRExport.breakGlassEvent($0, facts, version) }
            + facts.accesses.map { FHIRExport.accessEvent($0, facts, version) }
        return try fhirResponse(FHIRExport.bundle(resources, type: "AuditEvent"))
    }

    router.get("/v1/fhir/Provenance") { request, _ -> Response in
        let (patient, version) = try fhirQuery(request)
        let facts = try await gatherFacts(node, patient)
        return try fhirResponse(FHIRExport.bundle(facts.signed.map { FHIRExport.provenance($0, facts, version) }, type: "Provenance"))
    }
}

func fhirQuery(_ request: Request) throws -> (Hash32, FHIRVersion) {
    guard let text = request.uri.queryParameters.get("patient"), let patient = Hash32(hex: text) else {
        throw APIError(.badRequest, "invalid_parameter", "patient must be a patient id (64 hex digits)")
    }
    switch request.uri.queryParameters.get("_fhirVersion") {
    case nil, "4", "4.0", "4.0.1": return (patient, .r4)
    case "5", "5.0", "5.0.0": return (patient, .r5)
    case let other?: throw APIError(.badRequest, "invalid_parameter", "_fhirVersion must be 4 or 5, not \(other)")
    }
}

func fhirResponse(_ object: [String: Any]) throws -> Response {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    return Response(status: .ok, headers: [.contentType: "application/fhir+json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

/// Everything the export says about `patient`, read from the node's committed state.
func gatherFacts(_ node: LedgerNode, _ patient: Hash32) async throws -> FHIRFacts {
    let head = await node.head
    var facts = FHIRFacts(chainID: node.chainID, patient: patient, nowSeconds: head.timeMillis / 1_000)
    facts.patientKey = try await ledger { try await node.record(Hash32.self, StateKey.patient(patient)) }
    var times: [UInt64: UInt64] = [:]
    func time(_ height: UInt64) async throws -> UInt64 {
        if let t = times[height] { return t }
        let t = try await ledger { try await node.block(at: height) }?.header.timeMillis ?? 0
        times[height] = t
        return t
    }
    var keys: [Hash32] = facts.patientKey.map { [$0] } ?? []
    for id in try await ledger({ try await node.indexed(StateKey.patientGrants(patient)) }) {
        guard let grant = try await ledger({ try await node.record(Grant.self, StateKey.grant(id)) }) else { continue }
        let revoked: UInt64? = if let h = grant.revokedHeight { try await time(h) } else { nil }
        facts.grants.append(.init(record: grant, createdMillis: try await time(grant.createdHeight), revokedMillis: revoked))
        keys.append(grant.grantor)
        if case .participant(let id) = grant.grantee { keys.append(id) }
    }
    for id in try await ledger({ try await node.indexed(StateKey.patientDelegations(patient)) }) {
        guard let d = try await ledger({ try await node.record(Delegation.self, StateKey.delegation(id)) }) else { continue }
        let revoked: UInt64? = if let h = d.revokedHeight { try await time(h) } else { nil }
        facts.delegations.append(.init(record: d, createdMillis: try await time(d.createdHeight), revokedMillis: revoked))
        keys.append(d.delegate)
    }
    let history = try await ledger { try await node.history(patient) }
    for id in history.entries {
        guard case .committed(let proof) = try await ledger({ try await node.status(of: id) }),
            let signed = try? Canonical.decode(SignedTransaction.self, from: proof.transaction)
        else { continue }
        let target: String
        switch signed.body.payload {
        case .consentRevoke(let p): target = "Consent/\(p.grant.hex)"
        case .delegationRevoke(let p): target = "Consent/\(p.delegation.hex)"
        case .shadowRegister(let p): target = "DocumentReference/\(p.shadow.hex)"
        case .shadowRewrap(let p): target = "DocumentReference/\(p.shadow.hex)"
        case .shadowErase(let p): target = "DocumentReference/\(p.shadow.hex)"
        case .enroll, .keyRotate: target = "Patient/\(patient.hex)"
        case .breakGlass: target = "AuditEvent/\(id.hex)"
        default: target = "Consent/\(id.hex)"
        }
        facts.signed.append(.init(id: id, transaction: signed, height: proof.header.height, timeMillis: proof.header.timeMillis, target: target))
        keys.append(signed.body.signer.keyID)
    }
    try await addParticipants(node, &facts, keys)
    return facts
}

/// Looks up the participants and organizations among `keys` that `facts` does not know yet.
func addParticipants(_ node: LedgerNode, _ facts: inout FHIRFacts, _ keys: [Hash32]) async throws {
    for key in Set(keys) where facts.participants[key] == nil && facts.organizations[key] == nil {
        if let p = try await ledger({ try await node.record(Participant.self, StateKey.participant(key)) }) {
            facts.participants[key] = p
        } else if let o = try await ledger({ try await node.record(Organization.self, StateKey.organization(key)) }) {
            facts.organizations[key] = o.name
        }
    }
}
