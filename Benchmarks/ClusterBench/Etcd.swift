// The crash-fault-tolerant reference of issue 9: etcd from Debian (`etcd-server`, `etcd-client`) as a three-member
// Raft cluster on loopback, under the same open-loop schedule of small writes as the TwinLedger consortium, in the
// same run (`make bench-cluster`, `--etcd`). Writes are `PUT`s of values the size of one signed consent grant,
// through etcd's v3 HTTP API (its gRPC gateway, `POST /v3/kv/put`): a put answers once the write is committed by a
// Raft majority and synced, so submit-to-answer is commit latency. Requests are spread over 32 keep-alive
// connections per member; etcd answers one request at a time per connection. After the run, etcd's own client
// (`etcdctl get --prefix --count-only`) counts the keys, so every write counted was stored.
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import TestSupport

/// Answers on one connection, in order: each answer closes the oldest request's latency.
final class LatencyRecorder: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPClientResponsePart
    struct State {
        var sent: [Double] = []
        var head = 0
        var ok = 0
        var refused = 0
        var latencies: [Double] = []
        var last: Double = 0
        var currentOK = false
    }
    let state = Mutex(State())

    func sent(_ time: Double) { state.withLock { $0.sent.append(time) } }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): state.withLock { $0.currentOK = head.status == .ok }
        case .body: break
        case .end:
            let t = now()
            state.withLock { s in
                guard s.head < s.sent.count else { return }
                if s.currentOK {
                    s.ok += 1
                    s.latencies.append((t - s.sent[s.head]) * 1_000)
                } else {
                    s.refused += 1
                }
                s.head += 1
                s.last = t
            }
        }
    }
}

struct EtcdConnection {
    let channel: any Channel
    let recorder: LatencyRecorder

    static func connect(port: Int) async throws -> EtcdConnection {
        let recorder = LatencyRecorder()
        return EtcdConnection(channel: try await connectHTTP(port: port, recorder), recorder: recorder)
    }

    func put(_ bodies: [[UInt8]]) {
        let recorder = self.recorder
        post(channel, uri: "/v3/kv/put", contentType: "application/json", bodies) { recorder.sent(now()) }
    }
}

struct EtcdRateResult: Encodable {
    let members: Int
    let offered: Int
    let sent: Int
    let committed: Int
    let refused: Int
    let committedPerSecond: Double
    let p50Millis: Double
    let p99Millis: Double
    let p999Millis: Double
    let cpuMillisPerWrite: Double
}

struct EtcdResult: Encodable {
    let members: Int
    let valueBytes: Int
    let rates: [EtcdRateResult]
    /// Keys etcdctl counted after the run: every committed write.
    let storedKeys: Int
    var sustained: Double { rates.map(\.committedPerSecond).max() ?? 0 }
}

/// Three etcd members on loopback, each with its own data directory (synced writes, etcd's default).
final class EtcdCluster {
    let clientPorts: [Int]
    var processes: [Process] = []

    init(binary: String, directory: String, members: Int = 3) throws {
        clientPorts = (0..<members).map { _ in freePort() }
        let peerPorts = (0..<members).map { _ in freePort() }
        let initial = (0..<members).map { "e\($0)=http://127.0.0.1:\(peerPorts[$0])" }.joined(separator: ",")
        for m in 0..<members {
            processes.append(try spawn(binary, [
                "--name", "e\(m)", "--data-dir", "\(directory)/etcd-e\(m)",
                "--listen-client-urls", "http://127.0.0.1:\(clientPorts[m])", "--advertise-client-urls", "http://127.0.0.1:\(clientPorts[m])",
                "--listen-peer-urls", "http://127.0.0.1:\(peerPorts[m])", "--initial-advertise-peer-urls", "http://127.0.0.1:\(peerPorts[m])",
                "--initial-cluster", initial, "--initial-cluster-state", "new", "--initial-cluster-token", "twinledger-bench",
                "--log-level", "warn",
            ], log: "\(directory)/etcd-e\(m).log"))
        }
    }

    /// Waits until every member reports healthy (a leader is elected and it can serve).
    func waitReady() throws {
        for port in clientPorts {
            var healthy = false
            for _ in 0..<300 where !healthy {
                if let (data, status) = try? blockingHTTP(port: port, method: "GET", path: "/health", body: nil), status == 200,
                    String(decoding: data, as: UTF8.self).contains("true")
                {
                    healthy = true
                } else {
                    usleep(100_000)
                }
            }
            if !healthy { throw ProcessTestError("etcd on port \(port) did not become healthy") }
        }
    }

    var cpu: Double { processes.reduce(0) { $0 + cpuSeconds($1.processIdentifier) } }

    func stop() {
        for p in processes where p.isRunning { p.terminate() }
        for p in processes { p.waitUntilExit() }
    }
}

/// The etcd reference at `rates`: writes of `valueBytes` random bytes, open loop, as `runCluster` sends grants.
func runEtcd(_ options: Options, rates: [Int], valueBytes: Int) async throws -> EtcdResult {
    let directory = NSTemporaryDirectory() + "twinbench-etcd-\(getpid())"
    try? FileManager.default.removeItem(atPath: directory)
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let cluster = try EtcdCluster(binary: options.etcd, directory: directory)
    defer { cluster.stop() }
    try cluster.waitReady()
    var connections: [EtcdConnection] = []
    for port in cluster.clientPorts {
        for _ in 0..<32 { connections.append(try await EtcdConnection.connect(port: port)) }
    }
    var random = SystemRandomNumberGenerator()
    let value = Data((0..<valueBytes).map { _ in UInt8.random(in: 0...255, using: &random) }).base64EncodedString()
    var results: [EtcdRateResult] = []
    var written = 0
    // The consortium's rates, then on by half again until etcd saturates too (at most ten more steps).
    var schedule = rates
    var extra = rates.last ?? 1_000
    for _ in 0..<10 { extra = extra * 3 / 2; schedule.append(extra) }
    for rate in schedule {
        let total = rate * options.seconds
        let first = written
        let bodies: [[UInt8]] = (0..<total).map { i in
            let key = Data("twinledger/bench/\(first + i)".utf8).base64EncodedString()
            return Array(#"{"key":"\#(key)","value":"\#(value)"}"#.utf8)
        }
        written += total
        let before = connections.map { $0.recorder.state.withLock { ($0.ok, $0.refused, $0.latencies.count) } }
        let cpuBefore = cluster.cpu
        let start = now()
        openLoop(total: total, rate: rate, start: start) { due, _ in
            var batches = [[[UInt8]]](repeating: [], count: connections.count)
            for i in due { batches[i % connections.count].append(bodies[i]) }
            for (index, batch) in batches.enumerated() where !batch.isEmpty { connections[index].put(batch) }
        }
        // Drain: until every request is answered, or nothing is answered for 3 s (up to 20 s).
        let answeredBefore = before.reduce(0) { $0 + $1.0 + $1.1 }
        drain(total: total, poll: 50_000) {
            connections.reduce(0) { $0 + $1.recorder.state.withLock { $0.ok + $0.refused } } - answeredBefore
        }
        var latencies: [Double] = []
        var ok = 0, refused = 0, last = start
        for (connection, was) in zip(connections, before) {
            connection.recorder.state.withLock { s in
                ok += s.ok - was.0
                refused += s.refused - was.1
                latencies += s.latencies[was.2...]
                last = max(last, s.last)
            }
        }
        latencies.sort()
        let cpu = cluster.cpu - cpuBefore
        let committedRate = Double(ok) / max(last - start, Double(options.seconds))
        let result = EtcdRateResult(
            members: cluster.clientPorts.count, offered: rate, sent: total, committed: ok, refused: refused, committedPerSecond: committedRate,
            p50Millis: percentile(latencies, 0.5), p99Millis: percentile(latencies, 0.99), p999Millis: percentile(latencies, 0.999),
            cpuMillisPerWrite: cpu * 1_000 / Double(max(1, ok)))
        results.append(result)
        print(String(format: "  etcd offered %5d writes/s: committed %7.0f/s (%d/%d, refused %d)  p50 %6.1f ms  p99 %6.1f ms  p999 %6.1f ms  CPU %.2f ms/write",
                     rate, committedRate, ok, total, refused, result.p50Millis, result.p99Millis, result.p999Millis, result.cpuMillisPerWrite))
        fflush(nil)
        if Double(ok) < 0.9 * Double(total) || result.p99Millis > 5_000 { break }
        sleep(1)
    }
    for connection in connections { try? await connection.channel.close() }
    // etcd's own client counts what was stored.
    let endpoints = cluster.clientPorts.map { "http://127.0.0.1:\($0)" }.joined(separator: ",")
    let count = Process()
    count.executableURL = URL(fileURLWithPath: options.etcdctl)
    // `count` in a range answer is the number of keys in the whole range, whatever the limit (etcd 3.4 has no --count-only).
    count.arguments = ["--endpoints", endpoints, "get", "--prefix", "twinledger/bench/", "--limit", "1", "--write-out", "json"]
    count.environment = ["ETCDCTL_API": "3"]
    let output = directory + "/etcdctl.out"
    FileManager.default.createFile(atPath: output, contents: nil)
    count.standardOutput = FileHandle(forWritingAtPath: output)
    try count.run()
    count.waitUntilExit()
    let answer = (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output)))) as? [String: Any]
    let stored = (answer?["count"] as? Int) ?? -1
    print("  etcdctl counts \(stored) keys stored; \(results.reduce(0) { $0 + $1.committed }) writes were answered as committed")
    return EtcdResult(members: cluster.clientPorts.count, valueBytes: valueBytes, rates: results, storedKeys: stored)
}
