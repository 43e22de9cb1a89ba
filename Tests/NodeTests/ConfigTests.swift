// Genesis and configuration files: the shipped example loads; invalid files are refused with a clear message;
// the TOML that `node init` writes reads back identically.
import ABE
import Foundation
import Node
import Storage
import TestSupport
import Testing

@Suite("Genesis and config files")
struct ConfigTests {
    @Test("Genesis/example-genesis.json loads and yields its organizations and validators")
    func example() throws {
        let file = try GenesisFile.load(vectorPath("../../Genesis/example-genesis.json"))
        let ledger = try file.ledgerGenesis()
        #expect(ledger.chainID == "twinledger-example")
        #expect(ledger.organizations.map(\.name) == ["HOSP_A", "NEURO_CENTER"])
        #expect(try file.validatorKeys().count == 1)
        #expect(ledger.parameters.emergencyCategories == ["emergency", "medication"])
        #expect(ledger.parameters.abe == .standard && ledger.parameters.abe.gidDomain == "TWINLEDGER-V01-ABE-GID_")
        // A genesis without the abe section means the standard parameters (and says so when saved).
        let dir = try makeTemporaryDirectory("genesis-abe")
        defer { removeTemporaryDirectory(dir) }
        let text = try String(contentsOfFile: vectorPath("../../Genesis/example-genesis.json"), encoding: .utf8)
        let start = try #require(text.range(of: "\"abe\" : {")), end = try #require(text.range(of: "},", range: start.upperBound..<text.endIndex))
        try text.replacingCharacters(in: start.lowerBound..<end.upperBound, with: "").write(toFile: dir + "/g.json", atomically: true, encoding: .utf8)
        #expect(try GenesisFile.load(dir + "/g.json").parameters.abe == .standard)
    }

    @Test("invalid genesis files are refused with a message naming the problem")
    func invalidGenesis() throws {
        let dir = try makeTemporaryDirectory("genesis")
        defer { removeTemporaryDirectory(dir) }
        let good = try GenesisFile.load(vectorPath("../../Genesis/example-genesis.json"))
        var badKey = good
        badKey.organizations[0].publicKey = String(repeating: "ff", count: 32)
        var noValidator = good
        noValidator.validators = []
        var zeroPower = good
        zeroPower.validators[0].power = 0
        for (name, file, fragment) in [("key", badKey, "public_key"), ("validators", noValidator, "no validator"),
                                       ("power", zeroPower, "voting power")] {
            let path = "\(dir)/\(name).json"
            try file.save(path)
            #expect { try GenesisFile.load(path) } throws: { "\($0)".contains(fragment) }
        }
        try "{\"chain_id\": 1}".write(toFile: dir + "/junk.json", atomically: true, encoding: .utf8)
        #expect { try GenesisFile.load(dir + "/junk.json") } throws: { "\($0)".contains("not a valid genesis file") }
    }

    @Test("the config written by node init reads back; out-of-range values are refused")
    func config() throws {
        let dir = try makeTemporaryDirectory("config")
        defer { removeTemporaryDirectory(dir) }
        let config = NodeConfig.defaults(moniker: "node7", port: 30001)
        try config.toml().write(toFile: dir + "/config.toml", atomically: true, encoding: .utf8)
        #expect(try NodeConfig.load(dir + "/config.toml") == config)
        try config.toml().replacingOccurrences(of: "port = 30001", with: "port = 70000")
            .write(toFile: dir + "/bad.toml", atomically: true, encoding: .utf8)
        #expect { try NodeConfig.load(dir + "/bad.toml") } throws: { "\($0)".contains("out of range") }
        try config.toml().replacingOccurrences(of: "state_cache_mb = 256", with: "state_cache_mb = -1")
            .write(toFile: dir + "/bad-cache.toml", atomically: true, encoding: .utf8)
        #expect { try NodeConfig.load(dir + "/bad-cache.toml") } throws: { "\($0)".contains("out of range") }
        try config.toml().replacingOccurrences(of: "leveldb_cache_mb = 64", with: "leveldb_cache_mb = 0")
            .write(toFile: dir + "/bad-leveldb-cache.toml", atomically: true, encoding: .utf8)
        #expect { try NodeConfig.load(dir + "/bad-leveldb-cache.toml") } throws: { "\($0)".contains("LevelDB cache 1-1048576") }
        // A config from before leveldb_cache_mb existed loads with LevelDB's block cache at its default.
        try config.toml().replacingOccurrences(of: "leveldb_cache_mb = 64", with: "")
            .write(toFile: dir + "/no-leveldb-cache.toml", atomically: true, encoding: .utf8)
        #expect(try NodeConfig.load(dir + "/no-leveldb-cache.toml").storageSettings.levelDBCacheMBSetting == 64)
        // The write buffer and the open tables: validated, defaulted when absent, and passed to LevelDB.
        for (from, to, message) in [("leveldb_write_buffer_mb = 16", "leveldb_write_buffer_mb = 0", "LevelDB write buffer 1-1024"),
                                    ("leveldb_max_open_files = 500", "leveldb_max_open_files = 73", "LevelDB open files 74-50000")] {
            try config.toml().replacingOccurrences(of: from, with: to).write(toFile: dir + "/bad-leveldb.toml", atomically: true, encoding: .utf8)
            #expect { try NodeConfig.load(dir + "/bad-leveldb.toml") } throws: { "\($0)".contains(message) }
        }
        try config.toml().replacingOccurrences(of: "leveldb_write_buffer_mb = 16", with: "leveldb_write_buffer_mb = 4")
            .replacingOccurrences(of: "leveldb_max_open_files = 500", with: "leveldb_max_open_files = 100")
            .write(toFile: dir + "/leveldb.toml", atomically: true, encoding: .utf8)
        let tuned = try NodeConfig.load(dir + "/leveldb.toml").storageSettings.levelDBOptions
        #expect(tuned.writeBufferBytes == 4 << 20 && tuned.maxOpenFiles == 100 && tuned.blockCacheBytes == 64 << 20)
        try config.toml().replacingOccurrences(of: "leveldb_write_buffer_mb = 16", with: "").replacingOccurrences(of: "leveldb_max_open_files = 500", with: "")
            .write(toFile: dir + "/old-storage.toml", atomically: true, encoding: .utf8)
        let defaulted = try NodeConfig.load(dir + "/old-storage.toml").storageSettings.levelDBOptions
        #expect(defaulted.writeBufferBytes == 16 << 20 && defaulted.maxOpenFiles == 500)
        try config.toml().replacingOccurrences(of: "threads = 0", with: "threads = 257")
            .write(toFile: dir + "/bad-threads.toml", atomically: true, encoding: .utf8)
        #expect { try NodeConfig.load(dir + "/bad-threads.toml") } throws: { "\($0)".contains("threads 0-256") }
        // A config from before [node] threads existed loads without it (NIO's and Swift's default threads).
        try config.toml().replacingOccurrences(of: "threads = 0", with: "")
            .write(toFile: dir + "/no-threads.toml", atomically: true, encoding: .utf8)
        #expect(try NodeConfig.load(dir + "/no-threads.toml").node.threads == nil)
        // A config from before the [storage] section existed still loads, with the default cache.
        let text = config.toml()
        let old = String(text[..<text.range(of: "[storage]")!.lowerBound])
        try old.write(toFile: dir + "/old.toml", atomically: true, encoding: .utf8)
        let loaded = try NodeConfig.load(dir + "/old.toml")
        #expect(loaded.storage == nil)
        #expect(loaded.storageSettings.stateCacheMB == NodeConfig.defaultStateCacheMB)
        // One [shadows] limit set alone: the others take their defaults.
        let shadowsStart = try #require(text.range(of: "[shadows]"))
        let shadowsEnd = text[shadowsStart.upperBound...].range(of: "\n[")?.lowerBound ?? text.endIndex
        let partial = String(text[..<shadowsStart.lowerBound]) + "[shadows]\npayload_bytes_max = 5000\n" + String(text[shadowsEnd...])
        try partial.write(toFile: dir + "/partial-shadows.toml", atomically: true, encoding: .utf8)
        let shadows = try NodeConfig.load(dir + "/partial-shadows.toml").shadowsSettings
        #expect(shadows.payloadBytesMax == 5000 && shadows.patientQuotaBytes == NodeConfig.defaultShadows.patientQuotaBytes)
        #expect(shadows.requestWindowMs == NodeConfig.defaultShadows.requestWindowMs)
        // The API's per-client limits: validated, and defaulted when absent (configs from before they existed).
        for (from, to) in [("rate_per_second = 500", "rate_per_second = -1"), ("rate_burst = 1000", "rate_burst = 0"),
                           ("connections_per_client_max = 64", "connections_per_client_max = 0"),
                           ("header_timeout_ms = 10000", "header_timeout_ms = 99"), ("body_window_ms = 30000", "body_window_ms = 50")] {
            #expect(text.contains(from))
            try text.replacingOccurrences(of: from, with: to).write(toFile: dir + "/bad-api.toml", atomically: true, encoding: .utf8)
            #expect { try NodeConfig.load(dir + "/bad-api.toml") } throws: { "\($0)".contains("an [api] limit is out of range") }
        }
        var withoutLimits = text
        for key in ["rate_per_second", "rate_burst", "connections_per_client_max", "header_timeout_ms", "body_min_bytes_per_second", "body_window_ms"] {
            withoutLimits = withoutLimits.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix(key + " = ") }
                .joined(separator: "\n")
        }
        try withoutLimits.write(toFile: dir + "/old-api.toml", atomically: true, encoding: .utf8)
        let api = try NodeConfig.load(dir + "/old-api.toml").api
        #expect(api.ratePerSecond == nil && api.limits == NodeConfig.defaultAPILimits)
        try text.replacingOccurrences(of: "rate_per_second = 500", with: "rate_per_second = 0").write(toFile: dir + "/no-rate.toml", atomically: true, encoding: .utf8)
        #expect(try NodeConfig.load(dir + "/no-rate.toml").api.limits.ratePerSecond == 0)
        // A consortium node's per-peer limits: written with their defaults, read back, validated.
        let peer = "\(String(repeating: "ab", count: 32))@127.0.0.1:26758"
        let member = NodeConfig.defaults(moniker: "v1", p2p: .init(listenHost: "127.0.0.1", listenPort: 26757, peers: [peer],
                                                                   sendQueueBytesMax: 32 << 20, peerTransactionsPerSecond: 5_000))
        let memberText = member.toml()
        for line in ["peer_transactions_per_second = 5000", "peer_transactions_burst = 10000", "peer_bytes_per_second = 67108864",
                     "peer_bytes_burst = 67108864"] {
            #expect(memberText.contains(line))
        }
        try memberText.write(toFile: dir + "/member.toml", atomically: true, encoding: .utf8)
        let p2p = try #require(try NodeConfig.load(dir + "/member.toml").p2p)
        #expect(p2p.peerTransactionsPerSecond == 5_000 && p2p.peerBytesBurst == 64 << 20)
        try memberText.replacingOccurrences(of: "peer_bytes_burst = 67108864", with: "peer_bytes_burst = 100")
            .write(toFile: dir + "/bad-peer.toml", atomically: true, encoding: .utf8)
        #expect { try NodeConfig.load(dir + "/bad-peer.toml") } throws: { "\($0)".contains("peer bytes 0-1 TiB a second and a burst of 64 KiB-1 TiB") }
    }
}
