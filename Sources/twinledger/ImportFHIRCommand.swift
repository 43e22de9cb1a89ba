import API
import ArgumentParser
import Foundation
import Ledger
import TwinCrypto

extension ConsentCommand {
    /// `twinledger consent import-fhir` (Docs/fhir.md, "Import"): a FHIR R4 Consent (or a Bundle of them) turned
    /// into the signer's `consent.grant` transactions where the mapping allows, with a report of every element.
    struct ImportFHIR: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import-fhir",
            abstract: "Import a FHIR Consent (e.g. the MII's) as consent.grant transactions, reporting what cannot be mapped.",
            discussion: """
                A FHIR Consent names neither a ledger grantee nor shadow categories: give them with --to, --to-key-file \
                or --policy, and --categories. Exit status 0 when every mapped grant was accepted (or, with --dry-run, \
                would be submitted), 2 when one was rejected or nothing could be mapped.
                """
        )
        @OptionGroup var signer: SignerOptions
        @Argument(help: "The FHIR Consent or Bundle (JSON).") var file: String
        @Option(help: "Grantee key id.") var to: String?
        @Option(help: "Or: the grantee's key file.") var toKeyFile: String?
        @Option(help: "Or: an ABE policy expression as grantee.") var policy: String?
        @Option(help: "Comma-separated categories the imported grants cover.") var categories: String
        @Flag(help: "Print the report and the grants, submit nothing.") var dryRun = false
        @OptionGroup var wallet: WalletOptions

        func run() async throws {
            let key = try signer.load()
            let grantee: Grantee = if let policy { .policy(policy) } else { .participant(try keyID(to, file: toKeyFile, "the grantee")) }
            let target = FHIRConsentImport.Target(
                patient: try await wallet.client().patientID(of: key.publicKey), grantee: grantee, categories: list(categories),
                nowSeconds: UInt64(Date().timeIntervalSince1970))
            guard !target.categories.isEmpty else { throw ValidationError("--categories names at least one category") }
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch { throw WalletError("cannot read \(file): \(error.localizedDescription)") }
            let result: FHIRConsentImport.Result
            do { result = try FHIRConsentImport.read(data, target: target) } catch { throw WalletError("\(file): \(error)") }
            var submitted: [[String: Any]] = []
            var rejected = 0
            if !dryRun {
                let client = try wallet.client()
                for mapped in result.grants {
                    let (id, response) = try await client.submit(.consentGrant(mapped.grant), key: key)
                    let code = response.code ?? ""
                    if response.status != "committed" || !code.isEmpty { rejected += 1 }
                    submitted.append(["provision": mapped.provision, "transaction": id.hex, "status": response.status,
                                      "height": response.height ?? 0, "code": code])
                }
            }
            if wallet.json {
                let object: [String: Any] = [
                    "file": file, "dry_run": dryRun,
                    "notes": result.notes.map { ["element": $0.element, "outcome": $0.outcome.rawValue, "detail": $0.detail] },
                    "grants": result.grants.map { m -> [String: Any] in
                        ["provision": m.provision, "actions": m.grant.actions.names, "purpose": m.grant.purpose.rawValue,
                         "valid_from": m.grant.validFrom, "valid_until": m.grant.validUntil ?? 0, "categories": m.grant.scope.categories]
                    },
                    "submitted": submitted,
                ]
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted]), as: UTF8.self))
            } else {
                print("import of \(file): \(result.grants.count) grant(s) mapped")
                for note in result.notes { print("  \(note.outcome.rawValue.uppercased().replacingOccurrences(of: "_", with: " ")) \(note.element): \(note.detail)") }
                for row in submitted {
                    let code = row["code"] as? String ?? ""
                    let outcome = row["status"] as? String != "committed" ? "submitted, not yet committed"
                        : code.isEmpty ? "accepted in block \(row["height"] ?? 0)" : "REJECTED: \(code) — \(explain(code))"
                    print("  consent.grant for \(row["provision"] ?? ""): \(outcome), transaction \(row["transaction"] ?? "")")
                }
                if dryRun { print("  (dry run: nothing submitted)") }
            }
            if rejected > 0 || result.grants.isEmpty { throw ExitCode(2) }
        }
    }
}
