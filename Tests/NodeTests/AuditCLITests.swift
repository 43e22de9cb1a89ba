// The auditor's light client (`twinledger audit verify`, Docs/audit.md) against a real four-validator consortium.
//
// Covers: with only the genesis file, an enrolled auditor verifies a patient's complete history (enrolment, a shadow,
// a grant, a delegation, a break-glass, a revocation) and the practitioner's read under its anchored batch, on two
// honest nodes, which agree (exit 0); the timeline, the grant's period and revocation, and a double-sign recorded
// on the ledger are in the JSON report. Then
// lying nodes, each a proxy in front of a real node: one alters a transaction inside a block, one hides a history
// entry, one serves a header the certificate does not sign, one forges a certificate's signature; each is caught
// and named with its finding while the honest node's history still verifies (exit 2). A fork signed by every
// validator's key (more than a third Byzantine) is reported as conflicting certified chains (exit 3).
import Consensus
import Encoding
import Foundation
import Ledger
import TestSupport
import Testing
import TwinCrypto

@Suite("Auditor's light client (real processes)", .serialized, .realProcesses)
struct AuditCLITests {
    func report(_ output: String) throws -> [String: Any] { try jsonObject(in: output) }

    func nodes(_ report: [String: Any]) -> [[String: Any]] { report["nodes"] as? [[String: Any]] ?? [] }

    @Test("audit verify trusts only the genesis, verifies the whole history on honest nodes, and names every lying node")
    func auditVerify() async throws {
        let dir = try makeTemporaryDirectory("audit")
        defer { removeTemporaryDirectory(dir) }
        let net = try ConsortiumProcesses(dir, validators: 4)
        defer { net.stopAll() }
        try await net.startAll()
        try await net.waitHeight(["v0", "v1", "v2", "v3"], atLeast: 1)
        let env = net.wallet("v0")
        let patient = try net.participant("patient", "patient"), doctor = try net.participant("doctor", "practitioner", by: "v1")
        let medic = try net.participant("medic", "emergency"), auditor = try net.participant("auditor", "auditor")
        let carer = try net.participant("carer", "caregiver")
        let patientID = Ledger.patientID(for: try KeyFile.load(from: patient).publicKey).hex

        // The patient's history: a shadow, a grant, the practitioner's read, a delegation, a break-glass, a revocation.
        var random = SeededRandom(seed: 5)
        try Data(random.bytes(40_000)).write(to: URL(fileURLWithPath: dir + "/scan.bin"))
        let put = try cli(["shadow", "put", "--key", patient, "--categories", "neuro.mri", dir + "/scan.bin"], environment: env)
        #expect(put.status == 0, "\(put.output)")
        let shadow = put.output.components(separatedBy: "shadow id ").last?.prefix(64).description ?? ""
        let grant = try cli(["consent", "grant", "--key", patient, "--to-key-file", doctor, "--categories", "neuro", "--days", "7"], environment: env)
        #expect(grant.status == 0, "\(grant.output)")
        let grantID = grant.output.components(separatedBy: "transaction ").last?.prefix(64).description ?? ""
        let read = try cli(["shadow", "get", "--key", doctor, "--shadow", shadow, "--purpose", "TREAT", "--out", dir + "/read.bin"], environment: env)
        #expect(read.status == 0, "\(read.output)")
        #expect(try cli(["delegate", "grant", "--key", patient, "--to-key-file", carer, "--powers", "grant"], environment: env).status == 0)
        let glass = try cli(["break-glass", "--key", medic, "--patient", patientID, "--reason", "unconscious on arrival"], environment: env)
        #expect(glass.status == 0, "\(glass.output)")
        #expect(try cli(["consent", "revoke", "--key", patient, "--grant", grantID], environment: env).status == 0)

        // A double-sign recorded on the ledger: v3's key signs two precommits for height 2, round 0; v0's submits them.
        let keys = try net.validators.map { try KeyFile.load(from: $0.home + "/keys/validator.key") }
        let votes = try [Hashing.sha3(Array("fork a".utf8)), Hashing.sha3(Array("fork b".utf8))].map { block in
            try SignedVote(signing: Vote(chainID: net.chainID, height: 2, round: 0, type: .precommit, block: block, validator: keys[3].publicKey.keyID),
                           with: keys[3])
        }
        let account = try JSONSerialization.jsonObject(with: try await net.get("v0", "/v1/accounts/\(keys[0].publicKey.keyID.hex)").0) as? [String: Any]
        let evidence = try SignedTransaction(signing: TransactionBody(
            chainID: net.chainID, signer: keys[0].publicKey, nonce: UInt64(account?["nonce"] as? Int ?? 0) + 1,
            payload: .evidenceSubmit(EvidenceSubmit(first: Canonical.encode(votes[0]), second: Canonical.encode(votes[1])))), with: keys[0])
        let (submitted, _) = try await httpRequest(port: net.member("v0").apiPort, method: "POST", path: "/v1/transactions?wait=commit",
                                                   body: Data(#"{"transaction":"\#(Hex.encode(evidence.bytes))"}"#.utf8),
                                                   headers: ["Content-Type": "application/json"])
        #expect(String(decoding: submitted, as: UTF8.self).contains(#""status":"committed""#), "\(String(decoding: submitted, as: UTF8.self))")

        // The reads are anchored within the node's 10 s batching interval.
        let genesis = net.member("v0").home + "/genesis.json"
        func audit(_ urls: [String], key: String? = auditor) throws -> (Int32, [String: Any]) {
            var arguments = ["audit", "verify", "--genesis", genesis, "--patient", patientID, "--json"]
            for url in urls { arguments += ["--node", url] }
            if let key { arguments += ["--key", key] }
            let (status, output) = try cli(arguments)
            return (status, try report(output))
        }
        let honest = [net.wallet("v0")["TWINLEDGER_NODE"] ?? "", net.wallet("v2")["TWINLEDGER_NODE"] ?? ""]
        var (status, verified) = try audit(honest)
        for _ in 0..<40 where (verified["accesses_verified"] as? Int ?? 0) < 3 {
            try await Task.sleep(for: .milliseconds(750))
            (status, verified) = try audit(honest)
        }
        #expect(status == 0, "\(verified)")
        #expect(nodes(verified).map { $0["status"] as? String } == ["verified", "verified"], "\(verified)")
        #expect((verified["verdict"] as? String)?.hasPrefix("VERIFIED") == true)
        // Six entries: the enrolment, the shadow, the grant, the delegation, the break-glass, the revocation.
        #expect(verified["history_entries"] as? Int == 6, "\(verified)")
        let kinds = (verified["timeline"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String }
        for kind in ["enroll", "shadow.register", "consent.grant", "delegation.grant", "break_glass", "consent.revoke", "access"] {
            #expect(kinds.contains(kind), "the timeline lacks \(kind): \(kinds)")
        }
        // The practitioner's read (its payload and envelope) is verified under its anchor; the patient's own too.
        #expect((verified["accesses_verified"] as? Int ?? 0) >= 3 && verified["accesses_unanchored"] as? Int == 0, "\(verified)")
        let accesses = (verified["timeline"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String == "access" }
        #expect(accesses.contains { ($0["actor"] as? String ?? "").hasPrefix("practitioner of ORG_1") && $0["status"] as? String == "verified" }, "\(accesses)")
        let grants = verified["grants"] as? [[String: Any]] ?? []
        let granted = grants.first { $0["id"] as? String == grantID }
        #expect(granted?["purpose"] as? String == "TREAT" && granted?["revoked_height"] as? Int != nil, "\(grants)")
        let period = (granted?["until"] as? Int ?? 0) - (granted?["from"] as? Int ?? 0)
        #expect(period >= 7 * 86_400 && period <= 7 * 86_400 + 120, "seven days, from a minute back for clock skew: \(grants)")
        #expect(grants.contains { $0["break_glass"] as? String == "unconscious on arrival" && $0["purpose"] as? String == "ETREAT" }, "\(grants)")
        let recorded = verified["evidence"] as? [[String: Any]] ?? []
        #expect(recorded.count == 1 && recorded.first?["validator"] as? String == keys[3].publicKey.keyID.hex
                && recorded.first?["height"] as? Int == 2 && (recorded.first?["blocks"] as? [String])?.count == 2, "\(recorded)")
        // Without a key, the history still verifies and the report says why accesses are missing.
        let (_, keyless) = try audit([honest[0]], key: nil)
        #expect((keyless["verdict"] as? String)?.hasPrefix("VERIFIED") == true && (keyless["access_note"] as? String)?.contains("--key") == true)
        // A practitioner's key may not list the patient's accesses: reported, not fatal.
        let (_, asDoctor) = try audit([honest[0]], key: doctor)
        #expect((asDoctor["access_note"] as? String)?.contains("no_grant") == true, "\(asDoctor)")

        try await checkFHIRExport(net, dir: dir, patientID: patientID, auditor: auditor, grantID: grantID, historyEntries: 6)
        try await checkExplorer(net, dir: dir, patientID: patientID, auditor: auditor)

        // Lying nodes. The heights of the grant and of the revocation, from the verified timeline.
        let timeline = verified["timeline"] as? [[String: Any]] ?? []
        let grantHeight = timeline.first { $0["kind"] as? String == "consent.grant" }?["height"] as? Int ?? 0
        let revokeID = timeline.first { $0["kind"] as? String == "consent.revoke" }?["transaction"] as? String ?? ""
        #expect(grantHeight > 0 && revokeID.count == 64)
        let target = net.member("v1").apiPort
        let rawPath = "/v1/blocks/\(grantHeight)/raw"
        let lies: [(String, LyingProxy.Alteration)] = [
            ("tampered_transactions", { path, body, status in
                guard path == rawPath else { return (body, status) }
                return (Self.rewriteRaw(body) { block, _ in
                    // One byte of the grant's transaction changed (its purpose, say): its id, and the root, change.
                    if var first = block.transactions.last { first[first.count / 2] ^= 0x01; block.transactions[block.transactions.count - 1] = first }
                }, status)
            }),
            ("incomplete_history", { path, body, status in
                guard path.hasPrefix("/v1/patients/\(patientID)/history"),
                    var object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any], var entries = object["entries"] as? [[String: Any]]
                else { return (body, status) }
                entries.removeAll { $0["transaction"] as? String == revokeID }  // the revocation hidden
                object["entries"] = entries
                return ((try? JSONSerialization.data(withJSONObject: object)) ?? body, status)
            }),
            ("bad_certificate", { path, body, status in
                guard path == rawPath else { return (body, status) }
                // Another header (a different time) with the real block's certificate.
                return (Self.rewriteRaw(body) { block, _ in block.header.timeMillis += 1 }, status)
            }),
            ("bad_certificate", { path, body, status in
                guard path == rawPath else { return (body, status) }
                // The real block with a forged signature in its certificate.
                return (Self.rewriteRaw(body) { _, certificate in
                    if var c = certificate, let signature = c.signatures.first {
                        var bytes = signature.signature.bytes
                        bytes[7] ^= 0x40
                        if let forged = try? Signature(bytes: bytes) { c.signatures[0] = ValidatorSignature(validator: signature.validator, signature: forged) }
                        certificate = c
                    }
                }, status)
            }),
        ]
        for (expected, alter) in lies {
            let proxy = try LyingProxy(target: target, alter: alter)
            defer { proxy.stop() }
            let (status, caught) = try audit([honest[0], proxy.url])
            let verdicts = nodes(caught)
            #expect(status == 2, "\(expected): \(caught)")
            #expect(verdicts.first?["status"] as? String == "verified", "\(expected): \(caught)")
            let finding = verdicts.last?["finding"] as? [String: Any]
            #expect(verdicts.last?["status"] as? String == "caught" && finding?["code"] as? String == expected, "\(expected): \(caught)")
            if expected != "incomplete_history" { #expect(finding?["height"] as? Int == grantHeight, "\(caught)") }
            #expect((caught["verdict"] as? String)?.contains("CAUGHT: \(proxy.url)") == true, "\(caught)")
            #expect(caught["history_entries"] as? Int == 6)
        }
        // Only lying nodes: nothing verifies.
        let liar = try LyingProxy(target: target, alter: lies[0].1)
        defer { liar.stop() }
        let (alone, unverified) = try audit([liar.url])
        #expect(alone == 3 && (unverified["verdict"] as? String)?.hasPrefix("NOT VERIFIED") == true, "\(unverified)")

        // A fork at the proxy's tip, certified by every validator's real key: conflicting certified chains.
        let tip = try await net.height("v1")
        let chainID = net.chainID
        let fork = try LyingProxy(target: target) { path, body, status in
            if path == "/health", var object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] {
                object["height"] = tip
                return ((try? JSONSerialization.data(withJSONObject: object)) ?? body, status)
            }
            guard path == "/v1/blocks/\(tip)/raw" else { return (body, status) }
            return (Self.rewriteRaw(body) { block, certificate in
                block.header.timeMillis += 1
                let votes = keys.compactMap { key in
                    try? SignedVote(signing: Vote(chainID: chainID, height: tip, round: 0, type: .precommit, block: block.header.hash,
                                                  validator: key.publicKey.keyID), with: key)
                }
                certificate = CommitCertificate(chainID: chainID, height: tip, round: 0, block: block.header.hash, precommits: votes)
            }, status)
        }
        defer { fork.stop() }
        try await net.waitHeight(["v0"], atLeast: tip + 1)
        let (forked, conflicting) = try audit([honest[0], fork.url], key: nil)
        #expect(forked == 3, "\(conflicting)")
        #expect(nodes(conflicting).allSatisfy { $0["status"] as? String == "conflicting" }, "\(conflicting)")
        let conflict = nodes(conflicting).first?["finding"] as? [String: Any]
        #expect(conflict?["code"] as? String == "conflicting_header" && conflict?["height"] as? Int == Int(tip), "\(conflicting)")
    }

    /// The same history as FHIR (Docs/fhir.md), in R4 and R5, validated by an independent implementation
    /// (fhir.resources' R4B and R5 models): the grant (revoked: inactive) and the delegation as Consent, the
    /// break-glass and the reads (with the auditor's signed header) as AuditEvent, each signed transaction as Provenance.
    func checkFHIRExport(_ net: ConsortiumProcesses, dir: String, patientID: String, auditor: String, grantID: String,
                         historyEntries: Int) async throws {
        let key = try KeyFile.load(from: auditor)
        let request = AccessListRequest(chainID: net.chainID, requester: key.publicKey, patient: try #require(Hash32(hex: patientID)),
                                        timeMillis: UInt64(Date().timeIntervalSince1970 * 1_000), nonce: SecureRandom.bytes(16))
        var files: [String: [String]] = ["4": [], "5": []]
        var bundles: [String: [String: Any]] = [:]
        for version in ["4", "5"] {
            for kind in ["Consent", "AuditEvent", "Provenance"] {
                var headers: [String: String] = [:]
                if kind == "AuditEvent" {
                    var fresh = request
                    fresh.nonce = SecureRandom.bytes(16)
                    headers["TwinLedger-Accesses"] = try SignedAccessListRequest(signing: fresh, with: key).headerValue
                }
                let (body, status) = try await httpRequest(port: net.member("v0").apiPort, method: "GET",
                                                           path: "/v1/fhir/\(kind)?patient=\(patientID)&_fhirVersion=\(version)", body: nil, headers: headers)
                #expect(status == 200, "\(kind) R\(version): \(String(decoding: body, as: UTF8.self))")
                let path = "\(dir)/fhir-\(kind)-r\(version).json"
                try body.write(to: URL(fileURLWithPath: path))
                files[version]?.append(path)
                bundles["\(kind)-\(version)"] = try JSONSerialization.jsonObject(with: body) as? [String: Any]
            }
        }
        let python = vectorPath("../../.build/fhir-venv/bin/python")
        guard FileManager.default.isExecutableFile(atPath: python) else {
            Issue.record("the FHIR validator is not installed: run scripts/fhir-venv.sh (make test does)")
            return
        }
        for version in ["4", "5"] {
            let (status, output) = try runProcess(python, [vectorPath("../FHIR/validate.py"), "--version", version] + (files[version] ?? []))
            #expect(status == 0, "R\(version) does not validate under fhir.resources: \(output)")
            #expect(output.components(separatedBy: #""valid": true"#).count - 1 == 3, "\(output)")
        }
        func resources(_ name: String) -> [[String: Any]] {
            (bundles[name]?["entry"] as? [[String: Any]] ?? []).compactMap { $0["resource"] as? [String: Any] }
        }
        for version in ["4", "5"] {
            let consents = resources("Consent-\(version)")
            #expect(consents.count == 2, "the grant and the delegation: \(consents)")
            let grant = consents.first { $0["id"] as? String == grantID }
            #expect(grant?["status"] as? String == "inactive", "revoked: \(String(describing: grant))")
            let events = resources("AuditEvent-\(version)")
            #expect(events.filter { $0["action"] as? String == "E" }.count == 1, "one break-glass: \(events)")
            #expect(events.filter { $0["action"] as? String == "R" }.count >= 3, "the reads: \(events)")
            #expect(resources("Provenance-\(version)").count == historyEntries)
        }
        // R4 and R5 shapes: R4 names the patient and a provision object, R5 the subject, decision and provisions.
        let r4 = resources("Consent-4").first { $0["id"] as? String == grantID }
        let r5 = resources("Consent-5").first { $0["id"] as? String == grantID }
        #expect(r4?["patient"] != nil && (r4?["provision"] as? [String: Any])?["type"] as? String == "permit")
        #expect((r4?["organization"] as? [[String: Any]])?.first?["display"] as? String == "organization ORG_0", "the custodian: \(String(describing: r4))")
        #expect((r5?["controller"] as? [[String: Any]])?.first?["display"] as? String == "organization ORG_0")
        #expect(r5?["subject"] != nil && r5?["decision"] as? String == "permit" && (r5?["provision"] as? [Any])?.count == 1)
        let purpose = ((r4?["provision"] as? [String: Any])?["purpose"] as? [[String: Any]])?.first?["code"] as? String
        #expect(purpose == "TREAT")
        let glass = resources("AuditEvent-4").first { $0["action"] as? String == "E" }
        let glassPurpose = ((glass?["purposeOfEvent"] as? [[String: Any]])?.first?["coding"] as? [[String: Any]])?.first?["code"] as? String
        #expect(glassPurpose == "ETREAT")
    }

    /// The explorer page on this four-validator consortium, with its genesis pinned: every event of the timeline,
    /// the reads included (with an auditor's token), is verified in the browser against a quorum of the four
    /// validators' signatures.
    func checkExplorer(_ net: ConsortiumProcesses, dir: String, patientID: String, auditor: String) async throws {
        guard WebDriver.available else {
            Issue.record("chromium and chromium-driver are not installed (make test installs them: scripts/deps.sh ui)")
            return
        }
        let url = net.wallet("v2")["TWINLEDGER_NODE"] ?? ""
        let browser = try WebDriver(width: 1280, height: 1000, log: dir + "/chromedriver.log")
        defer { browser.quit() }
        try browser.open(url + "/")
        try await browser.wait(for: "document.body.dataset.loaded === 'true'")
        let genesis = try String(contentsOfFile: net.member("v0").home + "/genesis.json", encoding: .utf8)
        let literal = String(decoding: try JSONSerialization.data(withJSONObject: [genesis]), as: UTF8.self)
        _ = try browser.run("document.getElementById('genesis-text').value = \(literal)[0]; document.querySelector('#genesis-form button').click(); return true;")
        try await browser.wait(for: "document.getElementById('genesis-status').dataset.checked")
        let token = try cli(["access", "token", "--key", auditor, "--patient", patientID], environment: net.wallet("v2")).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try browser.open("\(url)/#patient=\(patientID)&token=\(token)")
        try await browser.wait(for: "document.body.dataset.loaded === 'true' && document.getElementById('timeline').dataset.ready === 'true'")
        let events = try browser.run("return [...document.querySelectorAll('#timeline li')].map(li => [li.dataset.kind, li.dataset.verified, li.textContent]);")
            as? [[String]] ?? []
        #expect(events.filter { $0[0] != "access" }.count == 6, "\(events)")
        #expect(events.allSatisfy { $0[1] == "true" && $0[2].contains("genesis validators") }, "\(events)")
        #expect(try browser.run("return document.getElementById('timeline-summary').dataset.headVerified;") as? String == "true")
        let counts = events.filter { $0[0] != "access" }.map { event in
            ["3", "4"].first { event[2].contains("certified by \($0) genesis validators") }
        }
        #expect(counts.allSatisfy { $0 != nil }, "a quorum of four is three or four signatures: \(events)")
        try browser.screenshot(vectorPath("../../.build/ui") + "/explorer-consortium.png")
    }

    /// The raw-block answer with its block and certificate rewritten by `change`.
    static func rewriteRaw(_ body: Data, _ change: (inout Block, inout CommitCertificate?) -> Void) -> Data {
        guard var object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any],
            let blockHex = object["block"] as? String, let bytes = Hex.decode(blockHex),
            var block = try? Canonical.decode(Block.self, from: bytes)
        else { return body }
        var certificate = (object["certificate"] as? String).flatMap(Hex.decode).flatMap { try? Canonical.decode(CommitCertificate.self, from: $0) }
        change(&block, &certificate)
        object["block"] = Hex.encode(Canonical.encode(block))
        if let certificate { object["certificate"] = Hex.encode(Canonical.encode(certificate)) }
        return (try? JSONSerialization.data(withJSONObject: object)) ?? body
    }
}
