import Encoding
import Ledger
import P2P
import Foundation
import Storage
import TOMLKit
import TwinCrypto

/// `config.toml` of a node home (documented in Docs/operations.md).
public struct NodeConfig: Codable, Sendable, Hashable {
    public struct NodeSection: Codable, Sendable, Hashable {
        public var moniker: String
        /// Event-loop threads, with every task of the node on them (0 or absent: NIO's and Swift's defaults, a
        /// thread per core each). 1 runs the whole node on one thread, best when several nodes share a machine.
        public var threads: Int?

        public init(moniker: String, threads: Int? = nil) {
            self.moniker = moniker
            self.threads = threads
        }
    }

    public struct APISection: Codable, Sendable, Hashable {
        public var host: String
        public var port: Int
        /// Per-client limits (Docs/operations.md, "Limits"); each is optional in the file and defaulted by
        /// `NodeConfig.defaultAPILimits`.
        public var ratePerSecond: Int?
        public var rateBurst: Int?
        public var connectionsPerClientMax: Int?
        public var headerTimeoutMs: Int?
        public var bodyMinBytesPerSecond: Int?
        public var bodyWindowMs: Int?
        enum CodingKeys: String, CodingKey {
            case host, port
            case ratePerSecond = "rate_per_second"
            case rateBurst = "rate_burst"
            case connectionsPerClientMax = "connections_per_client_max"
            case headerTimeoutMs = "header_timeout_ms"
            case bodyMinBytesPerSecond = "body_min_bytes_per_second"
            case bodyWindowMs = "body_window_ms"
        }

        public init(host: String, port: Int, ratePerSecond: Int? = nil, rateBurst: Int? = nil,
                    connectionsPerClientMax: Int? = nil, headerTimeoutMs: Int? = nil, bodyMinBytesPerSecond: Int? = nil,
                    bodyWindowMs: Int? = nil) {
            (self.host, self.port, self.ratePerSecond, self.rateBurst) = (host, port, ratePerSecond, rateBurst)
            (self.connectionsPerClientMax, self.headerTimeoutMs) = (connectionsPerClientMax, headerTimeoutMs)
            (self.bodyMinBytesPerSecond, self.bodyWindowMs) = (bodyMinBytesPerSecond, bodyWindowMs)
        }

        /// The limits, each defaulted.
        public var limits: APILimits {
            let defaults = NodeConfig.defaultAPILimits
            return APILimits(
                ratePerSecond: ratePerSecond ?? defaults.ratePerSecond, rateBurst: rateBurst ?? defaults.rateBurst,
                connectionsPerClientMax: connectionsPerClientMax ?? defaults.connectionsPerClientMax,
                headerTimeoutMs: headerTimeoutMs ?? defaults.headerTimeoutMs,
                bodyMinBytesPerSecond: bodyMinBytesPerSecond ?? defaults.bodyMinBytesPerSecond,
                bodyWindowMs: bodyWindowMs ?? defaults.bodyWindowMs)
        }
    }

    /// The API's per-client limits, defaulted.
    public struct APILimits: Sendable, Hashable {
        /// Requests per second each client (IP address; IPv6 by /64) may sustain; 0 turns the rate limit off.
        public var ratePerSecond: Int
        /// Requests a client may make at once after being idle (the bucket's size).
        public var rateBurst: Int
        public var connectionsPerClientMax: Int
        /// A request's head must arrive within this of the connection opening or of the previous response.
        public var headerTimeoutMs: Int
        /// A request body must arrive at this rate at least, measured over windows of `bodyWindowMs`.
        public var bodyMinBytesPerSecond: Int
        public var bodyWindowMs: Int
    }

    public static let defaultAPILimits = APILimits(
        ratePerSecond: 500, rateBurst: 1_000, connectionsPerClientMax: 64, headerTimeoutMs: 10_000,
        bodyMinBytesPerSecond: 1_024, bodyWindowMs: 30_000)

    public struct ProducerSection: Codable, Sendable, Hashable {
        /// How often the producer looks for waiting transactions.
        public var blockIntervalMs: Int
        public var blockTransactionsMax: Int
        enum CodingKeys: String, CodingKey {
            case blockIntervalMs = "block_interval_ms"
            case blockTransactionsMax = "block_transactions_max"
        }
    }

    public struct MempoolSection: Codable, Sendable, Hashable {
        public var transactionsMax: Int
        public var bytesMax: Int
        public var perSignerMax: Int
        /// Optional (configs before 0.7 lack it): a sixteenth of `bytes_max` when absent.
        public var perSignerBytesMax: Int?
        enum CodingKeys: String, CodingKey {
            case transactionsMax = "transactions_max"
            case bytesMax = "bytes_max"
            case perSignerMax = "per_signer_max"
            case perSignerBytesMax = "per_signer_bytes_max"
        }

        public init(transactionsMax: Int, bytesMax: Int, perSignerMax: Int, perSignerBytesMax: Int? = nil) {
            (self.transactionsMax, self.bytesMax, self.perSignerMax, self.perSignerBytesMax) = (transactionsMax, bytesMax, perSignerMax, perSignerBytesMax)
        }

        /// The mempool's limits, defaulted.
        public var limits: Mempool.Limits {
            Mempool.Limits(transactionsMax: transactionsMax, bytesMax: bytesMax, perSignerMax: perSignerMax, perSignerBytesMax: perSignerBytesMax)
        }
    }

    public struct StorageSection: Codable, Sendable, Hashable {
        /// MiB of recently read state kept in memory in front of LevelDB (0 turns the cache off).
        public var stateCacheMB: Int
        /// MiB of LevelDB's own block cache for the state database (uncompressed table blocks); 64 when absent.
        public var levelDBCacheMB: Int?
        /// MiB of LevelDB's write buffer (memtable) for the state database; when full it is flushed to a table file
        /// and compacted in the background. 16 when absent.
        public var levelDBWriteBufferMB: Int?
        /// Table files LevelDB keeps open for the state database, each with its index and Bloom filter in memory;
        /// 500 when absent.
        public var levelDBMaxOpenFiles: Int?
        enum CodingKeys: String, CodingKey {
            case stateCacheMB = "state_cache_mb"
            case levelDBCacheMB = "leveldb_cache_mb"
            case levelDBWriteBufferMB = "leveldb_write_buffer_mb"
            case levelDBMaxOpenFiles = "leveldb_max_open_files"
        }
        public init(stateCacheMB: Int, levelDBCacheMB: Int? = nil, levelDBWriteBufferMB: Int? = nil, levelDBMaxOpenFiles: Int? = nil) {
            self.stateCacheMB = stateCacheMB
            self.levelDBCacheMB = levelDBCacheMB
            self.levelDBWriteBufferMB = levelDBWriteBufferMB
            self.levelDBMaxOpenFiles = levelDBMaxOpenFiles
        }
        /// The block cache in MiB, defaulted.
        public var levelDBCacheMBSetting: Int { levelDBCacheMB ?? NodeConfig.defaultLevelDBCacheMB }
        /// The write buffer in MiB, defaulted.
        public var levelDBWriteBufferMBSetting: Int { levelDBWriteBufferMB ?? NodeConfig.defaultLevelDBWriteBufferMB }
        /// The open table files, defaulted.
        public var levelDBMaxOpenFilesSetting: Int { levelDBMaxOpenFiles ?? NodeConfig.defaultLevelDBMaxOpenFiles }

        /// The state database's LevelDB options from these settings.
        public var levelDBOptions: LevelDBStore.Options {
            var options = LevelDBStore.Options()
            options.blockCacheBytes = levelDBCacheMBSetting << 20
            options.writeBufferBytes = levelDBWriteBufferMBSetting << 20
            options.maxOpenFiles = levelDBMaxOpenFilesSetting
            return options
        }
    }

    public struct ShadowsSection: Codable, Sendable, Hashable {
        /// The largest payload one upload may carry.
        public var payloadBytesMax: UInt64
        /// Bytes of payload this node accepts per patient, in all.
        public var patientQuotaBytes: UInt64
        /// How far a signed read or upload request's time may be from this node's clock.
        public var requestWindowMs: UInt64
        enum CodingKeys: String, CodingKey {
            case payloadBytesMax = "payload_bytes_max"
            case patientQuotaBytes = "patient_quota_bytes"
            case requestWindowMs = "request_window_ms"
        }

        public init(payloadBytesMax: UInt64, patientQuotaBytes: UInt64, requestWindowMs: UInt64) {
            (self.payloadBytesMax, self.patientQuotaBytes, self.requestWindowMs) = (payloadBytesMax, patientQuotaBytes, requestWindowMs)
        }

        /// A key left out of the table takes its default, so an operator can set one limit alone.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            let defaults = NodeConfig.defaultShadows
            payloadBytesMax = try container.decodeIfPresent(UInt64.self, forKey: .payloadBytesMax) ?? defaults.payloadBytesMax
            patientQuotaBytes = try container.decodeIfPresent(UInt64.self, forKey: .patientQuotaBytes) ?? defaults.patientQuotaBytes
            requestWindowMs = try container.decodeIfPresent(UInt64.self, forKey: .requestWindowMs) ?? defaults.requestWindowMs
        }
    }

    public struct P2PSection: Codable, Sendable, Hashable {
        /// Where this node accepts TLS connections from its peers.
        public var listenHost: String
        public var listenPort: Int
        /// The other nodes, as `<node id hex>@<host>:<port>`. A node dials the peers whose id is above its own and
        /// waits for the others to dial it, so each pair has one connection.
        public var peers: [String]
        /// Bytes a peer may have waiting to be sent before gossip to it is dropped; twice this disconnects it.
        public var sendQueueBytesMax: Int
        /// Per peer (Docs/operations.md, "Limits"): transactions a second it may gossip here, sustained and at once
        /// (0: no limit), and bytes a second read from it, sustained and at once (0: no limit). Optional; defaulted
        /// by `PeerNetwork.Configuration`.
        public var peerTransactionsPerSecond: Int?
        public var peerTransactionsBurst: Int?
        public var peerBytesPerSecond: Int?
        public var peerBytesBurst: Int?
        /// Days before the node's or the CA's TLS certificate expires from which it is warned about (logs and
        /// `/metrics`); 30 when absent.
        public var tlsExpiryWarningDays: Int?
        public var tlsExpiryWarningDaysSetting: Int { tlsExpiryWarningDays ?? 30 }
        enum CodingKeys: String, CodingKey {
            case peers
            case listenHost = "listen_host"
            case listenPort = "listen_port"
            case sendQueueBytesMax = "send_queue_bytes_max"
            case peerTransactionsPerSecond = "peer_transactions_per_second"
            case peerTransactionsBurst = "peer_transactions_burst"
            case peerBytesPerSecond = "peer_bytes_per_second"
            case peerBytesBurst = "peer_bytes_burst"
            case tlsExpiryWarningDays = "tls_expiry_warning_days"
        }

        public init(listenHost: String, listenPort: Int, peers: [String], sendQueueBytesMax: Int,
                    peerTransactionsPerSecond: Int? = nil, peerTransactionsBurst: Int? = nil,
                    peerBytesPerSecond: Int? = nil, peerBytesBurst: Int? = nil, tlsExpiryWarningDays: Int? = nil) {
            self.tlsExpiryWarningDays = tlsExpiryWarningDays
            (self.listenHost, self.listenPort, self.peers, self.sendQueueBytesMax) = (listenHost, listenPort, peers, sendQueueBytesMax)
            (self.peerTransactionsPerSecond, self.peerTransactionsBurst) = (peerTransactionsPerSecond, peerTransactionsBurst)
            (self.peerBytesPerSecond, self.peerBytesBurst) = (peerBytesPerSecond, peerBytesBurst)
        }
    }

    public struct ConsensusSection: Codable, Sendable, Hashable {
        /// Round 0's timeouts; each later round adds `timeout_delta_ms`.
        public var timeoutProposeMs: Int
        public var timeoutPrevoteMs: Int
        public var timeoutPrecommitMs: Int
        public var timeoutDeltaMs: Int
        enum CodingKeys: String, CodingKey {
            case timeoutProposeMs = "timeout_propose_ms"
            case timeoutPrevoteMs = "timeout_prevote_ms"
            case timeoutPrecommitMs = "timeout_precommit_ms"
            case timeoutDeltaMs = "timeout_delta_ms"
        }
    }

    public var node: NodeSection
    public var api: APISection
    public var producer: ProducerSection
    public var mempool: MempoolSection
    /// Optional in the file (homes made before 0.3.0 lack it); `storageSettings` supplies the default.
    public var storage: StorageSection?
    /// Optional (homes made before 0.6 lack it); `shadowsSettings` supplies the defaults.
    public var shadows: ShadowsSection?
    /// Absent in a single-node home: the node runs consensus alone, without peers.
    public var p2p: P2PSection?
    public var consensus: ConsensusSection?

    public static let defaultStateCacheMB = 256
    /// LevelDB's block cache for the state database, MiB: `LevelDBStore.Options`' default, not a second copy of it.
    public static let defaultLevelDBCacheMB = LevelDBStore.Options().blockCacheBytes >> 20
    public static let defaultLevelDBWriteBufferMB = LevelDBStore.Options().writeBufferBytes >> 20
    public static let defaultLevelDBMaxOpenFiles = LevelDBStore.Options().maxOpenFiles

    public static let defaultConsensus = ConsensusSection(
        timeoutProposeMs: 3_000, timeoutPrevoteMs: 1_000, timeoutPrecommitMs: 1_000, timeoutDeltaMs: 500
    )

    /// The consensus section, defaulted.
    public var consensusSettings: ConsensusSection { consensus ?? Self.defaultConsensus }

    /// A peer address of the p2p section: node id, host and port.
    public struct PeerAddress: Sendable, Hashable, CustomStringConvertible {
        public var node: Hash32
        public var host: String
        public var port: Int
        public var description: String { "\(node.hex)@\(host):\(port)" }

        public init(node: Hash32, host: String, port: Int) {
            (self.node, self.host, self.port) = (node, host, port)
        }

        public init?(_ text: String) {
            let parts = text.split(separator: "@", maxSplits: 1)
            guard parts.count == 2, let node = Hash32(hex: String(parts[0])),
                let colon = parts[1].lastIndex(of: ":"), let port = Int(parts[1][parts[1].index(after: colon)...]),
                (1...65535).contains(port), colon > parts[1].startIndex
            else { return nil }
            self.init(node: node, host: String(parts[1][..<colon]), port: port)
        }
    }

    /// The p2p section's peers, parsed.
    public func peerAddresses() throws(NodeError) -> [PeerAddress] {
        var addresses: [PeerAddress] = []
        for text in p2p?.peers ?? [] {
            guard let address = PeerAddress(text) else {
                throw NodeError("p2p.peers: \"\(text)\" is not <64 hex digits>@<host>:<port>")
            }
            addresses.append(address)
        }
        return addresses
    }

    public static let defaultShadows = ShadowsSection(payloadBytesMax: 2 << 30, patientQuotaBytes: 16 << 30, requestWindowMs: 60_000)

    /// The shadows section, defaulted.
    public var shadowsSettings: ShadowsSection { shadows ?? Self.defaultShadows }

    /// The storage section, defaulted.
    public var storageSettings: StorageSection { storage ?? StorageSection(stateCacheMB: Self.defaultStateCacheMB) }

    public static func defaults(moniker: String, port: Int = 26657, p2p: P2PSection? = nil) -> NodeConfig {
        NodeConfig(
            node: .init(moniker: moniker, threads: 0),
            api: .init(host: "127.0.0.1", port: port, ratePerSecond: defaultAPILimits.ratePerSecond, rateBurst: defaultAPILimits.rateBurst,
                       connectionsPerClientMax: defaultAPILimits.connectionsPerClientMax, headerTimeoutMs: defaultAPILimits.headerTimeoutMs,
                       bodyMinBytesPerSecond: defaultAPILimits.bodyMinBytesPerSecond, bodyWindowMs: defaultAPILimits.bodyWindowMs),
            producer: .init(blockIntervalMs: 1_000, blockTransactionsMax: 2_000),
            mempool: .init(transactionsMax: 50_000, bytesMax: 64 << 20, perSignerMax: 1_000, perSignerBytesMax: 4 << 20),
            storage: .init(stateCacheMB: defaultStateCacheMB, levelDBCacheMB: defaultLevelDBCacheMB,
                           levelDBWriteBufferMB: defaultLevelDBWriteBufferMB, levelDBMaxOpenFiles: defaultLevelDBMaxOpenFiles),
            shadows: defaultShadows, p2p: p2p, consensus: defaultConsensus
        )
    }

    public static func load(_ path: String) throws(NodeError) -> NodeConfig {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw NodeError("cannot read \(path): \(error.localizedDescription)")
        }
        let config: NodeConfig
        do { config = try TOMLDecoder().decode(NodeConfig.self, from: text) } catch {
            throw NodeError("\(path) is not a valid node configuration: \(error)")
        }
        let timeouts = config.consensusSettings
        guard (1...65535).contains(config.api.port), config.producer.blockIntervalMs >= 1,
            (1...10_000).contains(config.producer.blockTransactionsMax), config.mempool.transactionsMax >= 1,
            (0...1_048_576).contains(config.storageSettings.stateCacheMB),
            (1...1_048_576).contains(config.storageSettings.levelDBCacheMBSetting),
            (1...1_024).contains(config.storageSettings.levelDBWriteBufferMBSetting),
            (74...50_000).contains(config.storageSettings.levelDBMaxOpenFilesSetting), (0...256).contains(config.node.threads ?? 0),
            (1...65535).contains(config.p2p?.listenPort ?? 1), (1 << 20...1 << 34).contains(config.p2p?.sendQueueBytesMax ?? 1 << 20),
            (0...10_000_000).contains(config.p2p?.peerTransactionsPerSecond ?? 0), (1...100_000_000).contains(config.p2p?.peerTransactionsBurst ?? 1),
            (0...(1 << 40)).contains(config.p2p?.peerBytesPerSecond ?? 0), (1 << 16...1 << 40).contains(config.p2p?.peerBytesBurst ?? 1 << 16),
            (1...3_650).contains(config.p2p?.tlsExpiryWarningDaysSetting ?? 30),
            [timeouts.timeoutProposeMs, timeouts.timeoutPrevoteMs, timeouts.timeoutPrecommitMs].allSatisfy({ (10...600_000).contains($0) }),
            (0...600_000).contains(timeouts.timeoutDeltaMs),
            (1...(16 << 30)).contains(config.shadowsSettings.payloadBytesMax), (1_000...3_600_000).contains(config.shadowsSettings.requestWindowMs)
        else {
            throw NodeError(
                "\(path): a value is out of range (ports 1-65535, interval >= 1 ms, 1-10,000 per block, "
                    + "state cache 0-1048576 MiB, LevelDB cache 1-1048576 MiB, LevelDB write buffer 1-1024 MiB, "
                    + "LevelDB open files 74-50000, threads 0-256, send queue 1 MiB-16 GiB, timeouts 10-600,000 ms, "
                    + "payloads 1 B-16 GiB, request window 1,000-3,600,000 ms, peer transactions 0-10,000,000 a second "
                    + "and a burst of 1-100,000,000, peer bytes 0-1 TiB a second and a burst of 64 KiB-1 TiB, "
                    + "TLS expiry warning 1-3650 days)"
            )
        }
        let mempool = config.mempool.limits
        guard mempool.perSignerMax >= 1, mempool.bytesMax >= 1, (1...mempool.bytesMax).contains(mempool.perSignerBytesMax) else {
            throw NodeError("\(path): [mempool] per_signer_max must be at least 1 and per_signer_bytes_max between 1 and bytes_max")
        }
        let limits = config.api.limits
        guard (0...1_000_000).contains(limits.ratePerSecond), (1...10_000_000).contains(limits.rateBurst),
              (1...100_000).contains(limits.connectionsPerClientMax), (100...600_000).contains(limits.headerTimeoutMs),
              (0...(1 << 30)).contains(limits.bodyMinBytesPerSecond), (100...3_600_000).contains(limits.bodyWindowMs)
        else {
            throw NodeError(
                "\(path): an [api] limit is out of range (rate_per_second 0-1,000,000, rate_burst 1-10,000,000, "
                    + "connections_per_client_max 1-100,000, header_timeout_ms 100-600,000, "
                    + "body_min_bytes_per_second 0-1 GiB, body_window_ms 100-3,600,000)")
        }
        guard config.producer.blockIntervalMs < timeouts.timeoutProposeMs else {
            throw NodeError("\(path): producer.block_interval_ms must be below consensus.timeout_propose_ms "
                + "(a proposer waiting for transactions longer than the others wait for its proposal loses its round)")
        }
        _ = try config.peerAddresses()
        return config
    }

    /// The TOML text `node init` writes, with comments for operators.
    public func toml() -> String {
        """
        # TwinLedger node configuration (Docs/operations.md).

        [node]
        moniker = "\(node.moniker)"
        # Threads for the node's network, API and ledger work: 0 lets NIO and Swift use one per CPU core each;
        # 1 puts the whole node on one thread (fewer thread switches; best when several nodes share a machine).
        threads = \(node.threads ?? 0)

        [api]
        # The HTTP JSON API, /health and /metrics. Keep it on loopback or behind a TLS proxy.
        host = "\(api.host)"
        port = \(api.port)
        # Per client (an IP address; IPv6 by /64): requests per second sustained (0: no limit) and at once,
        # open connections; then the time a request's head may take to arrive and the slowest body accepted
        # (bytes per second over windows of body_window_ms). Docs/operations.md, "Limits".
        rate_per_second = \(api.limits.ratePerSecond)
        rate_burst = \(api.limits.rateBurst)
        connections_per_client_max = \(api.limits.connectionsPerClientMax)
        header_timeout_ms = \(api.limits.headerTimeoutMs)
        body_min_bytes_per_second = \(api.limits.bodyMinBytesPerSecond)
        body_window_ms = \(api.limits.bodyWindowMs)

        [producer]
        # A proposer proposes as soon as transactions are waiting; with none, it waits this long, then proposes an
        # empty block (the chain's heartbeat). Below consensus.timeout_propose_ms.
        block_interval_ms = \(producer.blockIntervalMs)
        block_transactions_max = \(producer.blockTransactionsMax)

        [mempool]
        transactions_max = \(mempool.transactionsMax)
        bytes_max = \(mempool.bytesMax)
        per_signer_max = \(mempool.perSignerMax)
        # Bytes of waiting transactions per signer (a sixteenth of bytes_max when absent).
        per_signer_bytes_max = \(mempool.limits.perSignerBytesMax)

        [storage]
        # Recently read state kept in memory in front of LevelDB. The state tree is separate: it is
        # always fully in memory, about 220 bytes per authenticated entry (Docs/operations.md).
        state_cache_mb = \(storageSettings.stateCacheMB)
        # LevelDB's block cache for the state database (recently read table blocks, uncompressed). With the state
        # cache, the write buffers (two at most, below) and the state tree, it makes up most of a node's memory.
        leveldb_cache_mb = \(storageSettings.levelDBCacheMBSetting)
        # LevelDB's write buffer: when full, it is written to a table file and merged into the levels below in the
        # background (a compaction). Smaller buffers make each flush and compaction shorter and more frequent.
        leveldb_write_buffer_mb = \(storageSettings.levelDBWriteBufferMBSetting)
        # Table files kept open, each holding its index and Bloom filter in memory (Docs/operations.md, Memory).
        leveldb_max_open_files = \(storageSettings.levelDBMaxOpenFilesSetting)

        [shadows]
        # Off-chain payloads (Docs/shadows.md): the largest upload, the bytes accepted per patient, and how far a
        # signed read or upload request's time may be from this node's clock.
        payload_bytes_max = \(shadowsSettings.payloadBytesMax)
        patient_quota_bytes = \(shadowsSettings.patientQuotaBytes)
        request_window_ms = \(shadowsSettings.requestWindowMs)

        [consensus]
        # Tendermint's timeouts for round 0; each later round waits timeout_delta_ms longer (Docs/consensus.md).
        timeout_propose_ms = \(consensusSettings.timeoutProposeMs)
        timeout_prevote_ms = \(consensusSettings.timeoutPrevoteMs)
        timeout_precommit_ms = \(consensusSettings.timeoutPrecommitMs)
        timeout_delta_ms = \(consensusSettings.timeoutDeltaMs)
        \(p2pTOML)
        """
    }

    var p2pTOML: String {
        guard let p2p else { return "" }
        return """

            [p2p]
            # Mutual TLS 1.3 with the consortium's nodes (Docs/protocol.md); certificates in tls/.
            listen_host = "\(p2p.listenHost)"
            listen_port = \(p2p.listenPort)
            send_queue_bytes_max = \(p2p.sendQueueBytesMax)
            # Per peer: transactions a second it may gossip here (beyond, dropped before any signature check) and
            # bytes a second read from it (beyond, reading pauses: TCP slows it down); sustained and at once, 0: none.
            peer_transactions_per_second = \(p2p.peerTransactionsPerSecond ?? Int(PeerDefaults.transactionsPerSecond))
            peer_transactions_burst = \(p2p.peerTransactionsBurst ?? Int(PeerDefaults.transactionsBurst))
            peer_bytes_per_second = \(p2p.peerBytesPerSecond ?? Int(PeerDefaults.bytesPerSecond))
            peer_bytes_burst = \(p2p.peerBytesBurst ?? Int(PeerDefaults.bytesBurst))
            # Warn (log and /metrics) this many days before the node's or the CA's certificate expires.
            tls_expiry_warning_days = \(p2p.tlsExpiryWarningDaysSetting)
            peers = [
            \(p2p.peers.map { "    \"\($0)\"," }.joined(separator: "\n"))
            ]

            """
    }
}

/// The per-peer limits `PeerNetwork.Configuration` starts with.
enum PeerDefaults {
    static let transactionsPerSecond = PeerNetwork.Configuration.defaultPeerTransactionsPerSecond
    static let transactionsBurst = PeerNetwork.Configuration.defaultPeerTransactionsBurst
    static let bytesPerSecond = PeerNetwork.Configuration.defaultPeerBytesPerSecond
    static let bytesBurst = PeerNetwork.Configuration.defaultPeerBytesBurst
}

/// The files of a node home directory.
public struct NodeHome: Sendable {
    public let path: String
    public init(_ path: String) { self.path = path }

    public var config: String { path + "/config.toml" }
    public var genesis: String { path + "/genesis.json" }
    public var keys: String { path + "/keys" }
    /// The node's key: a validator's signs votes and proposals; every node's names it in the consortium.
    public var validatorKey: String { keys + "/validator.key" }
    /// A consensus key this validator rotated to (`validator rotate-key`): `keys/consensus-<key id>.key`. The node's
    /// identity stays `validator.key`'s; it votes with whichever of its keys the height's validator set names.
    public func consensusKey(_ id: Hash32) -> String { keys + "/consensus-\(id.hex).key" }

    /// The validator's consensus keys: `validator.key`, then every `consensus-*.key` in `keys/`. A file that does
    /// not load is skipped here (the node logs the set's key it lacks instead).
    public func consensusKeys() -> [SecretKey] {
        var keys: [SecretKey] = []
        if let first = try? KeyFile.load(from: validatorKey) { keys.append(first) }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: self.keys)) ?? [])
            .filter { $0.hasPrefix("consensus-") && $0.hasSuffix(".key") }.sorted()
        for name in names {
            if let key = try? KeyFile.load(from: self.keys + "/" + name) { keys.append(key) }
        }
        return keys
    }

    public var tls: String { path + "/tls" }
    public var tlsCertificate: String { tls + "/node.pem" }
    public var tlsKey: String { tls + "/node.key" }
    /// The running node's process id (written at start, removed at a clean stop): `node reload-tls` signals it.
    public var pidFile: String { path + "/node.pid" }
    public var consensusWAL: String { data + "/consensus.wal" }
    public var safetyRecord: String { data + "/signed-position" }
    public func organizationKey(_ name: String) -> String { keys + "/organization-\(name).key" }
    public var data: String { path + "/data" }
    public var state: String { data + "/state" }
    /// The blob store (shadow payloads), a LevelDB apart from the ledger's.
    public var blobs: String { data + "/blobs" }
}
