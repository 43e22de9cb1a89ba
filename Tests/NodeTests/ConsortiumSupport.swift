import API
import Encoding
import Foundation
import Ledger
import Node
import TestSupport
import TwinCrypto

/// The JSON object a command printed (from its first `{`: a command may print lines before it).
func jsonObject(in output: String) throws -> [String: Any] {
    guard let start = output.firstIndex(of: "{"),
        let object = try JSONSerialization.jsonObject(with: Data(output[start...].utf8)) as? [String: Any]
    else { throw ProcessTestError("no JSON object in: \(output)") }
    return object
}

/// A consortium of real `twinledger node start` processes on loopback, made by `twinledger net init` from a
/// definition with free ports, with short timeouts so that the tests stay short. Logs go to `<dir>/<name>.log`.
final class ConsortiumProcesses {
    struct Member {
        let name: String
        let organization: String
        let validator: Bool
        let apiPort: Int
        let p2pPort: Int
        var home: String
    }

    let dir: String
    var members: [Member]
    var processes: [String: Process] = [:]
    let chainID: String

    init(_ dir: String, validators: Int, followers: Int = 0, chainID: String = "twinledger-test") throws {
        self.dir = dir
        self.chainID = chainID
        var members: [Member] = []
        for index in 0..<(validators + followers) {
            let validator = index < validators
            members.append(Member(
                name: validator ? "v\(index)" : "f\(index - validators)", organization: "ORG_\(index)", validator: validator,
                apiPort: freePort(), p2pPort: freePort(), home: ""
            ))
        }
        let nodes = members.map { m in
            #"{"name":"\#(m.name)","organization":"\#(m.organization)","role":"\#(m.validator ? "validator" : "follower")","host":"127.0.0.1","api_port":\#(m.apiPort),"p2p_port":\#(m.p2pPort)}"#
        }
        let definition = #"{"chain_id":"\#(chainID)","nodes":[\#(nodes.joined(separator: ","))]}"#
        try definition.write(toFile: dir + "/definition.json", atomically: true, encoding: .utf8)
        let result = try cli(["net", "init", "--definition", dir + "/definition.json", "--home", dir + "/net"])
        guard result.status == 0 else { throw ProcessTestError("net init failed: \(result.output)") }
        for index in members.indices {
            members[index].home = dir + "/net/" + members[index].name
            // Nodes that share a host get one thread each from net init: these tests run that mode.
            let config = try NodeConfig.load(members[index].home + "/config.toml")
            guard config.node.threads == 1 else { throw ProcessTestError("net init gave \(members[index].name) threads = \(String(describing: config.node.threads))") }
            try Self.quicken(members[index].home + "/config.toml")
        }
        self.members = members
    }

    /// Short timeouts and heartbeat: a crashed proposer's round times out in a second.
    static func quicken(_ path: String) throws {
        var text = try String(contentsOfFile: path, encoding: .utf8)
        for (from, to) in [("timeout_propose_ms = 3000", "timeout_propose_ms = 1000"), ("timeout_prevote_ms = 1000", "timeout_prevote_ms = 500"),
                           ("timeout_precommit_ms = 1000", "timeout_precommit_ms = 500"), ("timeout_delta_ms = 500", "timeout_delta_ms = 250"),
                           ("block_interval_ms = 1000", "block_interval_ms = 300")] {
            guard text.contains(from) else { throw ProcessTestError("\(path) has no \(from)") }
            text = text.replacingOccurrences(of: from, with: to)
        }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    func member(_ name: String) -> Member { members.first { $0.name == name }! }
    var validators: [Member] { members.filter(\.validator) }

    func start(_ name: String) throws {
        let m = member(name)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try twinledger())
        process.arguments = ["node", "start", "--home", m.home, "--log-level", "info"]
        let log = "\(dir)/\(name).log"
        if !FileManager.default.fileExists(atPath: log) { FileManager.default.createFile(atPath: log, contents: nil) }
        guard let handle = FileHandle(forWritingAtPath: log) else { throw ProcessTestError("cannot open \(log)") }
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        processes[name] = process
    }

    func startAll() async throws {
        for m in members { try start(m.name) }
        for m in members { try await waitHealthy(m.name) }
    }

    /// Waits for `/health` to say ok. The deadline is generous because `make test` runs suites in parallel on a
    /// machine with about one core: a node's start (genesis, LevelDB, TLS) can take many seconds there. A process that
    /// has ended fails at once, with the end of its log in the error.
    func waitHealthy(_ name: String, seconds: Double = 120) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let health = try? await health(name), health.status == "ok" { return }
            if let process = processes[name], !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let log = (try? String(contentsOfFile: "\(dir)/\(name).log", encoding: .utf8)) ?? ""
        let tail = log.split(separator: "\n").suffix(15).joined(separator: "\n")
        let state = processes[name].map { $0.isRunning ? "still running" : "exited with \($0.terminationStatus)" } ?? "not started"
        throw ProcessTestError("node \(name) did not become healthy (\(state)); log \(dir)/\(name).log ends:\n\(tail)")
    }

    /// Sends `signal` and waits for the process to end; returns how it ended.
    @discardableResult
    func stop(_ name: String, _ signal: Int32 = SIGTERM) -> (reason: Process.TerminationReason, status: Int32)? {
        guard let process = processes.removeValue(forKey: name) else { return nil }
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        return (process.terminationReason, process.terminationStatus)
    }

    func stopAll() {
        for name in Array(processes.keys) { stop(name, SIGKILL) }
    }

    deinit { stopAll() }

    func get(_ name: String, _ path: String) async throws -> (Data, Int) {
        try await httpRequest(port: member(name).apiPort, method: "GET", path: path, body: nil)
    }

    func health(_ name: String) async throws -> HealthResponse {
        try JSONDecoder().decode(HealthResponse.self, from: try await get(name, "/health").0)
    }

    func height(_ name: String) async throws -> UInt64 { try await health(name).height }

    /// A metric's value from the node's /metrics (the first sample of that name, any labels).
    func metric(_ name: String, _ metric: String) async throws -> Double {
        let text = String(decoding: try await get(name, "/metrics").0, as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix(metric + " ") || line.hasPrefix(metric + "{") {
            if let value = line.split(separator: " ").last.flatMap({ Double($0) }) { return value }
        }
        return 0
    }

    /// The block hash and state root at `height` on `name`.
    func block(_ name: String, _ height: UInt64) async throws -> (hash: String, stateRoot: String)? {
        let (data, status) = try await get(name, "/v1/blocks/\(height)")
        guard status == 200, let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let header = object["header"] as? [String: Any], let hash = header["hash"] as? String,
            let root = header["state_root"] as? String
        else { return nil }
        return (hash, root)
    }

    /// Waits until every node in `names` reaches `height`.
    func waitHeight(_ names: [String], atLeast height: UInt64, seconds: Int = 30) async throws {
        for _ in 0..<(seconds * 10) {
            var all = true
            for name in names where ((try? await self.height(name)) ?? 0) < height { all = false }
            if all { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        var heights: [String] = []
        for name in names { heights.append("\(name) \((try? await self.height(name)).map(String.init) ?? "down")") }
        throw ProcessTestError("not every node reached height \(height) in \(seconds) s: \(heights.joined(separator: ", ")) (logs in \(dir))")
    }

    /// Every height from 1 to the lowest head of `names` has one block hash and state root on all of them.
    func agreement(_ names: [String]) async throws -> UInt64 {
        var top = UInt64.max
        for name in names { top = min(top, try await height(name)) }
        for height in 1...max(top, 1) where top > 0 {
            var seen: (hash: String, stateRoot: String)?
            for name in names {
                guard let block = try await block(name, height) else { throw ProcessTestError("\(name) has no block \(height)") }
                if let seen, seen.hash != block.hash || seen.stateRoot != block.stateRoot {
                    throw ProcessTestError("height \(height): \(name) has block \(block.hash.prefix(16)), another node \(seen.hash.prefix(16))")
                }
                seen = block
            }
        }
        return top
    }

    /// The organization key of `member` (net init puts it in the organization's first node's home).
    func organizationKey(_ m: Member) throws -> SecretKey {
        try KeyFile.load(from: m.home + "/keys/organization-\(m.organization).key")
    }

    /// The wallet's environment for talking to `member`'s API.
    func wallet(_ name: String) -> [String: String] { ["TWINLEDGER_NODE": "http://127.0.0.1:\(member(name).apiPort)"] }

    /// A new key file `dir/name.key`, enrolled with `role` by `member`'s organization through the wallet; its path.
    func participant(_ name: String, _ role: String, by member: String = "v0") throws -> String {
        let m = self.member(member)
        let path = "\(dir)/\(name).key"
        let made = try cli(["keys", "new", "--out", path, "--role", role])
        guard made.status == 0 else { throw ProcessTestError("keys new: \(made.output)") }
        let enrolled = try cli(["enroll", "--key", m.home + "/keys/organization-\(m.organization).key", "--key-file-to-enroll", path,
                                "--role", role], environment: wallet(member))
        guard enrolled.status == 0 else { throw ProcessTestError("enroll \(name): \(enrolled.output)") }
        return path
    }
}

/// Signed-transaction load: each organization signs audit anchors with its own nonces and submits them to its own
/// node, waiting for each commit, so the streams run side by side. Records the ids the API reported committed.
actor LoadGenerator {
    struct Stream: Sendable {
        let key: SecretKey
        let port: Int
        var nonce: UInt64 = 0
    }

    let chainID: String
    var streams: [Stream]
    private(set) var committed: [String] = []
    private(set) var notCommitted = 0

    init(chainID: String, streams: [(key: SecretKey, port: Int)]) {
        self.chainID = chainID
        self.streams = streams.map { Stream(key: $0.key, port: $0.port) }
    }

    func record(_ id: String?) {
        if let id { committed.append(id) } else { notCommitted += 1 }
    }

    func next(_ index: Int) -> (SignedTransaction, Int)? {
        streams[index].nonce += 1
        let stream = streams[index]
        let body = TransactionBody(
            chainID: chainID, signer: stream.key.publicKey, nonce: stream.nonce,
            payload: .auditAnchor(AuditAnchor(root: Hashing.sha3(Array("\(index)-\(stream.nonce)".utf8)), firstSequence: stream.nonce - 1, count: 1))
        )
        guard let signed = try? SignedTransaction(signing: body, with: stream.key) else { return nil }
        return (signed, stream.port)
    }

    /// Retargets stream `index` to another node (its own was killed).
    func retarget(_ index: Int, port: Int) { streams[index] = Stream(key: streams[index].key, port: port, nonce: streams[index].nonce) }

    /// Submits `count` transactions per stream, all streams at once; returns how many the API reported committed.
    nonisolated func run(count: Int, timeoutMillis: Int = 10_000) async -> Int {
        let streamCount = await streams.count
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<streamCount {
                group.addTask {
                    for _ in 0..<count {
                        guard let (tx, port) = await self.next(index) else { return }
                        let json = #"{"transaction":"\#(Hex.encode(tx.bytes))"}"#
                        let response = try? await httpRequest(
                            port: port, method: "POST", path: "/v1/transactions?wait=commit&timeout_ms=\(timeoutMillis)", body: Data(json.utf8))
                        if let (data, status) = response, status == 200,
                            let body = try? JSONDecoder().decode(SubmitResponse.self, from: data), body.status == "committed", body.code == ""
                        {
                            await self.record(body.id)
                        } else {
                            await self.record(nil)
                        }
                    }
                }
            }
        }
        return await committed.count
    }
}
