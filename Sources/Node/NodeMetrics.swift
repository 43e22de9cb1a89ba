import CHeap
import Consensus
import P2P
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
    let treeBytes: Gauge
    let heapInUse: Gauge
    let heapFree: Gauge
    // Consensus and network.
    let round: Gauge
    let roundsPerHeight: ValueHistogram
    let heightSeconds: ValueHistogram
    let evidence: Counter
    let rebroadcasts: Counter
    let peers: Gauge
    let syncing: Gauge
    let syncRefused: Counter
    let blocksSynced: Counter
    let lateVotes: Counter
    // Shadow replication.
    let blobsMissing: Gauge
    let blobBytesReplicated: Counter
    let blobsServed: Counter
    let shadowsErased: Counter
    let staleEnvelopes: Gauge

    public init() {
        round = registry.makeGauge(name: "twinledger_consensus_round", help: "Round of the height in progress.")
        roundsPerHeight = registry.makeValueHistogram(
            name: "twinledger_consensus_rounds_per_height", buckets: [1, 2, 3, 5, 10],
            help: "Rounds it took to decide each height (1 when round 0 decided)."
        )
        heightSeconds = registry.makeValueHistogram(
            name: "twinledger_consensus_height_seconds", buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
            help: "Time from starting a height to committing it."
        )
        evidence = registry.makeCounter(name: "twinledger_consensus_double_votes_total", help: "Double votes seen.")
        rebroadcasts = registry.makeCounter(
            name: "twinledger_consensus_rebroadcasts_total", help: "Times a stalled height's own messages were re-sent."
        )
        peers = registry.makeGauge(name: "twinledger_peers", help: "Connected peers (after the hello check).")
        syncing = registry.makeGauge(name: "twinledger_sync_active", help: "1 while fetching blocks from peers.")
        syncRefused = registry.makeCounter(
            name: "twinledger_sync_refused_total", help: "Synced blocks refused (bad certificate or execution)."
        )
        blocksSynced = registry.makeCounter(name: "twinledger_sync_blocks_total", help: "Blocks applied by block sync.")
        lateVotes = registry.makeCounter(
            name: "twinledger_consensus_late_messages_total",
            help: "Proposals and votes for a height already committed (arrived late)."
        )
        staleEnvelopes = registry.makeGauge(
            name: "twinledger_abe_envelopes_stale",
            help: "Shadows whose policy envelope was made under an authority epoch older than the current one (re-wrapped on the next write)."
        )
        blobsMissing = registry.makeGauge(
            name: "twinledger_blobs_missing", help: "Blobs of registered shadows not yet stored here (replication is fetching them)."
        )
        blobBytesReplicated = registry.makeCounter(
            name: "twinledger_blob_bytes_replicated_total", help: "Bytes of shadow blobs fetched from peers and stored."
        )
        blobsServed = registry.makeCounter(name: "twinledger_blobs_served_total", help: "Blobs sent to peers that asked.")
        shadowsErased = registry.makeCounter(
            name: "twinledger_shadows_erased_total", help: "Shadows whose blobs this node deleted after shadow.erase."
        )
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
        heapInUse = registry.makeGauge(
            name: "twinledger_heap_in_use_bytes", help: "Bytes the C allocator has handed out and not had back (glibc mallinfo2)."
        )
        heapFree = registry.makeGauge(
            name: "twinledger_heap_free_bytes",
            help: "Bytes the C allocator holds free inside its arenas (glibc mallinfo2): fragmentation, not use."
        )
        treeBytes = registry.makeGauge(
            name: "twinledger_state_tree_bytes",
            help: "Memory of the authenticated state tree's nodes in use (it holds every state entry in memory, Docs/state-tree.md)."
        )
        blockTransactions = registry.makeValueHistogram(
            name: "twinledger_block_transactions", buckets: [1, 10, 100, 500, 1_000, 5_000, 10_000],
            help: "Transactions per block."
        )
    }

    /// Counts of the peer network since the last report.
    func network(_ now: PeerNetwork.Statistics, since last: PeerNetwork.Statistics) {
        peers.set(Double(now.connected))
        for (name, help, value, before) in [
            ("twinledger_p2p_frames_sent_total", "Frames queued to peers.", now.framesSent, last.framesSent),
            ("twinledger_p2p_bytes_sent_total", "Bytes queued to peers.", now.bytesSent, last.bytesSent),
            ("twinledger_p2p_frames_received_total", "Frames received from accepted peers.", now.framesReceived, last.framesReceived),
            ("twinledger_p2p_dropped_total", "Gossip dropped because a peer's send queue was full.", now.dropped, last.dropped),
            ("twinledger_p2p_refused_total", "Connections refused or closed for a protocol error (TLS, hello, garbage).", now.refused, last.refused),
            ("twinledger_p2p_slow_disconnects_total", "Peers disconnected for not reading.", now.slowDisconnects, last.slowDisconnects),
        ] {
            registry.makeCounter(name: name, help: help).increment(by: Int64(max(0, value - before)))
        }
        // Each peer's throttling by its token buckets, labelled by the first 16 hex digits of its node id.
        for (peer, throttled) in now.throttled {
            let previous = last.throttled[peer] ?? PeerNetwork.Throttled()
            let label = [("peer", String(peer.hex.prefix(16)))]
            registry.makeCounter(
                name: "twinledger_p2p_peer_transactions_throttled_total", labels: label,
                help: "Transactions from a peer dropped on arrival for being over its transaction rate."
            ).increment(by: Int64(max(0, throttled.transactions - previous.transactions)))
            registry.makeCounter(
                name: "twinledger_p2p_peer_read_pauses_total", labels: label,
                help: "Times reading from a peer paused for being over its byte rate."
            ).increment(by: Int64(max(0, throttled.readPauses - previous.readPauses)))
            registry.makeCounter(
                name: "twinledger_p2p_peer_read_paused_milliseconds_total", labels: label,
                help: "Time reading from a peer was paused for its byte rate, in all."
            ).increment(by: Int64(max(0, throttled.readPausedMillis - previous.readPausedMillis)))
        }
    }

    /// Consensus messages the instance refused, by code.
    func consensusRefused(_ code: String) {
        registry.makeCounter(
            name: "twinledger_consensus_refused_total", labels: [("code", code)],
            help: "Proposals and votes the consensus instance refused, by code."
        ).increment()
    }

    /// Time spent in a consensus step.
    func stepSeconds(_ step: Consensus.Step, _ seconds: Double) {
        registry.makeValueHistogram(
            name: "twinledger_consensus_step_seconds", labels: [("step", "\(step)")],
            buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 3], help: "Time spent in each consensus step."
        ).record(seconds)
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

    /// The exposition text. The heap gauges are read here, at scrape time: glibc's `mallinfo2` walks every arena's
    /// free lists, which a profile of a validator under load found costing 6% of its CPU when it ran at each commit.
    public func text() -> String {
        var (inUse, free) = (0, 0)
        twinledger_heap_statistics(&inUse, &free)
        heapInUse.set(Double(inUse))
        heapFree.set(Double(free))
        return registry.emitToString()
    }
}
