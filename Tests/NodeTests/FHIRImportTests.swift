// `twinledger consent import-fhir` (Docs/fhir.md, "Import") on the real consent examples of the German Medical
// Informatics Initiative, as shipped in the PyPI package genomde-consent-check 2.0.1 (installed by
// scripts/fhir-venv.sh), against a real node process.
//
// Covers: both examples import where the mapping allows and report precisely what does not map. The base deny is
// implicit. The permits that ended in 2025 are refused as expired. Medical-data storage becomes a write grant,
// scientific use a read grant for HRESCH, until 2050-08-31 inclusive. Biomaterial codes and the policy, XACML rule,
// organization and domain extension are reported as not mapped, each with its reason. A dry run submits nothing.
// The imported grants are on the ledger and export back as research Consents. A non-Consent document and an
// inactive Consent are refused.
import Foundation
import Ledger
import TestSupport
import Testing
import TwinCrypto

@Suite("FHIR consent import (real node process)", .serialized, .realProcesses)
struct FHIRImportTests {
    /// The MII examples inside the pinned package, or nil when the environment is missing.
    func examples() throws -> [String]? {
        let lib = vectorPath("../../.build/fhir-venv/lib")
        guard let python = try? FileManager.default.contentsOfDirectory(atPath: lib).first(where: { $0.hasPrefix("python3") }) else { return nil }
        let dir = "\(lib)/\(python)/site-packages/genomde_consent_check/data/mii-consent-2025.0.1/examples"
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".json") }.sorted()
        return names.map { "\(dir)/\($0)" }
    }

    func report(_ output: String) throws -> [String: Any] {
        guard let start = output.firstIndex(of: "{"),
            let object = try JSONSerialization.jsonObject(with: Data(output[start...].utf8)) as? [String: Any]
        else { throw ProcessTestError("no JSON in: \(output)") }
        return object
    }

    @Test("the MII consent examples import where the mapping allows, with a precise report of the rest")
    func importMII() async throws {
        guard let files = try examples(), files.count == 2 else {
            Issue.record("the MII examples are not installed: run scripts/fhir-venv.sh (make test does)")
            return
        }
        let dir = try makeTemporaryDirectory("fhir-import")
        defer { removeTemporaryDirectory(dir) }
        let node = try NodeProcess(home: dir + "/home")
        try await node.start()
        defer { _ = node.stop() }
        let env = node.wallet
        let patient = try node.participant("patient", "patient", in: dir), study = try node.participant("study", "researcher", in: dir)
        let patientID = patientID(for: try KeyFile.load(from: patient).publicKey).hex
        func importing(_ file: String, dryRun: Bool = false) throws -> (Int32, [String: Any]) {
            let (status, output) = try cli(["consent", "import-fhir", "--key", patient, "--to-key-file", study, "--categories", "research.mdat",
                                            "--json", file] + (dryRun ? ["--dry-run"] : []), environment: env)
            return (status, try report(output))
        }
        func notes(_ r: [String: Any], _ outcome: String) -> [String] {
            (r["notes"] as? [[String: Any]] ?? []).filter { $0["outcome"] as? String == outcome }.compactMap { $0["detail"] as? String }
        }

        // The first example, dry run: six permits, two ended in 2025, four until 2050 of which two are biomaterial.
        let (dryStatus, dry) = try importing(files[0], dryRun: true)
        #expect(dryStatus == 0, "\(dry)")
        let planned = dry["grants"] as? [[String: Any]] ?? []
        #expect(planned.count == 2, "\(planned)")
        #expect(planned.map { $0["actions"] as? [String] ?? [] } == [["write"], ["read"]], "\(planned)")
        #expect(planned.map { $0["purpose"] as? String } == ["HRESCH", "HRESCH"], "the consent's scope is research: \(planned)")
        // 2050-08-31 inclusive: until the start of 2050-09-01 UTC.
        #expect(planned.allSatisfy { $0["valid_until"] as? Int == 2_545_603_200 && $0["valid_from"] as? Int == 1_598_918_400 }, "\(planned)")
        #expect((dry["submitted"] as? [Any])?.isEmpty == true, "a dry run submits nothing")
        let refused = notes(dry, "refused")
        #expect(refused.count == 2 && refused.allSatisfy { $0.contains("ended on 2025-08-31") }, "\(refused)")
        let unmapped = notes(dry, "not_mapped")
        #expect(unmapped.filter { $0.contains("biomaterial (BIOMAT) is physical") }.count == 2, "\(unmapped)")
        #expect(unmapped.contains { $0.contains("urn:oid:2.16.840.1.113883.3.1937.777.24.2.1791") }, "the policy: \(unmapped)")
        #expect(unmapped.contains { $0.contains("XACML") } && unmapped.contains { $0.contains("Klinikum Musterstadt") }, "\(unmapped)")
        #expect(unmapped.contains { $0.contains("DomainReference") }, "\(unmapped)")
        #expect(notes(dry, "implicit").first?.contains("base deny is the ledger's default") == true)
        let before = try cli(["consent", "list", "--patient", patientID], environment: env).output
        #expect(before.contains(": 0"), "nothing on the ledger after a dry run: \(before)")

        // Imported for real: both grants accepted.
        let (status, imported) = try importing(files[0])
        #expect(status == 0, "\(imported)")
        let submitted = imported["submitted"] as? [[String: Any]] ?? []
        #expect(submitted.count == 2 && submitted.allSatisfy { $0["status"] as? String == "committed" && $0["code"] as? String == "" }, "\(submitted)")

        // The second example: its first permit (three codes) ended in 2025; scientific use of medical data imports;
        // the biomaterial permit has no mappable code and grants nothing.
        let (secondStatus, second) = try importing(files[1])
        #expect(secondStatus == 0, "\(second)")
        #expect((second["grants"] as? [[String: Any]])?.map { $0["actions"] as? [String] ?? [] } == [["read"]], "\(second)")
        #expect(notes(second, "not_mapped").contains { $0.contains("no code of this permit has a ledger counterpart") }, "\(second)")

        // Three grants on the ledger, exported back as research Consents to the study.
        let (_, listed) = try cli(["consent", "list", "--patient", patientID], environment: env)
        #expect(listed.contains(": 3"), "\(listed)")
        let (body, code) = try await httpRequest(port: node.port, method: "GET", path: "/v1/fhir/Consent?patient=\(patientID)", body: nil)
        #expect(code == 200)
        let bundle = try JSONSerialization.jsonObject(with: body) as? [String: Any]
        let consents = (bundle?["entry"] as? [[String: Any]] ?? []).compactMap { $0["resource"] as? [String: Any] }
        #expect(consents.count == 3 && consents.allSatisfy {
            (($0["scope"] as? [String: Any])?["coding"] as? [[String: Any]])?.first?["code"] as? String == "research"
        }, "\(consents)")

        // Refused documents: not a Consent, and an inactive Consent.
        try #"{"resourceType":"Patient","id":"p"}"#.write(toFile: dir + "/patient.json", atomically: true, encoding: .utf8)
        let (notConsent, notConsentOutput) = try cli(["consent", "import-fhir", "--key", patient, "--to-key-file", study, "--categories", "x",
                                                       dir + "/patient.json"], environment: env)
        #expect(notConsent != 0 && notConsentOutput.contains("a Patient is not a Consent or a Bundle"), "\(notConsentOutput)")
        var inactive = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: files[0]))) as? [String: Any] ?? [:]
        inactive["status"] = "inactive"
        try JSONSerialization.data(withJSONObject: inactive).write(to: URL(fileURLWithPath: dir + "/inactive.json"))
        let (inactiveStatus, inactiveReport) = try importing(dir + "/inactive.json")
        #expect(inactiveStatus == 2 && notes(inactiveReport, "refused").first?.contains("not active") == true, "\(inactiveReport)")
        // A date out of range is refused for its permit, with the reason; the others still map.
        var farOff = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: files[0]))) as? [String: Any] ?? [:]
        var base = farOff["provision"] as? [String: Any] ?? [:]
        var permits = base["provision"] as? [[String: Any]] ?? []
        permits[1]["period"] = ["start": "2020-09-01", "end": "99999-12-31"]
        base["provision"] = permits
        farOff["provision"] = base
        try JSONSerialization.data(withJSONObject: farOff).write(to: URL(fileURLWithPath: dir + "/far.json"))
        let (_, far) = try importing(dir + "/far.json", dryRun: true)
        #expect(notes(far, "refused").contains { $0.contains("99999-12-31 is not a FHIR date") }, "\(far)")
        #expect((far["grants"] as? [Any])?.count == 1, "the other permit still maps: \(far)")
    }
}
