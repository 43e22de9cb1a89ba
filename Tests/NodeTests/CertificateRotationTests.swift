import Encoding
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Node
import P2P
import Synchronization
import TestSupport
import Testing
import TwinCrypto

/// Collects log messages (level and text) for assertions.
final class LogCapture: Sendable {
    let entries = Mutex<[(Logger.Level, String)]>([])

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            capture.entries.withLock { $0.append((event.level, "\(event.message)")) }
        }
    }

    var logger: Logger { Logger(label: "capture") { _ in Handler(capture: self) } }
    func messages(at level: Logger.Level) -> [String] { entries.withLock { $0.filter { $0.0 == level }.map(\.1) } }
}

@Suite("TLS certificate expiry")
struct CertificateWatchTests {
    @Test("expiry within the warning window is a warning, past it an error, and /metrics has the seconds left for both certificates")
    func expiry() throws {
        let ca = try ConsortiumPKI.makeAuthority(name: "watch CA")
        let node = Hashing.sha3([1])
        let now = Date()
        let shortLived = try ConsortiumPKI.issueNodeCertificate(node: node, organization: "A", authority: ca, now: now, days: 10)
        let capture = LogCapture()
        let metrics = NodeMetrics()
        let watch = CertificateWatch(nodeCertificatePEM: shortLived.certificatePEM, authorityPEM: ca.certificatePEM, warningDays: 30,
                                     metrics: metrics, logger: capture.logger)
        let left = watch.check(now: now)
        #expect(abs((left["node"] ?? 0) - 10 * 86_400) < 5)
        #expect((left["ca"] ?? 0) > 9 * 365 * 86_400, "the CA's ten years are not warned about")
        #expect(capture.messages(at: .warning).count == 1)
        #expect(capture.messages(at: .warning).first?.contains("expires soon") == true)
        let text = metrics.text()
        #expect(text.contains(#"twinledger_tls_certificate_expiry_seconds{certificate="node"}"#))
        #expect(text.contains("twinledger_tls_certificate_expiry_warning_days 30"))

        // Eleven days later it has expired: an error. After rotation to a five-year certificate, nothing is said.
        _ = watch.check(now: now.addingTimeInterval(11 * 86_400))
        #expect(capture.messages(at: .error).contains { $0.contains("has expired") })
        let renewed = try ConsortiumPKI.issueNodeCertificate(node: node, organization: "A", authority: ca, now: now)
        watch.replace(nodeCertificatePEM: renewed.certificatePEM)
        let before = capture.entries.withLock { $0.count }
        #expect((watch.check(now: now)["node"] ?? 0) > 4 * 365 * 86_400)
        #expect(capture.entries.withLock { $0.count } == before)
    }
}

@Suite("TLS certificate rotation (real processes)", .realProcesses)
struct CertificateRotationTests {
    func presented(port: Int, client: PEMIdentity, authority: String) async throws -> [UInt8]? {
        try await ConsortiumPKI.presentedCertificate(host: "127.0.0.1", port: port, client: client, authority: authority)
    }

    @Test("net issue-cert and node reload-tls on a running validator: commits go on, new connections get the new certificate, a wrong one is refused, the expiry is warned about")
    func rotate() async throws {
        let dir = try makeTemporaryDirectory("tls-rotation")
        defer { removeTemporaryDirectory(dir) }
        let net = try ConsortiumProcesses(dir, validators: 2)
        defer { net.stopAll() }
        try await net.startAll()
        try await net.waitHeight(["v0", "v1"], atLeast: 2, seconds: 120)
        let (v0, v1) = (net.member("v0"), net.member("v1"))
        let ca = PEMIdentity(certificatePEM: try String(contentsOfFile: dir + "/net/ca/ca.pem", encoding: .utf8),
                             privateKeyPEM: try String(contentsOfFile: dir + "/net/ca/ca.key", encoding: .utf8))
        // A client identity the node accepts at the TLS layer (its hello is never sent: only the certificate is read).
        let client = try ConsortiumPKI.issueNodeCertificate(node: Hashing.sha3([9]), organization: "probe", authority: ca)
        let original = try await presented(port: v0.p2pPort, client: client, authority: ca.certificatePEM)
        #expect(original != nil)

        let issued = try cli(["net", "issue-cert", "--ca", dir + "/net/ca", "--home", v0.home, "--days", "10"])
        #expect(issued.status == 0, "\(issued.output)")
        let reloaded = try cli(["node", "reload-tls", "--home", v0.home])
        #expect(reloaded.status == 0, "\(reloaded.output)")
        let expected = try NIOSSLCertificate.fromPEMBytes(Array(try String(contentsOfFile: v0.home + "/tls/node.pem", encoding: .utf8).utf8))[0].toDERBytes()
        #expect(expected != original)
        var served: [UInt8]?
        for _ in 0..<100 {
            served = try await presented(port: v0.p2pPort, client: client, authority: ca.certificatePEM)
            if served == expected { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(served == expected, "new connections get the reloaded certificate")
        let days = try await net.metric("v0", #"twinledger_tls_certificate_expiry_seconds{certificate="node"}"#) / 86_400
        #expect(days > 9 && days < 10.1, "\(days) days left")

        // No downtime: both validators keep committing (two of two: every block needs v0).
        let height = try await net.height("v1")
        try await net.waitHeight(["v0", "v1"], atLeast: height + 3, seconds: 120)

        // A certificate for another node is refused; the node keeps presenting the one it has.
        for file in ["node.pem", "node.key"] {
            try FileManager.default.removeItem(atPath: v0.home + "/tls/" + file)
            try FileManager.default.copyItem(atPath: v1.home + "/tls/" + file, toPath: v0.home + "/tls/" + file)
        }
        #expect(try cli(["node", "reload-tls", "--home", v0.home]).status == 0)
        var log = ""
        for _ in 0..<100 where !log.contains("TLS reload refused") {
            try await Task.sleep(for: .milliseconds(100))
            log = try String(contentsOfFile: dir + "/v0.log", encoding: .utf8)
        }
        #expect(log.contains("TLS reload refused") && log.contains("does not name this node"))
        #expect(try await presented(port: v0.p2pPort, client: client, authority: ca.certificatePEM) == expected)
        #expect(log.contains("reloaded the TLS certificate"))
        #expect(log.contains("TLS certificate expires soon"), "ten days is inside the 30-day warning window")

        // v1 restarted reconnects to v0 under its new certificate, and commits resume.
        _ = net.stop("v1")
        try net.start("v1")
        try await net.waitHealthy("v1")
        let resumed = try await net.height("v0")
        try await net.waitHeight(["v0", "v1"], atLeast: resumed + 2, seconds: 120)
    }
}
