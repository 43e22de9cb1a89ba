import API
import ArgumentParser
import Foundation
import Hummingbird
import KeyValue
import Consensus
import Ledger
import Logging
import Node
import P2P
import ServiceLifecycle
import UnixSignals
import Storage
import TwinCrypto

struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node", abstract: "Create a node home and run a node.", subcommands: [Init.self, Start.self, ReloadTLS.self]
    )

    struct ReloadTLS: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reload-tls",
            abstract: "Make the running node of a home present its TLS certificate files again (after net issue-cert).",
            discussion: "Sends SIGHUP to the process in <home>/node.pid. The node checks the new certificate and logs the outcome."
        )

        @Option(help: "The node's home.") var home: String

        func run() throws {
            let path = NodeHome(home).pidFile
            guard let text = try? String(contentsOfFile: path, encoding: .utf8),
                  let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1
            else { throw ValidationError("no running node: \(path) is missing or unreadable") }
            guard kill(pid, SIGHUP) == 0 else {
                throw ValidationError("cannot signal process \(pid) from \(path): \(String(cString: strerror(errno)))")
            }
            print("asked node \(pid) to reload its TLS certificate; its log says whether it took it")
        }
    }

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a node home: config.toml, a one-validator genesis.json, and keys (mode 0600)."
        )

        @Option(help: "Node home directory.") var home: String
        @Option(help: "Chain id.") var chainID = "twinledger-local"
        @Option(help: "The organization this node belongs to; its key enrolls participants.") var organization = "HOSP_A"
        @Option(help: "Name of this node.") var moniker = "node0"
        @Option(help: "HTTP API port.") var port = 26657
        @Option(help: "Use this genesis.json instead of creating one.") var genesis: String?
        @Flag(help: "Overwrite an existing home's configuration (never its data).") var force = false

        func run() throws {
            let paths = NodeHome(home)
            let manager = FileManager.default
            if manager.fileExists(atPath: paths.config) && !force {
                throw ValidationError("\(paths.config) exists; use --force to rewrite the configuration")
            }
            try manager.createDirectory(atPath: paths.keys, withIntermediateDirectories: true,
                                        attributes: [.posixPermissions: 0o700])
            try manager.createDirectory(atPath: paths.data, withIntermediateDirectories: true)
            let validator = try SecretKey()
            try KeyFile.save(validator, to: paths.validatorKey, overwrite: force, role: "node")
            if let genesis {
                try manager.copyItem(atPath: genesis, toPath: paths.genesis)
                _ = try GenesisFile.load(paths.genesis)
            } else {
                guard isValidName(organization) else { throw ValidationError("organization must be [A-Za-z0-9_-]{1,64}") }
                let organizationKey = try SecretKey()
                try KeyFile.save(organizationKey, to: paths.organizationKey(organization), overwrite: force)
                let file = GenesisFile(
                    chainID: chainID, genesisTimeMillis: LedgerNode.wallClockMillis(),
                    organizations: [.init(name: organization, publicKey: organizationKey.publicKey.hex)],
                    validators: [.init(name: moniker, publicKey: validator.publicKey.hex, power: 10)]
                )
                try file.save(paths.genesis)
                print("organization \(organization) key: \(paths.organizationKey(organization))")
            }
            try NodeConfig.defaults(moniker: moniker, port: port).toml().write(toFile: paths.config, atomically: true, encoding: .utf8)
            print("node home:    \(home)")
            print("genesis:      \(paths.genesis)")
            print("config:       \(paths.config)")
            print("validator:    \(paths.validatorKey) (\(validator.publicKey.hex.prefix(16))…)")
            print("start it with: twinledger node start --home \(home)")
        }
    }

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the node until SIGTERM or SIGINT.")

        @Option(help: "Node home directory.") var home: String
        @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel = "info"

        /// The organization key in a home's keys directory (`organization-<NAME>.key`), if there is exactly one.
        static func organizationKey(in directory: String) throws -> SecretKey? {
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
                .filter { $0.hasPrefix("organization-") && $0.hasSuffix(".key") }
            guard names.count == 1 else { return nil }
            return try KeyFile.load(from: directory + "/" + names[0])
        }

        func run() async throws {
            let paths = NodeHome(home)
            let config = try NodeConfig.load(paths.config)
            let genesis = try GenesisFile.load(paths.genesis)
            let key = try KeyFile.load(from: paths.validatorKey)
            let isValidator = try genesis.validatorKeys().contains(key.publicKey)
            let nodeIDs = try genesis.nodeIDs()
            guard isValidator || nodeIDs.contains(key.publicKey.keyID) else {
                throw ValidationError("this node's key is neither a validator nor a consortium node in \(paths.genesis)")
            }
            var logger = Logger(label: "twinledger")
            logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            logger[metadataKey: "node"] = "\(config.node.moniker)"
            try FileManager.default.createDirectory(atPath: paths.data, withIntermediateDirectories: true)
            let level = try LevelDBStore(path: paths.state, options: config.storageSettings.levelDBOptions)
            let blobLevel = try LevelDBStore(path: paths.blobs, options: .blobs)
            let store = CachedStore(base: level, capacityBytes: config.storageSettings.stateCacheMB << 20)
            var settings = LedgerNode.Settings()
            settings.blockInterval = .milliseconds(config.producer.blockIntervalMs)
            settings.blockTransactionsMax = config.producer.blockTransactionsMax
            settings.mempool = config.mempool.limits
            let opening = ContinuousClock.now
            let node = try LedgerNode(
                store: store, genesis: try genesis.ledgerGenesis(), proposer: key.publicKey, settings: settings,
                logger: logger
            )
            let head = await node.head
            let opened = ContinuousClock.now - opening
            logger.info("state opened; state tree rebuilt and checked against the head's state root", metadata: [
                "seconds": "\(Double(opened.components.seconds) + Double(opened.components.attoseconds) / 1e18)",
            ])
            if isValidator {
                let timeouts = config.consensusSettings
                var consensus = ConsensusConfig(chainID: genesis.chainID)
                let delta = UInt64(timeouts.timeoutDeltaMs)
                consensus.propose = TimeoutSchedule(base: UInt64(timeouts.timeoutProposeMs), delta: delta, max: 60_000)
                consensus.prevote = TimeoutSchedule(base: UInt64(timeouts.timeoutPrevoteMs), delta: delta, max: 60_000)
                consensus.precommit = TimeoutSchedule(base: UInt64(timeouts.timeoutPrecommitMs), delta: delta, max: 60_000)
                try await node.startConsensus(keys: paths.consensusKeys(), loadKeys: { paths.consensusKeys() }, config: consensus,
                                              walPath: paths.consensusWAL, safetyPath: paths.safetyRecord)
            }
            var network: PeerNetwork?
            var tls: TLSRotation?
            if let p2p = config.p2p, let consortium = genesis.consortium {
                let identity = PEMIdentity(
                    certificatePEM: try String(contentsOfFile: paths.tlsCertificate, encoding: .utf8),
                    privateKeyPEM: try String(contentsOfFile: paths.tlsKey, encoding: .utf8)
                )
                let peers = try config.peerAddresses().map { (node: $0.node, host: $0.host, port: $0.port) }
                var configuration = PeerNetwork.Configuration(
                    me: key.publicKey.keyID,
                    policy: HandshakePolicy(chainID: genesis.chainID, genesis: genesis.fingerprint, nodes: nodeIDs),
                    identity: identity, authority: consortium.certificateAuthority,
                    listenHost: p2p.listenHost, listenPort: p2p.listenPort, peers: peers)
                configuration.sendQueueBytesMax = p2p.sendQueueBytesMax
                if let value = p2p.peerTransactionsPerSecond { configuration.peerTransactionsPerSecond = Double(value) }
                if let value = p2p.peerTransactionsBurst { configuration.peerTransactionsBurst = Double(value) }
                if let value = p2p.peerBytesPerSecond { configuration.peerBytesPerSecond = Double(value) }
                if let value = p2p.peerBytesBurst { configuration.peerBytesBurst = Double(value) }
                for (bucket, rate, burst) in [("transactions", configuration.peerTransactionsPerSecond, configuration.peerTransactionsBurst),
                                              ("bytes", configuration.peerBytesPerSecond, configuration.peerBytesBurst)] {
                    node.metrics.registry.makeGauge(name: "twinledger_p2p_peer_rate_limit_per_second", labels: [("bucket", bucket)],
                                                    help: "Each peer's sustained rate by bucket (0: no limit).").set(rate)
                    node.metrics.registry.makeGauge(name: "twinledger_p2p_peer_rate_limit_burst", labels: [("bucket", bucket)],
                                                    help: "Each peer's burst by bucket.").set(burst)
                }
                let peerNetwork = try PeerNetwork(configuration, logger: logger)
                network = peerNetwork
                let watch = CertificateWatch(nodeCertificatePEM: identity.certificatePEM, authorityPEM: consortium.certificateAuthority,
                                             warningDays: p2p.tlsExpiryWarningDaysSetting, metrics: node.metrics, logger: logger)
                watch.check()
                tls = await TLSRotation(paths: paths, network: peerNetwork, watch: watch, logger: logger)
            } else if genesis.validators.count > 1 {
                throw ValidationError("the genesis has several validators but config.toml has no [p2p] section")
            }
            logger.info("starting", metadata: [
                "chain_id": "\(genesis.chainID)", "height": "\(head.height)", "role": "\(isValidator ? "validator" : "follower")",
                "api": "http://\(config.api.host):\(config.api.port)",
            ])
            let blobs = BlobStore(store: blobLevel)
            let replicator = BlobReplicator(blobs: blobs, metrics: node.metrics, logger: logger, chainID: genesis.chainID, nodeKey: key)
            await node.attach(replicator: replicator)
            var shadowLimits = ShadowDesk.Limits()
            shadowLimits.payloadBytesMax = config.shadowsSettings.payloadBytesMax
            shadowLimits.patientQuotaBytes = config.shadowsSettings.patientQuotaBytes
            shadowLimits.requestWindowMillis = config.shadowsSettings.requestWindowMs
            // The access log is anchored with the organization key this home holds (net init puts it in the
            // organization's first node's home); without one, reads are logged but not anchored.
            let anchorKey = try Self.organizationKey(in: paths.keys)
            let logKey = anchorKey?.publicKey.keyID ?? key.publicKey.keyID
            let logStart = (try? await node.record(UInt64.self, StateKey.anchorHead(logKey))) ?? nil
            let accessLog = try AccessLog(store: blobLevel, node: logKey, start: logStart ?? 0)
            if anchorKey == nil {
                logger.notice("no organization key in this home: served reads are logged but not anchored on the ledger")
            }
            let desk = ShadowDesk(blobs: blobs, node: node, limits: shadowLimits, accessLog: accessLog, anchorKey: anchorKey)
            let apiLimits = config.api.limits
            let limits = ClientLimits(
                settings: ClientLimitSettings(
                    ratePerSecond: Double(apiLimits.ratePerSecond), burst: Double(apiLimits.rateBurst),
                    connectionsPerClientMax: apiLimits.connectionsPerClientMax, headerTimeoutMillis: Int64(apiLimits.headerTimeoutMs),
                    bodyMinBytesPerSecond: apiLimits.bodyMinBytesPerSecond, bodyWindowMillis: Int64(apiLimits.bodyWindowMs),
                    bodyBytesMax: Int(clamping: config.shadowsSettings.payloadBytesMax) + (1 << 16)),
                registry: node.metrics.registry)
            let app = Application(
                router: makeRouter(node: node, shadows: desk, limits: limits),
                server: limits.server(),
                configuration: .init(address: .hostname(config.api.host, port: config.api.port), serverName: "twinledger"),
                onServerRunning: { _ in
                    print("twinledger node \(config.node.moniker) listening on http://\(config.api.host):\(config.api.port)")
                    fflush(nil)
                },
                logger: logger
            )
            let group = ServiceGroup(
                configuration: .init(
                    services: [.init(service: NodeService(node: node, network: network, replicator: replicator, desk: desk, tls: tls, logger: logger)),
                               .init(service: app)],
                    gracefulShutdownSignals: [.sigterm, .sigint], logger: logger
                )
            )
            // The process id, for `node reload-tls` (SIGHUP); written once the signal is handled, removed at a clean stop.
            try? "\(getpid())\n".write(toFile: paths.pidFile, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: paths.pidFile) }
            try await group.run()
            blobLevel.close()
            level.close()
            let finalHeight = await node.head.height
            logger.info("stopped cleanly", metadata: ["height": "\(finalHeight)"])
        }
    }
}

/// Runs the node's network, consensus timers and sync until graceful shutdown, then closes the connections.
struct NodeService: Service {
    let node: LedgerNode
    let network: PeerNetwork?
    let replicator: BlobReplicator
    let desk: ShadowDesk
    let tls: TLSRotation?
    let logger: Logger

    func run() async throws {
        if let network {
            await node.attach(network: network)
            try await network.start(height: await node.head.height)
        }
        let certificates = Task { await tls?.run() }
        let timers = Task { await node.runTimers() }
        let events = Task { if let network { await node.run(events: network) } }
        let replication = Task {
            let shadows = await node.registeredShadows()
            await replicator.run(network: network, shadows: shadows.live, grantEnvelopes: shadows.envelopes, erased: shadows.erased)
        }
        let anchoring = Task {
            while !Task.isCancelled {
                await desk.anchorIfDue()
                try? await Task.sleep(for: .seconds(1))
            }
        }
        try? await gracefulShutdown()
        certificates.cancel()
        timers.cancel()
        anchoring.cancel()
        replicator.stop()
        replication.cancel()
        _ = await replication.value
        await network?.stop()
        _ = await timers.value
        _ = await events.value
        logger.info("consensus and network stopped")
    }
}

/// Certificate rotation without downtime (Docs/operations.md, "Certificates"): on SIGHUP (`twinledger node
/// reload-tls`) the node reads tls/node.pem and tls/node.key again and presents them on every new connection, if they
/// name this node, chain to the consortium CA, are valid and belong together; otherwise it keeps the old ones and
/// logs why. Hourly, and after each reload, the certificates' expiry is checked (`CertificateWatch`).
struct TLSRotation: Sendable {
    let paths: NodeHome
    let network: PeerNetwork
    let watch: CertificateWatch
    let logger: Logger
    let signals: UnixSignalsSequence

    init(paths: NodeHome, network: PeerNetwork, watch: CertificateWatch, logger: Logger) async {
        (self.paths, self.network, self.watch, self.logger) = (paths, network, watch, logger)
        // Trapped now, before the pid file is written: a SIGHUP's default action would end the process.
        signals = await UnixSignalsSequence(trapping: .sighup)
    }

    func reload() {
        do {
            let identity = PEMIdentity(certificatePEM: try String(contentsOfFile: paths.tlsCertificate, encoding: .utf8),
                                       privateKeyPEM: try String(contentsOfFile: paths.tlsKey, encoding: .utf8))
            try network.reloadIdentity(identity)
            watch.replace(nodeCertificatePEM: identity.certificatePEM)
            let left = watch.check()["node"] ?? 0
            logger.notice("reloaded the TLS certificate", metadata: ["days_left": "\(Int(left / 86_400))"])
        } catch {
            logger.error("TLS reload refused: the node keeps presenting its previous certificate", metadata: ["error": "\(error)"])
        }
    }

    func run() async {
        let hourly = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(3_600))
                if !Task.isCancelled { watch.check() }
            }
        }
        defer { hourly.cancel() }
        await withTaskCancellationHandler {
            for await _ in signals { reload() }
        } onCancel: {
            hourly.cancel()
        }
    }
}
