import Foundation
import Logging
import P2P
import Synchronization

/// The TLS certificate a node presents and its consortium CA's, watched for expiry (Fabric's "certificate time
/// bomb": a consortium whose certificates lapse together stops at once). Each check sets
/// `twinledger_tls_certificate_expiry_seconds{certificate}` and, inside the warning window, logs a warning (an error
/// once expired), so an operator sees it days ahead (Docs/operations.md, "Certificates").
public final class CertificateWatch: Sendable {
    public let warningDays: Int
    let metrics: NodeMetrics
    let logger: Logger
    private let current: Mutex<(node: String, ca: String)>

    public init(nodeCertificatePEM: String, authorityPEM: String, warningDays: Int, metrics: NodeMetrics, logger: Logger) {
        (self.warningDays, self.metrics, self.logger) = (warningDays, metrics, logger)
        current = Mutex((nodeCertificatePEM, authorityPEM))
        metrics.registry.makeGauge(name: "twinledger_tls_certificate_expiry_warning_days",
                                   help: "Days before a certificate's expiry from which it is warned about.").set(Double(warningDays))
    }

    /// The node's certificate was replaced (after a reload).
    public func replace(nodeCertificatePEM: String) {
        current.withLock { $0.node = nodeCertificatePEM }
    }

    /// Checks both certificates at `now`; returns the seconds each has left (negative once expired), by name.
    @discardableResult
    public func check(now: Date = Date()) -> [String: Double] {
        let (node, ca) = current.withLock { $0 }
        var left: [String: Double] = [:]
        for (name, pem) in [("node", node), ("ca", ca)] {
            guard let expiry = try? ConsortiumPKI.expiry(certificatePEM: pem) else {
                logger.error("a TLS certificate does not parse", metadata: ["certificate": "\(name)"])
                continue
            }
            let seconds = expiry.timeIntervalSince(now)
            left[name] = seconds
            metrics.registry.makeGauge(
                name: "twinledger_tls_certificate_expiry_seconds", labels: [("certificate", name)],
                help: "Seconds until the node's TLS certificate (node) or the consortium CA's (ca) expires; negative once expired."
            ).set(seconds)
            let metadata: Logger.Metadata = [
                "certificate": "\(name)", "not_after": "\(ISO8601DateFormatter().string(from: expiry))",
                "days_left": "\(Int((seconds / 86_400).rounded(.down)))",
            ]
            if seconds <= 0 {
                logger.error("TLS certificate has expired: peers refuse this node; issue a new one and reload (twinledger node reload-tls)",
                             metadata: metadata)
            } else if seconds < Double(warningDays) * 86_400 {
                logger.warning("TLS certificate expires soon: issue a new one and reload it (twinledger net issue-cert, node reload-tls)",
                               metadata: metadata)
            }
        }
        return left
    }
}
