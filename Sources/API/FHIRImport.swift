import Encoding
import Foundation
import Ledger

/// The FHIR Consent import of Docs/fhir.md ("Import"): a FHIR R4 Consent, or a Bundle of them, read as the patient's
/// `consent.grant` transactions where the mapping allows, with a report of every element that was mapped, dropped or
/// refused, and why. Written for the consents of the German Medical Informatics Initiative (MII, module Consent,
/// policy codes `urn:oid:2.16.840.1.113883.3.1937.777.24.5.3`): a base `deny` provision with nested `permit`
/// provisions, each with a period and policy codes. Pure: the wallet submits what it returns.
public enum FHIRConsentImport {
    /// What the FHIR document does not say and the ledger needs: who receives the access, over which categories.
    public struct Target: Sendable {
        public var patient: Hash32
        public var grantee: Grantee
        public var categories: [String]
        /// Now, in seconds: provisions that ended before it are reported and not imported.
        public var nowSeconds: UInt64

        public init(patient: Hash32, grantee: Grantee, categories: [String], nowSeconds: UInt64) {
            (self.patient, self.grantee, self.categories, self.nowSeconds) = (patient, grantee, categories, nowSeconds)
        }
    }

    /// One line of the report: which part of the document, what became of it, and why.
    public struct Note: Sendable, Hashable, Codable {
        public enum Outcome: String, Sendable, Codable {
            /// Turned into (part of) a grant.
            case mapped
            /// Has no ledger counterpart; dropped, with the reason.
            case notMapped = "not_mapped"
            /// Understood but not imported (expired, not active, malformed).
            case refused
            /// Matches the ledger's model without a transaction (a base deny: what is not granted is refused).
            case implicit
        }

        public let element: String
        public let outcome: Outcome
        public let detail: String
    }

    /// A grant the import would submit, with the provision it came from.
    public struct Mapped: Sendable {
        public let provision: String
        public let grant: ConsentGrant
    }

    public struct Result: Sendable {
        public var grants: [Mapped] = []
        public var notes: [Note] = []
    }

    public struct ImportError: Error, CustomStringConvertible {
        public let description: String
    }

    static let miiPolicySystem = "urn:oid:2.16.840.1.113883.3.1937.777.24.5.3"

    /// The MII policy codes with a ledger meaning, by the code's last arc: the action they allow and, for scientific
    /// use, the purpose.
    static let miiCodes: [String: (action: Actions, purpose: Purpose?, name: String)] = [
        "6": (.write, nil, "MDAT erheben (collect medical data)"),
        "7": (.write, nil, "MDAT speichern, verarbeiten (store and process medical data)"),
        "8": (.read, .research, "MDAT wissenschaftlich nutzen EU DSGVO NIVEAU (scientific use of medical data)"),
        "45": (.write, nil, "MDAT retrospektiv speichern verarbeiten (store and process earlier medical data)"),
        "46": (.read, .research, "MDAT retrospektiv wissenschaftlich nutzen EU DSGVO NIVEAU (scientific use of earlier medical data)"),
        "9": (.share, .research, "MDAT zusammenfuehren Dritte (merge medical data with third parties)"),
        "47": (.share, .research, "MDAT retrospektiv zusammenfuehren Dritte (merge earlier medical data with third parties)"),
    ]

    /// Why the other MII codes have no ledger counterpart, by the code's group.
    static func unmappedReason(_ code: String) -> String {
        guard let n = Int(code) else { return "not an MII policy code this import knows" }
        switch n {
        case 1, 44, 48, 10, 14, 18, 24, 50, 54, 26, 30, 32, 35, 57, 59:
            return "a group code; the MII lists the individual permissions under it"
        case 2...5: return "identifying data (IDAT) are not held in shadows; the ledger names patients by key"
        case 11...13, 15...17, 38, 39: return "health-insurer data transfers (KKDAT) are not an access to the twin"
        case 19...23, 25, 51...53, 55: return "biomaterial (BIOMAT) is physical; it is not a shadow"
        case 27...29, 31, 37: return "re-contacting the patient is not an access the ledger grants"
        case 49: return "providing data outside the EU GDPR level has no counterpart: the ledger has no data-protection levels"
        case 33, 34, 36, 40...43, 56, 58: return "project-specific permissions (GECCO83, NUM/CODEX, acribis) have no ledger counterpart"
        default: return "not an MII policy code this import knows"
        }
    }

    /// Reads `data` (a Consent or a Bundle of Consents) against `target`.
    public static func read(_ data: Data, target: Target) throws -> Result {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ImportError(description: "the file is not a JSON object")
        }
        var consents: [[String: Any]] = []
        switch object["resourceType"] as? String {
        case "Consent": consents = [object]
        case "Bundle":
            consents = (object["entry"] as? [[String: Any]] ?? []).compactMap { $0["resource"] as? [String: Any] }
                .filter { $0["resourceType"] as? String == "Consent" }
            guard !consents.isEmpty else { throw ImportError(description: "the Bundle holds no Consent") }
        case let other: throw ImportError(description: "a \(other ?? "document without resourceType") is not a Consent or a Bundle")
        }
        var result = Result()
        for consent in consents { read(consent, target: target, into: &result) }
        return result
    }

    static func read(_ consent: [String: Any], target: Target, into result: inout Result) {
        let id = consent["id"] as? String ?? "?"
        let name = "Consent/\(id)"
        func note(_ element: String, _ outcome: Note.Outcome, _ detail: String) {
            result.notes.append(Note(element: "\(name) \(element)", outcome: outcome, detail: detail))
        }
        guard consent["status"] as? String == "active" else {
            note("status", .refused, "status is \(consent["status"] as? String ?? "absent"), not active: nothing imported")
            return
        }
        note("status", .mapped, "active")
        if let patient = (consent["patient"] as? [String: Any])?["reference"] as? String {
            note("patient", .mapped, "\(patient) is taken to be the signer, patient \(target.patient.hex.prefix(16))… (the ledger names patients by key)")
        }
        let scopes = codes(consent["scope"])
        let research = scopes.contains { $0.code == "research" }
        note("scope", .mapped, research ? "research: purpose HRESCH" : "\(scopes.map(\.code).joined(separator: ", ")): purpose TREAT unless a provision names one")
        for organization in consent["organization"] as? [[String: Any]] ?? [] {
            let shown = organization["display"] as? String ?? organization["reference"] as? String ?? "?"
            note("organization", .notMapped, "\(shown): the grantee is given on the command line")
        }
        for policy in consent["policy"] as? [[String: Any]] ?? [] {
            note("policy", .notMapped, "\(policy["uri"] as? String ?? "?"): the policy document is not on the ledger (kept in this report only)")
        }
        if consent["policyRule"] != nil { note("policyRule", .notMapped, "a rule text or embedded XACML is not evaluated by the ledger") }
        for ext in consent["extension"] as? [[String: Any]] ?? [] {
            note("extension", .notMapped, "\(ext["url"] as? String ?? "?") has no ledger counterpart")
        }
        guard let base = consent["provision"] as? [String: Any] else {
            note("provision", .refused, "no provision: nothing to grant")
            return
        }
        let nested = base["provision"] as? [[String: Any]] ?? []
        switch (base["type"] as? String, nested.isEmpty) {
        case ("deny", false):
            note("provision", .implicit, "the base deny is the ledger's default (what is not granted is refused); its \(nested.count) permit(s) follow")
            for (index, provision) in nested.enumerated() {
                readProvision(provision, label: "provision.provision[\(index)]", research: research, target: target, consent: name, into: &result)
            }
        case ("permit", _):
            readProvision(base, label: "provision", research: research, target: target, consent: name, into: &result)
            if !nested.isEmpty { note("provision.provision", .notMapped, "exceptions inside a permit (\(nested.count)) are not imported: the ledger has no deny") }
        default:
            note("provision", .refused, "a base \(base["type"] as? String ?? "provision without type") with no permits grants nothing")
        }
    }

    static func readProvision(_ provision: [String: Any], label: String, research: Bool, target: Target, consent: String,
                              into result: inout Result) {
        func note(_ outcome: Note.Outcome, _ detail: String) {
            result.notes.append(Note(element: "\(consent) \(label)", outcome: outcome, detail: detail))
        }
        guard provision["type"] as? String == "permit" else {
            note(.notMapped, "a nested \(provision["type"] as? String ?? "untyped") provision: the ledger has no deny")
            return
        }
        let period = provision["period"] as? [String: Any]
        var from = target.nowSeconds
        if let start = period?["start"] as? String {
            guard let parsed = seconds(start) else {
                note(.refused, "period.start \(start) is not a FHIR date between 1970 and 9999")
                return
            }
            from = parsed
        }
        var until: UInt64?
        if let end = period?["end"] as? String {
            guard let day = seconds(end) else {
                note(.refused, "period.end \(end) is not a FHIR date between 1970 and 9999")
                return
            }
            until = end.count == 10 ? day + 86_400 : day  // a date's end is inclusive
        }
        if let until, until <= target.nowSeconds {
            let held = codes(provision["code"]).map { $0.display ?? $0.code }.joined(separator: ", ")
            note(.refused, "ended on \(period?["end"] as? String ?? "") (\(held)): an expired permission is not imported")
            return
        }
        var actions: Actions = []
        var purpose: Purpose = research ? .research : .treatment
        var mapped: [String] = []
        for code in codes(provision["code"]) {
            // MII policy codes are the system's OID and a last arc: `2.16.840.1.113883.3.1937.777.24.5.3.8`.
            let oid = miiPolicySystem.dropFirst("urn:oid:".count) + "."
            guard code.system == miiPolicySystem, code.code.hasPrefix(oid) else {
                note(.notMapped, "\(code.system)#\(code.code): not an MII policy code")
                continue
            }
            let arc = String(code.code.dropFirst(oid.count))
            if let meaning = miiCodes[arc] {
                actions.insert(meaning.action)
                if let p = meaning.purpose { purpose = p }
                mapped.append(meaning.name)
            } else {
                note(.notMapped, "\(code.display ?? code.code): \(unmappedReason(arc))")
            }
        }
        for coding in provision["purpose"] as? [[String: Any]] ?? [] {
            if let code = coding["code"] as? String, let p = Purpose(rawValue: code) { purpose = p }
        }
        guard !actions.isEmpty else {
            note(.notMapped, "no code of this permit has a ledger counterpart: no grant")
            return
        }
        let grant = ConsentGrant(
            patient: target.patient, grantee: target.grantee, actions: actions, scope: Scope(categories: target.categories),
            purpose: purpose, validFrom: from, validUntil: until)
        result.grants.append(Mapped(provision: "\(consent) \(label)", grant: grant))
        note(.mapped, "\(mapped.joined(separator: "; ")) -> consent.grant \(actions.names.joined(separator: "+")) for \(purpose.rawValue)"
             + " from \(period?["start"] as? String ?? "now") until \(period?["end"] as? String ?? "revoked")")
    }

    struct Code {
        let system: String
        let code: String
        let display: String?
    }

    /// The codings of a CodeableConcept or of a list of them.
    static func codes(_ value: Any?) -> [Code] {
        let concepts = (value as? [[String: Any]]) ?? ((value as? [String: Any]).map { [$0] } ?? [])
        return concepts.flatMap { concept in
            (concept["coding"] as? [[String: Any]] ?? []).compactMap { coding in
                (coding["code"] as? String).map { Code(system: coding["system"] as? String ?? "", code: $0, display: coding["display"] as? String) }
            }
        }
    }

    /// A FHIR date (`YYYY-MM-DD`, midnight UTC) or dateTime, in seconds since the epoch; nil outside 1970–9999.
    static func seconds(_ text: String) -> UInt64? {
        let date: Date?
        if text.count == 10 {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = "yyyy-MM-dd"
            date = formatter.date(from: text)
        } else {
            date = ISO8601DateFormatter().date(from: text)
        }
        guard let t = date?.timeIntervalSince1970, t >= 0, t < 253_402_300_800 else { return nil }
        return UInt64(t)
    }
}
