// The explorer page (`GET /`, Docs/explorer.md) in a real browser: headless Chromium from Debian through
// chromedriver, against a real node process, after a scripted consent scenario.
//
// Covers: the page's SHA3, SHA-256 and BIP340 pass their self-tests (FIPS 202, FIPS 180-4, BIP340 vectors) in the
// browser. With the node's genesis pinned, every block shown is checked against its commit certificate in the page;
// with a genesis naming another validator, the same blocks are unverified, saying why. The status panel shows the node's height
// and its validator. The recent blocks' headers re-encode to their hashes. The patient's timeline shows, each marked
// verified by the page's own checks:
// - the enrolment, the shadow, the grant, the read under it, the delegation, the break-glass, the revocation;
// - the history head, proven under the header's state root.
// A transaction's detail shows its proof verified. Behind a lying proxy that alters the grant's transaction bytes,
// the same page marks exactly that entry UNVERIFIED. The page loads no external resource and is served with a
// strict Content-Security-Policy. Screenshots at phone and desktop widths go to .build/ui/ (`make test-ui` keeps them).
import Foundation
import Ledger
import TestSupport
import Testing
import TwinCrypto

@Suite("Explorer page (headless Chromium)", .serialized, .realProcesses)
struct ExplorerUITests {
    @Test("the explorer verifies a patient's timeline in the browser and flags a tampered transaction")
    func explorer() async throws {
        guard WebDriver.available else {
            Issue.record("chromium and chromium-driver are not installed (make test installs them: scripts/deps.sh ui)")
            return
        }
        let dir = try makeTemporaryDirectory("explorer")
        defer { removeTemporaryDirectory(dir) }
        let node = try NodeProcess(home: dir + "/home")
        try await node.start()
        defer { _ = node.stop() }
        let env = node.wallet
        let patient = try node.participant("patient", "patient", in: dir), doctor = try node.participant("doctor", "practitioner", in: dir)
        let carer = try node.participant("carer", "caregiver", in: dir), medic = try node.participant("medic", "emergency", in: dir)
        let patientID = patientID(for: try KeyFile.load(from: patient).publicKey).hex

        var random = SeededRandom(seed: 8)
        try Data(random.bytes(20_000)).write(to: URL(fileURLWithPath: dir + "/scan.bin"))
        let put = try cli(["shadow", "put", "--key", patient, "--categories", "neuro.mri", dir + "/scan.bin"], environment: env)
        let shadow = put.output.components(separatedBy: "shadow id ").last?.prefix(64).description ?? ""
        let grant = try cli(["consent", "grant", "--key", patient, "--to-key-file", doctor, "--categories", "neuro"], environment: env)
        let grantID = grant.output.components(separatedBy: "transaction ").last?.prefix(64).description ?? ""
        #expect(put.status == 0 && grant.status == 0 && grantID.count == 64, "\(put.output) \(grant.output)")
        #expect(try cli(["shadow", "get", "--key", doctor, "--shadow", shadow, "--purpose", "TREAT", "--out", dir + "/read.bin"], environment: env).status == 0)
        #expect(try cli(["delegate", "grant", "--key", patient, "--to-key-file", carer], environment: env).status == 0)
        #expect(try cli(["break-glass", "--key", medic, "--patient", patientID, "--reason", "cardiac arrest"], environment: env).status == 0)
        #expect(try cli(["consent", "revoke", "--key", patient, "--grant", grantID], environment: env).status == 0)
        // The reads are anchored within the node's 10 s batching interval.
        var listed = ""
        for _ in 0..<60 where listed.components(separatedBy: ": verified").count - 1 < 3 {
            try await Task.sleep(for: .milliseconds(500))
            listed = try cli(["access", "list", "--key", patient], environment: env).output
        }
        #expect(listed.components(separatedBy: ": verified").count - 1 == 3, "\(listed)")

        // The page is served whole, with a strict policy and nothing from elsewhere.
        let (html, status) = try await httpRequest(port: node.port, method: "GET", path: "/", body: nil)
        let page = String(decoding: html, as: UTF8.self)
        #expect(status == 200 && page.contains("<title>TwinLedger explorer</title>"))
        for external in ["http://", "https://", "src=\"//", "<link"] { #expect(!page.contains(external), "the page refers to \(external)") }

        let browser = try WebDriver(width: 412, height: 915, log: dir + "/chromedriver.log")
        defer { browser.quit() }
        let token = try cli(["access", "token", "--key", patient], environment: env).output.trimmingCharacters(in: .whitespacesAndNewlines)
        try browser.open("\(node.url)/#patient=\(patientID)&token=\(token)")
        try await browser.wait(for: "document.body.dataset.loaded === 'true' && document.getElementById('timeline').dataset.ready === 'true'")
        #expect(try browser.run("return document.getElementById('selftest').dataset.ok;") as? String == "true", "SHA3 self-test in the browser")
        let height = try browser.run("return document.querySelector('[data-field=height]').textContent;") as? String
        #expect(Int(height ?? "") ?? 0 > 0, "status shows the height: \(String(describing: height))")
        #expect(try browser.run("return document.querySelectorAll('#validators tbody tr').length;") as? Int == 1)
        let blocks = try browser.run("return [...document.querySelectorAll('#blocks [data-verified]')].map(b => b.dataset.verified);") as? [String] ?? []
        #expect(!blocks.isEmpty && blocks.allSatisfy { $0 == "true" }, "recent headers re-encode to their hashes: \(blocks)")
        #expect(try browser.run("return document.getElementById('timeline-summary').dataset.headVerified;") as? String == "true")
        let events = try browser.run("return [...document.querySelectorAll('#timeline li')].map(li => [li.dataset.kind, li.dataset.verified, li.textContent]);")
            as? [[String]] ?? []
        let kinds = events.map { $0[0] }
        for kind in ["enroll", "shadow.register", "consent.grant", "delegation.grant", "break_glass", "consent.revoke", "access"] {
            #expect(kinds.contains(kind), "the timeline lacks \(kind): \(kinds)")
        }
        #expect(kinds.filter { $0 == "access" }.count == 3, "\(kinds)")
        #expect(events.allSatisfy { $0[1] == "true" }, "every event verified in the page: \(events)")
        #expect(events.contains { $0[0] == "break_glass" && $0[2].contains("cardiac arrest") && $0[2].contains("ETREAT") })
        #expect(events.filter { $0[0] != "access" }.allSatisfy { $0[2].contains("certificate not checked") }, "unpinned: roots only")

        // Pinned genesis: every block shown is checked against its certificate, in the page.
        let genesis = try String(contentsOfFile: dir + "/home/genesis.json", encoding: .utf8)
        func pin(_ text: String) async throws {
            let before = try browser.run("return document.getElementById('genesis-status').dataset.checked || '';") as? String ?? ""
            let literal = String(decoding: try JSONSerialization.data(withJSONObject: [text]), as: UTF8.self)
            _ = try browser.run("document.getElementById('genesis-text').value = \(literal)[0]; document.querySelector('#genesis-form button').click(); return true;")
            try await browser.wait(for: "(document.getElementById('genesis-status').dataset.checked || '') !== '\(before)'")
        }
        try await pin(genesis)
        #expect(try browser.run("return document.getElementById('genesis-status').dataset.pinned;") as? String == "true")
        let fresh = try cli(["access", "token", "--key", patient], environment: env).output.trimmingCharacters(in: .whitespacesAndNewlines)
        try browser.open("\(node.url)/#patient=\(patientID)&token=\(fresh)")  // a reload: the pin is remembered
        try await browser.wait(for: "document.body.dataset.loaded === 'true' && document.getElementById('timeline').dataset.ready === 'true'")
        let certified = try browser.run("return [...document.querySelectorAll('#timeline li')].map(li => [li.dataset.kind, li.dataset.verified, li.textContent]);")
            as? [[String]] ?? []
        #expect(certified.count == events.count && certified.allSatisfy { $0[1] == "true" }, "\(certified)")
        #expect(certified.filter { $0[0] != "access" }.allSatisfy { $0[2].contains("certified by 1 genesis validators") }, "\(certified)")
        #expect(try browser.run("return document.getElementById('timeline-summary').dataset.headVerified;") as? String == "true")
        let shots = vectorPath("../../.build/ui")
        _ = try browser.run("document.getElementById('patient-title').scrollIntoView(); return true;")
        try browser.screenshot(shots + "/explorer-phone-timeline.png")

        // A genesis naming another validator: the same blocks are now unverified, and the page says why.
        var other = try JSONSerialization.jsonObject(with: Data(genesis.utf8)) as? [String: Any] ?? [:]
        var validators = other["validators"] as? [[String: Any]] ?? []
        validators[0]["public_key"] = try SecretKey().publicKey.hex
        other["validators"] = validators
        try await pin(String(decoding: try JSONSerialization.data(withJSONObject: other), as: UTF8.self))
        let foreign = try browser.run("return [...document.querySelectorAll('#timeline li')].map(li => [li.dataset.verified, li.textContent]);")
            as? [[String]] ?? []
        #expect(!foreign.isEmpty && foreign.allSatisfy { $0[0] == "false" && $0[1].contains("is not a genesis validator") }, "\(foreign)")
        try await pin(genesis)

        // A transaction's detail, by its link.
        try browser.open("\(node.url)/#tx=\(grantID)")
        try await browser.wait(for: "document.querySelector('#tx [data-verified]')")
        #expect(try browser.run("return document.querySelector('#tx [data-verified]').dataset.verified;") as? String == "true")

        // Behind a proxy that alters the grant's bytes, the grant alone is marked unverified.
        let proxy = try LyingProxy(target: node.port) { path, body, status in
            guard path == "/v1/transactions/\(grantID)", var object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any],
                var tx = object["transaction"] as? String, tx.count > 100
            else { return (body, status) }
            let i = tx.index(tx.startIndex, offsetBy: 100)
            tx.replaceSubrange(i...i, with: tx[i] == "0" ? "1" : "0")
            object["transaction"] = tx
            return ((try? JSONSerialization.data(withJSONObject: object)) ?? body, status)
        }
        defer { proxy.stop() }
        try browser.call("POST", "/session/\(browser.session)/window/rect", ["width": 1280, "height": 1000])
        try browser.open("\(proxy.url)/#patient=\(patientID)")
        try await browser.wait(for: "document.body.dataset.loaded === 'true' && document.getElementById('timeline').dataset.ready === 'true'")
        let lied = try browser.run("return [...document.querySelectorAll('#timeline li')].map(li => [li.dataset.kind, li.dataset.verified]);")
            as? [[String]] ?? []
        #expect(lied.filter { $0[1] == "false" }.map { $0[0] } == ["consent.grant"], "only the altered grant is flagged: \(lied)")
        _ = try browser.run("document.getElementById('patient-title').scrollIntoView(); return true;")
        try browser.screenshot(shots + "/explorer-desktop-lying-node.png")
    }
}
