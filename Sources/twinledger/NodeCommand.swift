import API
import ArgumentParser
import Foundation
import Hummingbird
import KeyValue
import Ledger
import Logging
import Node
import Storage
import TwinCrypto

struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node", abstract: "Create a node home and run a node.", subcommands: [Init.self, Start.self]
    )

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

        func run() async throws {
            let paths = NodeHome(home)
            let config = try NodeConfig.load(paths.config)
            let genesis = try GenesisFile.load(paths.genesis)
            let validator = try KeyFile.load(from: paths.validatorKey)
            guard try genesis.validatorKeys().contains(validator.publicKey) else {
                throw ValidationError("this node's validator key is not a validator in \(paths.genesis)")
            }
            var logger = Logger(label: "twinledger")
            logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            logger[metadataKey: "node"] = "\(config.node.moniker)"
            try FileManager.default.createDirectory(atPath: paths.data, withIntermediateDirectories: true)
            let level = try LevelDBStore(path: paths.state)
            let store = CachedStore(base: level, capacityBytes: config.storageSettings.stateCacheMB << 20)
            var settings = LedgerNode.Settings()
            settings.blockInterval = .milliseconds(config.producer.blockIntervalMs)
            settings.blockTransactionsMax = config.producer.blockTransactionsMax
            settings.mempool = .init(
                transactionsMax: config.mempool.transactionsMax, bytesMax: config.mempool.bytesMax,
                perSignerMax: config.mempool.perSignerMax
            )
            let opening = ContinuousClock.now
            let node = try LedgerNode(
                store: store, genesis: try genesis.ledgerGenesis(), proposer: validator.publicKey, settings: settings,
                logger: logger
            )
            let head = await node.head
            let opened = ContinuousClock.now - opening
            logger.info("state opened; state tree rebuilt and checked against the head's state root", metadata: [
                "seconds": "\(Double(opened.components.seconds) + Double(opened.components.attoseconds) / 1e18)",
            ])
            logger.info("starting", metadata: [
                "chain_id": "\(genesis.chainID)", "height": "\(head.height)",
                "api": "http://\(config.api.host):\(config.api.port)",
            ])
            let app = Application(
                router: makeRouter(node: node),
                configuration: .init(address: .hostname(config.api.host, port: config.api.port), serverName: "twinledger"),
                onServerRunning: { _ in
                    print("twinledger node \(config.node.moniker) listening on http://\(config.api.host):\(config.api.port)")
                    fflush(nil)
                },
                logger: logger
            )
            let producer = Task { await node.runProducer() }
            defer { producer.cancel() }
            try await app.runService()
            producer.cancel()
            _ = await producer.value
            level.close()
            let finalHeight = await node.head.height
            logger.info("stopped cleanly", metadata: ["height": "\(finalHeight)"])
        }
    }
}
