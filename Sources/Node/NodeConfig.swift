import Foundation
import TOMLKit

/// `config.toml` of a node home (documented in Docs/operations.md).
public struct NodeConfig: Codable, Sendable, Hashable {
    public struct NodeSection: Codable, Sendable, Hashable {
        public var moniker: String
    }

    public struct APISection: Codable, Sendable, Hashable {
        public var host: String
        public var port: Int
    }

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
        enum CodingKeys: String, CodingKey {
            case transactionsMax = "transactions_max"
            case bytesMax = "bytes_max"
            case perSignerMax = "per_signer_max"
        }
    }

    public struct StorageSection: Codable, Sendable, Hashable {
        /// MiB of recently read state kept in memory in front of LevelDB (0 turns the cache off).
        public var stateCacheMB: Int
        enum CodingKeys: String, CodingKey {
            case stateCacheMB = "state_cache_mb"
        }
    }

    public var node: NodeSection
    public var api: APISection
    public var producer: ProducerSection
    public var mempool: MempoolSection
    /// Optional in the file (homes made before 0.3.0 lack it); `storageSettings` supplies the default.
    public var storage: StorageSection?

    public static let defaultStateCacheMB = 256

    /// The storage section, defaulted.
    public var storageSettings: StorageSection { storage ?? StorageSection(stateCacheMB: Self.defaultStateCacheMB) }

    public static func defaults(moniker: String, port: Int = 26657) -> NodeConfig {
        NodeConfig(
            node: .init(moniker: moniker), api: .init(host: "127.0.0.1", port: port),
            producer: .init(blockIntervalMs: 200, blockTransactionsMax: 1_000),
            mempool: .init(transactionsMax: 50_000, bytesMax: 64 << 20, perSignerMax: 1_000),
            storage: .init(stateCacheMB: defaultStateCacheMB)
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
        guard (1...65535).contains(config.api.port), config.producer.blockIntervalMs >= 1,
            (1...10_000).contains(config.producer.blockTransactionsMax), config.mempool.transactionsMax >= 1,
            (0...1_048_576).contains(config.storageSettings.stateCacheMB)
        else {
            throw NodeError(
                "\(path): a value is out of range (port 1-65535, interval >= 1 ms, 1-10,000 per block, "
                    + "state cache 0-1048576 MiB)"
            )
        }
        return config
    }

    /// The TOML text `node init` writes, with comments for operators.
    public func toml() -> String {
        """
        # TwinLedger node configuration (Docs/operations.md).

        [node]
        moniker = "\(node.moniker)"

        [api]
        # The HTTP JSON API, /health and /metrics. Keep it on loopback or behind a TLS proxy.
        host = "\(api.host)"
        port = \(api.port)

        [producer]
        # A block is produced at most this often when transactions are waiting.
        block_interval_ms = \(producer.blockIntervalMs)
        block_transactions_max = \(producer.blockTransactionsMax)

        [mempool]
        transactions_max = \(mempool.transactionsMax)
        bytes_max = \(mempool.bytesMax)
        per_signer_max = \(mempool.perSignerMax)

        [storage]
        # Recently read state kept in memory in front of LevelDB. The state tree is separate: it is
        # always fully in memory, about 220 bytes per authenticated entry (Docs/operations.md).
        state_cache_mb = \(storageSettings.stateCacheMB)

        """
    }
}

/// The files of a node home directory.
public struct NodeHome: Sendable {
    public let path: String
    public init(_ path: String) { self.path = path }

    public var config: String { path + "/config.toml" }
    public var genesis: String { path + "/genesis.json" }
    public var keys: String { path + "/keys" }
    public var validatorKey: String { keys + "/validator.key" }
    public func organizationKey(_ name: String) -> String { keys + "/organization-\(name).key" }
    public var data: String { path + "/data" }
    public var state: String { data + "/state" }
}
