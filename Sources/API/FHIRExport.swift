import Encoding
import Foundation
import Ledger
import TwinCrypto

/// The FHIR export of Docs/fhir.md: the ledger's grants and delegations as `Consent`, break-glass and served reads
/// as `AuditEvent`, the patient's signed transactions as `Provenance`, each in FHIR R4 (4.0.1) or R5 (5.0.0) shape,
/// gathered in a `searchset` Bundle. Pure: the routes gather the facts from the ledger and this builds the JSON.
public enum FHIRVersion: Sendable {
    case r4, r5
}

/// What the export reads from the ledger about one patient.
public struct FHIRFacts: Sendable {
    public struct Dated<T: Sendable>: Sendable {
        public let record: T
        /// Block time of creation and of revocation, in milliseconds.
        public let createdMillis: UInt64
        public let revokedMillis: UInt64?
    }

    public struct SignedEntry: Sendable {
        public let id: Hash32
        public let transaction: SignedTransaction
        public let height: UInt64
        public let timeMillis: UInt64
        /// The resource the transaction created or changed (`Consent/…` for grants, revocations and delegations).
        public let target: String
    }

    public var chainID: String
    public var patient: Hash32
    /// The patient's key id, if the patient is enrolled.
    public var patientKey: Hash32?
    /// The head's time, in seconds: what "active" is judged at.
    public var nowSeconds: UInt64
    public var grants: [Dated<Grant>] = []
    public var delegations: [Dated<Delegation>] = []
    public var participants: [Hash32: Participant] = [:]
    public var accesses: [AccessRecord] = []
    public var organizations: [Hash32: String] = [:]
    public var signed: [SignedEntry] = []
}

public enum FHIRExport {
    static let purposeSystem = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
    static let keySystem = "urn:twinledger:key"
    static let categorySystem = "urn:twinledger:category"

    /// A `searchset` Bundle of `resources`.
    public static func bundle(_ resources: [[String: Any]], type: String) -> [String: Any] {
        [
            "resourceType": "Bundle", "type": "searchset", "total": resources.count,
            "entry": resources.map { r -> [String: Any] in
                ["fullUrl": "urn:twinledger:\(type):\(r["id"] as? String ?? "")", "resource": r, "search": ["mode": "match"]]
            },
        ]
    }

    // MARK: References

    /// A reference to the holder of `keyID`: the patient, a practitioner, a related person (caregiver), another
    /// patient, an organization; an identifier-only reference for a key the ledger does not know.
    static func reference(_ keyID: Hash32, _ facts: FHIRFacts) -> [String: Any] {
        let identifier: [String: Any] = ["system": keySystem, "value": keyID.hex]
        if keyID == facts.patientKey { return ["reference": "Patient/\(facts.patient.hex)", "display": "the patient"] }
        if let name = facts.organizations[keyID] {
            return ["identifier": ["system": "urn:twinledger:organization", "value": name], "display": "organization \(name)"]
        }
        guard let p = facts.participants[keyID] else { return ["identifier": identifier] }
        let display = "\(p.role.name) of \(p.organization)"
        switch p.role {
        case .patient: return ["reference": "Patient/\(p.patientID?.hex ?? keyID.hex)", "identifier": identifier, "display": display]
        case .caregiver: return ["reference": "RelatedPerson/\(keyID.hex)", "identifier": identifier, "display": display]
        case .node, .authority: return ["identifier": identifier, "display": display]
        default: return ["reference": "Practitioner/\(keyID.hex)", "identifier": identifier, "display": display]
        }
    }

    static func grantee(_ g: Grantee, _ facts: FHIRFacts) -> [String: Any] {
        switch g {
        case .participant(let id): reference(id, facts)
        case .policy(let text): ["identifier": ["system": "urn:twinledger:abe-policy", "value": text], "display": "whoever satisfies \(text)"]
        }
    }

    static func instant(_ millis: UInt64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(millis) / 1_000))
    }

    static func date(_ millis: UInt64) -> String { String(instant(millis).prefix(10)) }

    static func coding(_ system: String, _ code: String, _ display: String? = nil) -> [String: Any] {
        var c: [String: Any] = ["system": system, "code": code]
        if let display { c["display"] = display }
        return c
    }

    static func concept(_ system: String, _ code: String, _ display: String? = nil) -> [String: Any] {
        ["coding": [coding(system, code, display)]]
    }

    static func period(from: UInt64, until: UInt64?) -> [String: Any] {
        var p: [String: Any] = ["start": instant(from)]
        if let until { p["end"] = instant(until) }
        return p
    }

    // MARK: Consent

    /// The grant's actions as FHIR consent actions: read is `access`, write is `correct`, share is `disclose`.
    static func actions(_ a: Actions) -> [[String: Any]] {
        [(Actions.read, "access"), (.write, "correct"), (.share, "disclose")].filter { a.contains($0.0) }
            .map { concept("http://terminology.hl7.org/CodeSystem/consentaction", $0.1) }
    }

    /// A grant as a Consent: permit, for the grantee as information recipient, the actions, the purpose, the
    /// categories as codes and the named shadows as data; the period ends at the revocation if there was one.
    public static func consent(_ dated: FHIRFacts.Dated<Grant>, _ facts: FHIRFacts, _ version: FHIRVersion) -> [String: Any] {
        let g = dated.record
        var provision: [String: Any] = [
            "actor": [["role": concept("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP", "information recipient"),
                       "reference": grantee(g.grantee, facts)]],
            "action": actions(g.actions), "purpose": [coding(purposeSystem, g.purpose.rawValue)],
        ]
        if !g.scope.shadows.isEmpty {
            provision["data"] = g.scope.shadows.map { ["meaning": "instance", "reference": ["reference": "DocumentReference/\($0.hex)"]] }
        }
        var extensions: [[String: Any]] = []
        if let reason = g.breakGlassReason {
            extensions.append(["url": "urn:twinledger:fhir:break-glass-reason", "valueString": reason])
        }
        return consentShell(
            id: g.id, kind: "consent.grant", active: g.isActive(at: facts.nowSeconds), dated: (dated.createdMillis, dated.revokedMillis),
            validity: (g.validFrom * 1_000, g.validUntil.map { $0 * 1_000 }), research: g.purpose == .research, extraCategories: [],
            grantor: reference(g.grantor, facts), grantee: grantee(g.grantee, facts), categories: g.scope.categories,
            provision: provision, extensions: extensions, facts, version)
    }

    /// A delegation as a Consent: permit, the delegate as the patient's agent (`AGNT`), the delegated powers as
    /// TwinLedger action codes, over the delegated categories.
    public static func delegationConsent(_ dated: FHIRFacts.Dated<Delegation>, _ facts: FHIRFacts, _ version: FHIRVersion) -> [String: Any] {
        let d = dated.record
        let powers = [(DelegatedPowers.grant, "grant"), (.revoke, "revoke"), (.erase, "erase"), (.register, "register")]
            .filter { d.powers.contains($0.0) }.map { concept("urn:twinledger:delegated-power", $0.1) }
        let provision: [String: Any] = [
            "actor": [["role": concept("http://terminology.hl7.org/CodeSystem/v3-RoleClass", "AGNT", "agent"), "reference": reference(d.delegate, facts)]],
            "action": powers,
        ]
        let patient = facts.patientKey.map { reference($0, facts) } ?? ["reference": "Patient/\(facts.patient.hex)"]
        return consentShell(
            id: d.id, kind: "delegation.grant", active: d.isActive(at: facts.nowSeconds), dated: (dated.createdMillis, dated.revokedMillis),
            validity: (dated.createdMillis, d.validUntil.map { $0 * 1_000 }), research: false,
            extraCategories: [concept("urn:twinledger:consent-kind", "delegation")], grantor: patient, grantee: reference(d.delegate, facts),
            categories: d.categories, provision: provision, extensions: [], facts, version)
    }

    /// The Consent skeleton both share, in R4 or R5 shape (the tables of Docs/fhir.md): status, categories and
    /// scope, patient, date, grantor and grantee, the permit decision, the period ending at the earlier of the
    /// validity's end and the revocation, and the provision with the categories as codes.
    static func consentShell(
        id: Hash32, kind: String, active: Bool, dated: (created: UInt64, revoked: UInt64?), validity: (from: UInt64, until: UInt64?),
        research: Bool, extraCategories: [[String: Any]], grantor: [String: Any], grantee: [String: Any], categories: [String],
        provision initial: [String: Any], extensions extra: [[String: Any]], _ facts: FHIRFacts, _ version: FHIRVersion
    ) -> [String: Any] {
        var provision = initial
        var extensions = extra
        if let revoked = dated.revoked {
            extensions.insert(["url": "urn:twinledger:fhir:revoked", "valueDateTime": instant(revoked)], at: 0)
        }
        let period = period(from: validity.from, until: [validity.until, dated.revoked].compactMap { $0 }.min())
        let scope = concept("http://terminology.hl7.org/CodeSystem/consentscope", research ? "research" : "patient-privacy")
        let category = [concept("http://loinc.org", "59284-0", "Patient Consent")] + extraCategories
        let subject: [String: Any] = ["reference": "Patient/\(facts.patient.hex)"]
        var resource: [String: Any] = [
            "resourceType": "Consent", "id": id.hex, "status": active ? "active" : "inactive",
            "identifier": [["system": "urn:twinledger:transaction", "value": id.hex]],
        ]
        if !extensions.isEmpty { resource["extension"] = extensions }
        // The custodian: the organization that enrolled the patient.
        let custodian: [[String: Any]] = facts.patientKey.flatMap { facts.participants[$0] }.map {
            [["identifier": ["system": "urn:twinledger:organization", "value": $0.organization], "display": "organization \($0.organization)"]]
        } ?? []
        switch version {
        case .r4:
            if !custodian.isEmpty { resource["organization"] = custodian }
            if !categories.isEmpty { provision["code"] = categories.map { concept(categorySystem, $0) } }
            provision["type"] = "permit"
            provision["period"] = period
            resource["category"] = category
            resource["scope"] = scope
            resource["patient"] = subject
            resource["dateTime"] = instant(dated.created)
            resource["performer"] = [grantor]
            resource["policyRule"] = concept("http://terminology.hl7.org/CodeSystem/v3-ActCode", "OPTIN", "opt-in")
            resource["provision"] = provision
        case .r5:
            if !custodian.isEmpty { resource["controller"] = custodian }
            if !categories.isEmpty { provision["documentType"] = categories.map { coding(categorySystem, $0) } }
            resource["category"] = category + [scope]
            resource["subject"] = subject
            resource["date"] = date(dated.created)
            resource["period"] = period
            resource["grantor"] = [grantor]
            resource["grantee"] = [grantee]
            resource["decision"] = "permit"
            resource["policyText"] = [["display": "TwinLedger \(kind) \(id.hex)"]]
            resource["provision"] = [provision]
        }
        return resource
    }

    // MARK: AuditEvent

    /// A break-glass as an AuditEvent: a security alert (DICOM 110113), emergency action, purpose ETREAT, the
    /// practitioner as requestor, the patient as the entity, the stated reason as the entity's description.
    public static func breakGlassEvent(_ dated: FHIRFacts.Dated<Grant>, _ facts: FHIRFacts, _ version: FHIRVersion) -> [String: Any] {
        let g = dated.record
        let alert = coding("http://dicom.nema.org/resources/ontology/DCM", "110113", "Security Alert")
        let purpose = concept(purposeSystem, Purpose.emergencyTreatment.rawValue, "emergency treatment")
        let observer: [String: Any] = ["display": "TwinLedger consortium \(facts.chainID)"]
        var resource: [String: Any] = ["resourceType": "AuditEvent", "id": g.id.hex, "recorded": instant(dated.createdMillis)]
        let who = reference(g.grantor, facts)
        switch version {
        case .r4:
            resource["type"] = alert
            resource["subtype"] = [coding("urn:twinledger:event", "break-glass", "break-glass access")]
            resource["action"] = "E"
            resource["outcome"] = "0"
            resource["purposeOfEvent"] = [purpose]
            resource["agent"] = [["who": who, "requestor": true, "purposeOfUse": [purpose]]]
            resource["source"] = ["observer": observer]
            resource["entity"] = [[
                "what": ["reference": "Patient/\(facts.patient.hex)"],
                "type": coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "1", "Person"),
                "description": g.breakGlassReason ?? "",
            ]]
        case .r5:
            resource["category"] = [["coding": [alert]]]
            resource["code"] = concept("urn:twinledger:event", "break-glass", "break-glass access")
            resource["action"] = "E"
            resource["severity"] = "alert"
            resource["outcome"] = ["code": coding("http://terminology.hl7.org/CodeSystem/audit-event-outcome", "0", "Success")]
            resource["authorization"] = [purpose]
            resource["patient"] = ["reference": "Patient/\(facts.patient.hex)"]
            resource["agent"] = [["who": who, "requestor": true]]
            resource["source"] = ["observer": observer]
            resource["entity"] = [[
                "what": ["reference": "Patient/\(facts.patient.hex)"],
                "detail": [["type": concept("urn:twinledger:event", "reason", "stated emergency"), "valueString": g.breakGlassReason ?? ""]],
            ] as [String: Any]]
        }
        return resource
    }

    /// A served read as an AuditEvent: a RESTful read by the requester, for its purpose (ETREAT for an emergency),
    /// observed by the node that served it; the shadow as a DocumentReference and the blob by its address.
    public static func accessEvent(_ r: AccessRecord, _ facts: FHIRFacts, _ version: FHIRVersion) -> [String: Any] {
        let id = "\(r.node.hex.prefix(32))-\(r.sequence)"
        let purpose = concept(purposeSystem, r.purpose.rawValue)
        let observer = reference(r.node, facts)
        let rest = coding("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest", "RESTful Operation")
        let read = coding("http://hl7.org/fhir/restful-interaction", "read", "read")
        let shadow: [String: Any] = ["reference": "DocumentReference/\(r.shadow.hex)"]
        let blob: [String: Any] = ["identifier": ["system": "urn:twinledger:blob", "value": r.blob.hex]]
        var grant: [[String: Any]] = []
        if let g = r.grant { grant = [["what": ["reference": "Consent/\(g.hex)"]]] }
        var resource: [String: Any] = ["resourceType": "AuditEvent", "id": id, "recorded": instant(r.timeMillis)]
        switch version {
        case .r4:
            resource["type"] = rest
            resource["subtype"] = [read]
            resource["action"] = "R"
            resource["outcome"] = "0"
            resource["purposeOfEvent"] = [purpose]
            resource["agent"] = [["who": reference(r.requester, facts), "requestor": true, "purposeOfUse": [purpose]]]
            resource["source"] = ["observer": observer]
            resource["entity"] = [
                ["what": ["reference": "Patient/\(facts.patient.hex)"], "type": coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "1", "Person")],
                ["what": shadow, "type": coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2", "System Object")],
                ["what": blob],
            ] + grant
        case .r5:
            resource["category"] = [["coding": [rest]]]
            resource["code"] = ["coding": [read]]
            resource["action"] = "R"
            resource["outcome"] = ["code": coding("http://terminology.hl7.org/CodeSystem/audit-event-outcome", "0", "Success")]
            resource["authorization"] = [purpose]
            resource["patient"] = ["reference": "Patient/\(facts.patient.hex)"]
            resource["agent"] = [["who": reference(r.requester, facts), "requestor": true]]
            resource["source"] = ["observer": observer]
            resource["entity"] = [["what": shadow], ["what": blob]] + grant
        }
        return resource
    }

    // MARK: Provenance

    /// A signed transaction as a Provenance: its target, the block time as `recorded`, the signer as author, and the
    /// BIP340 signature over the transaction's signing digest (Docs/transactions.md), base64, with the signed bytes'
    /// format named.
    public static func provenance(_ entry: FHIRFacts.SignedEntry, _ facts: FHIRFacts, _ version: FHIRVersion) -> [String: Any] {
        let kind = entry.transaction.body.payload.kind
        let operation: String
        switch entry.transaction.body.payload {
        case .consentRevoke, .delegationRevoke: operation = "UPDATE"
        case .shadowErase: operation = "DELETE"
        default: operation = "CREATE"
        }
        let signer = reference(entry.transaction.body.signer.keyID, facts)
        var resource: [String: Any] = [
            "resourceType": "Provenance", "id": entry.id.hex,
            "target": [["reference": entry.target]],
            "recorded": instant(entry.timeMillis),
            "activity": ["coding": [coding("http://terminology.hl7.org/CodeSystem/v3-DataOperation", operation),
                                    coding("urn:twinledger:transaction-kind", kind)]],
            "agent": [["type": concept("http://terminology.hl7.org/CodeSystem/provenance-participant-type", "author", "Author"), "who": signer]],
            "entity": [["role": "source",
                        "what": ["identifier": ["system": "urn:twinledger:transaction", "value": entry.id.hex],
                                 "display": "\(kind) in block \(entry.height) of \(facts.chainID)"]]],
        ]
        let signature: [String: Any] = [
            "type": [coding("urn:iso-astm:E1762-95:2013", "1.2.840.10065.1.12.1.1", "Author's Signature")],
            "when": instant(entry.timeMillis), "who": signer,
            "sigFormat": "application/vnd.twinledger.bip340", "targetFormat": "application/vnd.twinledger.transaction",
            "data": Data(entry.transaction.signature.bytes).base64EncodedString(),
        ]
        resource["signature"] = [signature]
        return resource
    }
}
