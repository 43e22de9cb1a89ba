import Prometheus

/// The node's Prometheus metrics (names documented in Docs/operations.md).
public final class NodeMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let height: Gauge
    let mempoolSize: Gauge
    let accepted: Counter
    let blockCommit: DurationHistogram
    let blockTransactions: ValueHistogram
    let cacheHits: Counter
    let cacheMisses: Counter
    let cacheBytes: Gauge

    public init() {
        height = registry.makeGauge(name: "twinledger_height", help: "Height of the latest committed block.")
        mempoolSize = registry.makeGauge(name: "twinledger_mempool_transactions", help: "Transactions waiting.")
        accepted = registry.makeCounter(name: "twinledger_transactions_accepted_total", help: "Committed and accepted.")
        blockCommit = registry.makeDurationHistogram(
            name: "twinledger_block_commit_seconds",
            buckets: [.milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                      .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5)],
            help: "Time to execute and durably commit a block."
        )
        cacheHits = registry.makeCounter(
            name: "twinledger_state_cache_hits_total", help: "State reads answered by the state cache."
        )
        cacheMisses = registry.makeCounter(
            name: "twinledger_state_cache_misses_total", help: "State reads that went to LevelDB."
        )
        cacheBytes = registry.makeGauge(name: "twinledger_state_cache_bytes", help: "Estimated memory of the state cache.")
        blockTransactions = registry.makeValueHistogram(
            name: "twinledger_block_transactions", buckets: [1, 10, 100, 500, 1_000, 5_000, 10_000],
            help: "Transactions per block."
        )
    }

    /// Transactions the state machine rejected in a committed block, by code.
    func rejected(_ code: String) {
        registry.makeCounter(
            name: "twinledger_transactions_rejected_total", labels: [("code", code)],
            help: "Committed but rejected by the rules, by code."
        ).increment()
    }

    /// Submissions refused at admission, by code.
    func refused(_ code: String) {
        registry.makeCounter(
            name: "twinledger_admission_refused_total", labels: [("code", code)],
            help: "Submissions refused before the mempool, by code."
        ).increment()
    }

    public func text() -> String { registry.emitToString() }
}
