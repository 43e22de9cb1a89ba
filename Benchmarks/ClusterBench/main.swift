// ClusterBench (`make bench-cluster`, release): a consortium of real node processes on loopback under an open-loop
// load of signed transactions at rising rates, with the machine's limits measured in the same run. The load is a mix
// (`mixKind`: grants, revocations of earlier grants, shadow registrations, audit anchors) or, with `--grants-only`,
// consent grants alone, the workload of the ledger floor below.
//
// For each validator count: the ceiling first (one `twinledger debug verify-loop` process per validator, all at once;
// total BIP340 verifications per second divided by the validators, since every validator verifies every transaction
// once), then the ledger floor (one `twinledger debug ledger-loop` per validator at once: verify, execute and commit
// the same grants with no API, gossip or consensus), then a consortium from `twinledger net init`, 400 enrolled patients, and for each offered rate a fixed number
// of seconds of pre-signed grants sent on schedule (open loop: a slow node does not slow the sender) over pipelined
// HTTP/1.1 connections, one per validator, each patient always to the same validator. Commits are observed by
// polling one validator's blocks every 5 ms; latency is submit to observed commit. Reported per rate: committed tx/s,
// p50/p99/p999 latency, refusals, CPU seconds per committed transaction (all node processes), P2P bytes sent per
// transaction per node. Docs/performance.md ("Consortium") has the results and how to read them.
import API
import Encoding
import Foundation
import Ledger
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import Shadows
import TestSupport
import TwinCrypto

struct Options {
    var validators = [4, 7]
    var rates = [250, 500, 1_000, 1_500, 2_000, 2_500, 3_000, 4_000]
    var seconds = 6
    var patients = 400
    var binary = ".build/release/twinledger"
    var json: String?
    var blockMax = 2_000
    /// With a size, only the shadow benchmark runs: upload that many MiB to one validator, time its replication.
    var shadowMiB = 0
    /// With a duration, only the soak runs: the first validator count at `soakRate` for that many seconds.
    var soakSeconds = 0
    var soakRate = 2_000
    /// The nodes' state cache and LevelDB block cache in MiB (`[storage]` in config.toml), when not the defaults: a
    /// soak with small caches sees them full after its warm-up, so its slope shows what grows beyond them.
    var stateCacheMB: Int?
    var levelDBCacheMB: Int?
    /// The state database's LevelDB write buffer and open table files (`[storage]`), when not the defaults.
    var levelDBWriteBufferMB: Int?
    var levelDBMaxOpenFiles: Int?
    /// Grants alone instead of the realistic mix (the ledger floor's workload, and the figures before 2026-12-04).
    var grantsOnly = false
    /// Also run the crash-fault-tolerant reference (Etcd.swift) at the same rates, beside the first validator count.
    var runEtcd = false
    var etcd = "/usr/bin/etcd"
    var etcdctl = "/usr/bin/etcdctl"
    /// With a duration, only the abusive-client run (Abuse.swift): that many seconds per run.
    var abuseSeconds = 0
    /// The per-client API rate limit the nodes run with (`[api] rate_per_second`); 0, none, unless set.
    var apiRateLimit = 0
    var apiRateBurst: Int?

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        func ints(_ text: String?) -> [Int]? { text.map { $0.split(separator: ",").compactMap { Int($0) } } }
        while let argument = iterator.next() {
            switch argument {
            case "--validators": validators = ints(iterator.next()) ?? validators
            case "--rates": rates = ints(iterator.next()) ?? rates
            case "--seconds": seconds = iterator.next().flatMap { Int($0) } ?? seconds
            case "--patients": patients = iterator.next().flatMap { Int($0) } ?? patients
            case "--binary": binary = iterator.next() ?? binary
            case "--json": json = iterator.next()
            case "--block-max": blockMax = iterator.next().flatMap { Int($0) } ?? blockMax
            case "--shadow-mib": shadowMiB = iterator.next().flatMap { Int($0) } ?? shadowMiB
            case "--soak": soakSeconds = iterator.next().flatMap { Int($0) } ?? soakSeconds
            case "--soak-rate": soakRate = iterator.next().flatMap { Int($0) } ?? soakRate
            case "--state-cache-mb": stateCacheMB = iterator.next().flatMap { Int($0) }
            case "--leveldb-cache-mb": levelDBCacheMB = iterator.next().flatMap { Int($0) }
            case "--leveldb-write-buffer-mb": levelDBWriteBufferMB = iterator.next().flatMap { Int($0) }
            case "--leveldb-max-open-files": levelDBMaxOpenFiles = iterator.next().flatMap { Int($0) }
            case "--grants-only": grantsOnly = true
            case "--etcd": runEtcd = true
            case "--etcd-binary": etcd = iterator.next() ?? etcd
            case "--etcdctl-binary": etcdctl = iterator.next() ?? etcdctl
            case "--abuse": abuseSeconds = iterator.next().flatMap { Int($0) } ?? abuseSeconds
            default: FileHandle.standardError.write(Data("unknown argument \(argument)\n".utf8))
            }
        }
    }
}

func now() -> Double { Date().timeIntervalSince1970 }

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}

/// Runs `binary` with `arguments`; returns the process (output to `log`).
func spawn(_ binary: String, _ arguments: [String], log: String) throws -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = arguments
    FileManager.default.createFile(atPath: log, contents: nil)
    let handle = FileHandle(forWritingAtPath: log)
    process.standardOutput = handle
    process.standardError = handle
    try process.run()
    return process
}

/// CPU seconds (user + system) a process has used, from /proc.
func cpuSeconds(_ pid: Int32) -> Double {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = text.lastIndex(of: ")")
    else { return 0 }
    let fields = text[text.index(after: close)...].split(separator: " ")
    // After the command: state is field 3, utime 14 and stime 15 (1-based over the whole line).
    guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

// MARK: Ceiling

/// Verifications per second per validator with `validators` verifying processes at once.
func ceiling(_ options: Options, validators: Int, directory: String) throws -> Double {
    let millis = 3_000
    let processes = try (0..<validators).map { i in
        try spawn(options.binary, ["debug", "verify-loop", "--millis", "\(millis)"], log: "\(directory)/verify-\(i).log")
    }
    var total = 0
    for (i, process) in processes.enumerated() {
        process.waitUntilExit()
        let text = (try? String(contentsOfFile: "\(directory)/verify-\(i).log", encoding: .utf8)) ?? ""
        total += Int(text.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? "") ?? 0
    }
    return Double(total) / (Double(millis) / 1_000) / Double(validators)
}

/// Transactions per second per validator that verify + execute + commit alone reach, with `validators` processes at
/// once (`twinledger debug ledger-loop`: the same grants, blocks of `blockMax`, a durable commit per block, no API,
/// gossip or consensus): the most the consortium could commit if everything else were free.
func ledgerFloor(_ options: Options, validators: Int, directory: String) throws -> Double {
    let transactions = 30_000
    let processes = try (0..<validators).map { i in
        try spawn(options.binary, ["debug", "ledger-loop", "--path", "\(directory)/ledger-loop-\(i)", "--transactions", "\(transactions)",
                                   "--patients", "\(options.patients)", "--block-size", "\(options.blockMax)"],
                  log: "\(directory)/ledger-loop-\(i).log")
    }
    var rates: [Double] = []
    for (i, process) in processes.enumerated() {
        process.waitUntilExit()
        let text = (try? String(contentsOfFile: "\(directory)/ledger-loop-\(i).log", encoding: .utf8)) ?? ""
        let fields = text.split(whereSeparator: \.isWhitespace)
        guard fields.count >= 4, let count = Double(fields[1]), let seconds = Double(fields[3]), seconds > 0 else {
            throw ProcessTestError("ledger-loop \(i) failed: \(text)")
        }
        rates.append(count / seconds)
    }
    return rates.reduce(0, +) / Double(rates.count)
}

/// Transactions per second per validator that LevelDB's synced batch writes alone allow, with `validators` processes
/// at once (`twinledger debug sync-loop`: batches of what `blockMax` committed grants write, one synced write each).
func syncLimit(_ options: Options, validators: Int, directory: String) throws -> Double {
    let processes = try (0..<validators).map { i in
        try spawn(options.binary, ["debug", "sync-loop", "--path", "\(directory)/sync-loop-\(i)", "--millis", "3000",
                                   "--transactions", "\(options.blockMax)"], log: "\(directory)/sync-loop-\(i).log")
    }
    var rates: [Double] = []
    for (i, process) in processes.enumerated() {
        process.waitUntilExit()
        let text = (try? String(contentsOfFile: "\(directory)/sync-loop-\(i).log", encoding: .utf8)) ?? ""
        let fields = text.split(whereSeparator: \.isWhitespace)
        guard fields.count >= 6, let count = Double(fields[3]), let seconds = Double(fields[5]), seconds > 0 else {
            throw ProcessTestError("sync-loop \(i) failed: \(text)")
        }
        rates.append(count / seconds)
    }
    return rates.reduce(0, +) / Double(rates.count)
}

// MARK: Pipelined HTTP submission

/// Counts responses on one keep-alive connection (HTTP/1.1 pipelining: responses come in request order).
final class ResponseCounter: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPClientResponsePart
    let counts = Mutex((ok: 0, refused: 0))

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data) {
            counts.withLock { head.status == .ok ? ($0.ok += 1) : ($0.refused += 1) }
        }
    }
}

struct Submitter {
    let channel: any Channel
    let counter: ResponseCounter

    static func connect(port: Int) async throws -> Submitter {
        let counter = ResponseCounter()
        return Submitter(channel: try await connectHTTP(port: port, counter), counter: counter)
    }

    func send(_ transactions: [[UInt8]]) {
        post(channel, uri: "/v1/transactions", contentType: "application/octet-stream", transactions)
    }
}

/// A keep-alive HTTP/1.1 client connection to loopback `port`, its answers read by `handler`.
func connectHTTP(port: Int, _ handler: some ChannelInboundHandler & Sendable) async throws -> any Channel {
    try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
        .channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHTTPClientHandlers()
                try channel.pipeline.syncOperations.addHandler(handler)
            }
        }
        .connect(host: "127.0.0.1", port: port).get()
}

/// Pipelines one POST per body on `channel`. The requests are queued on the connection's event loop in one task (one
/// wake-up of that thread per batch, not three per request: the sender shares the machine with the nodes) and flushed
/// together; `willSend` runs on that loop just before each request is written.
func post(_ channel: any Channel, uri: String, contentType: String, _ bodies: [[UInt8]], willSend: (@Sendable () -> Void)? = nil) {
    channel.eventLoop.execute {
        for bytes in bodies {
            var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: uri)
            head.headers = ["Host": "127.0.0.1", "Content-Type": contentType, "Content-Length": "\(bytes.count)"]
            willSend?()
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: bytes))), promise: nil)
            channel.write(HTTPClientRequestPart.end(nil), promise: nil)
        }
        channel.flush()
    }
}

/// Sends `total` requests on schedule at `rate` per second, open loop: every millisecond, `dispatch` gets the indices
/// that fell due and the time they are sent. Returns when the last is dispatched.
func openLoop(total: Int, rate: Int, start: Double, _ dispatch: (Range<Int>, Double) -> Void) {
    var next = 0
    while next < total {
        let due = min(total, Int((now() - start) * Double(rate)) + 1)
        if due > next {
            dispatch(next..<due, now())
            next = due
        }
        usleep(1_000)
    }
}

/// Waits until `done()` reaches `total`, or has not moved for 3 s, or 20 s have passed.
func drain(total: Int, poll: UInt32, _ done: () -> Int) {
    let sendEnd = now()
    var lastCount = -1, lastChange = now()
    while now() - sendEnd < 20 {
        let count = done()
        if count == total { break }
        if count != lastCount { (lastCount, lastChange) = (count, now()) }
        if now() - lastChange > 3 { break }
        usleep(poll)
    }
}

// MARK: The consortium

final class Cluster {
    struct Member {
        let name: String
        let apiPort: Int
        let home: String
        var process: Process?
    }

    let directory: String
    var members: [Member] = []
    let chainID = "twinledger-bench"

    init(_ options: Options, validators: Int, directory: String) throws {
        self.directory = directory
        var nodes: [String] = []
        var members: [Member] = []
        for i in 0..<validators {
            let api = freePort(), p2p = freePort()
            nodes.append(#"{"name":"v\#(i)","organization":"ORG_\#(i)","role":"validator","host":"127.0.0.1","api_port":\#(api),"p2p_port":\#(p2p)}"#)
            members.append(Member(name: "v\(i)", apiPort: api, home: "\(directory)/net/v\(i)"))
        }
        try #"{"chain_id":"\#(chainID)","nodes":[\#(nodes.joined(separator: ","))]}"#
            .write(toFile: directory + "/definition.json", atomically: true, encoding: .utf8)
        let initProcess = try spawn(options.binary, ["net", "init", "--definition", directory + "/definition.json", "--home", directory + "/net"],
                                    log: directory + "/init.log")
        initProcess.waitUntilExit()
        guard initProcess.terminationStatus == 0 else { throw ProcessTestError("net init failed; see \(directory)/init.log") }
        for member in members {
            let path = member.home + "/config.toml"
            var text = try String(contentsOfFile: path, encoding: .utf8)
            text = text.replacingOccurrences(of: "transactions_max = 50000", with: "transactions_max = 200000")
                .replacingOccurrences(of: "bytes_max = 67108864", with: "bytes_max = 268435456")
                .replacingOccurrences(of: "per_signer_max = 1000", with: "per_signer_max = 5000")
                .replacingOccurrences(of: "per_signer_bytes_max = 4194304", with: "per_signer_bytes_max = 268435456")
                .replacingOccurrences(of: "block_transactions_max = 2000", with: "block_transactions_max = \(options.blockMax)")
                // The benchmark is one client offering thousands of transactions a second: no per-client rate limit
                // (the abusive-client run sets one).
                .replacingOccurrences(of: "rate_per_second = 500", with: "rate_per_second = \(options.apiRateLimit)")
                .replacingOccurrences(of: "rate_burst = 1000", with: "rate_burst = \(options.apiRateBurst ?? 1_000)")
                .replacingOccurrences(of: "peer_transactions_per_second = 5000", with: "peer_transactions_per_second = 0")
            for (key, value) in [("state_cache_mb", options.stateCacheMB), ("leveldb_cache_mb", options.levelDBCacheMB),
                                 ("leveldb_write_buffer_mb", options.levelDBWriteBufferMB), ("leveldb_max_open_files", options.levelDBMaxOpenFiles)] {
                guard let value else { continue }
                guard text.contains("\n\(key) = ") else { throw ProcessTestError("\(path) has no \(key)") }
                text = text.split(separator: "\n", omittingEmptySubsequences: false)
                    .map { $0.hasPrefix(key + " = ") ? "\(key) = \(value)" : String($0) }.joined(separator: "\n")
            }
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        }
        self.members = members
        for index in self.members.indices {
            self.members[index].process = try spawn(
                options.binary, ["node", "start", "--home", self.members[index].home, "--log-level", "warning"],
                log: "\(directory)/\(self.members[index].name).log")
        }
    }

    func stop() {
        for member in members {
            guard let process = member.process else { continue }
            kill(process.processIdentifier, SIGTERM)
            // A node started through a wrapper (`--binary`, e.g. one that runs it under heaptrack) is the wrapper's
            // child, which the signal above does not reach: find it by its home directory and stop it too.
            for pid in processes(withArgument: member.home) where pid != process.processIdentifier { kill(pid, SIGTERM) }
            process.waitUntilExit()
        }
    }

    var cpu: Double { members.compactMap { $0.process.map { cpuSeconds($0.processIdentifier) } }.reduce(0, +) }

    func get(_ index: Int, _ path: String) throws -> Data {
        let (data, status) = try blockingHTTP(port: members[index].apiPort, method: "GET", path: path, body: nil)
        guard status == 200 else { throw ProcessTestError("GET \(path): \(status)") }
        return data
    }

    func height(_ index: Int = 0) -> UInt64 {
        guard let data = try? get(index, "/health"), let health = try? JSONDecoder().decode(HealthResponse.self, from: data)
        else { return 0 }
        return health.height
    }

    /// The sum over nodes of a counter in /metrics (over all its labels).
    func metric(_ name: String, only: Int? = nil) -> Double {
        var total = 0.0
        for index in members.indices where only == nil || only == index {
            guard let data = try? get(index, "/metrics") else { continue }
            for line in String(decoding: data, as: UTF8.self).split(separator: "\n")
            where line.hasPrefix(name + " ") || line.hasPrefix(name + "{") {
                total += line.split(separator: " ").last.flatMap { Double($0) } ?? 0
            }
        }
        return total
    }

    /// Waits, up to `limit` seconds, until no node holds a transaction in its mempool, so that a step after a
    /// saturating one starts without the previous step's queue (its drain gives up after 20 s).
    func waitMempoolsEmpty(limit: Double = 60) {
        let deadline = now() + limit
        while metric("twinledger_mempool_transactions") > 0, now() < deadline { usleep(200_000) }
    }

    func waitReady() throws {
        for _ in 0..<300 {
            if members.indices.allSatisfy({ height($0) >= 1 }) { return }
            usleep(100_000)
        }
        throw ProcessTestError("the consortium did not start; logs in \(directory)")
    }
}

/// Polls validator 0's blocks and records when each transaction id is first seen committed.
final class CommitWatcher: @unchecked Sendable {
    let cluster: Cluster
    let lock = NSLock()
    var committed: [String: Double] = [:]
    var nextHeight: UInt64
    var running = true

    init(cluster: Cluster) {
        self.cluster = cluster
        nextHeight = cluster.height() + 1
    }

    func run() {
        while lock.withLock({ running }) {
            let head = cluster.height()
            while nextHeight <= head {
                guard let data = try? cluster.get(0, "/v1/blocks/\(nextHeight)") else { break }
                let seen = now()
                let ids = Self.transactionIDs(data)
                lock.withLock { for id in ids { committed[id] = seen } }
                nextHeight += 1
            }
            usleep(5_000)
        }
    }

    /// The transaction ids of a `/v1/blocks/{height}` body: the value of every `"id":"…"` (only transactions have an
    /// `id` key; the header's fields are named otherwise). Scanned by hand: JSONDecoder cost the sender more CPU than
    /// sending, on the machine the nodes run on.
    static func transactionIDs(_ data: Data) -> [String] {
        let bytes = [UInt8](data)
        let pattern = Array(#""id":""#.utf8)
        var ids: [String] = []
        var i = 0
        while i + pattern.count + 64 <= bytes.count {
            if bytes[i] == pattern[0], bytes[i..<(i + pattern.count)].elementsEqual(pattern) {
                let start = i + pattern.count
                ids.append(String(decoding: bytes[start..<(start + 64)], as: UTF8.self))
                i = start + 64
            } else {
                i += 1
            }
        }
        return ids
    }

    func stop() { lock.withLock { running = false } }
    func time(_ id: String) -> Double? { lock.withLock { committed[id] } }
    /// The commit time of `id`, forgotten once read (the soak's memory stays flat).
    func take(_ id: String) -> Double? { lock.withLock { committed.removeValue(forKey: id) } }
}

// MARK: Load

struct Patient {
    let key: SecretKey
    var nonce: UInt64 = 0
    /// Grants sent in earlier steps, not yet revoked (committed: each step drains before the next).
    var revocable: [Hash32] = []
    /// Grants sent in this step (revocable from the next).
    var granted: [Hash32] = []
    /// The version of the patient's shadow last registered.
    var shadowVersion: UInt64 = 0
}

/// An organization key's audit anchors: its nonce and the next record sequence.
struct Anchorer {
    let key: SecretKey
    var nonce: UInt64
    var sequence: UInt64 = 0
}

/// The transaction kinds of the realistic mix, out of 20 (`--grants-only` sends grants alone): 12 grants, 4
/// revocations of grants made in earlier steps, 3 shadow registrations (a new version of the patient's shadow, naming a
/// manifest uploaded at the start) and 1 audit anchor (an organization's, of 64 access records).
enum MixKind { case grant, revoke, register, anchor }
func mixKind(_ i: Int) -> MixKind {
    switch i % 20 {
    case 0..<12: return .grant
    case 12..<16: return .revoke
    case 16..<19: return .register
    default: return .anchor
    }
}

func grant(_ patient: inout Patient, to practitioner: Hash32, chainID: String) throws -> [UInt8] {
    patient.nonce += 1
    let body = TransactionBody(
        chainID: chainID, signer: patient.key.publicKey, nonce: patient.nonce,
        payload: .consentGrant(ConsentGrant(
            patient: patientID(for: patient.key.publicKey), grantee: .participant(practitioner), actions: .read,
            scope: Scope(categories: ["cardio"]), purpose: .treatment, validFrom: 1_700_000_000, validUntil: nil))
    )
    return try SignedTransaction(signing: body, with: patient.key).bytes
}

struct RateResult: Encodable {
    let validators: Int
    let offered: Int
    let sent: Int
    let accepted: Int
    let refused: Int
    let committed: Int
    /// Committed with a rejected outcome (the rules refused them), counted by validator 0.
    let rejected: Int
    let committedPerSecond: Double
    let p50Millis: Double
    let p99Millis: Double
    let p999Millis: Double
    let cpuMillisPerTransaction: Double
    let p2pBytesPerTransactionPerNode: Double
}

/// A step run at a fraction of the sustained rate found by the rising steps (the latency figures of Docs/performance.md).
struct FractionResult: Encodable {
    let fraction: Double
    let result: RateResult
}

struct ClusterResult: Encodable {
    let validators: Int
    let ceilingPerValidator: Double
    /// Verify + execute + commit alone, per validator, measured beside the ceiling.
    let ledgerFloorPerValidator: Double
    /// LevelDB's synced batch writes alone, in transactions per second per validator, measured beside the ceiling.
    let syncLimitPerValidator: Double
    let rates: [RateResult]
    /// Steps at 25%, 50% and 90% of `sustained`, after the rising steps.
    let fractions: [FractionResult]
    let sustained: Double
    let machine: String
    let commit: String
    let date: String
}

/// Pre-signed transactions in sending order: their bytes, id (hex) and the validator each goes to.
typealias Schedule = [(bytes: [UInt8], id: String, validator: Int)]

/// A running consortium under load: its submitters, enrolled patients and practitioner, and one open-loop step at a
/// time (`step`). Shared by the rising steps, the steps at fractions of saturation and the soak.
final class Load: @unchecked Sendable {  // its patients' nonces are advanced by one signing thread at a time
    let cluster: Cluster
    let submitters: [Submitter]
    var patients: [Patient]
    let practitioner: SecretKey
    let validators: Int
    let mix: Bool
    /// One per validator: organization ORG_i's key, anchors sent to validator i.
    var anchorers: [Anchorer]
    /// A small payload uploaded to v0 at the start; every registration names it (nodes fetch it once).
    var manifest = Hash32.zero
    var manifestSize: UInt64 = 0
    /// Transactions signed so far.
    var sent = 0

    init(_ options: Options, cluster: Cluster) async throws {
        self.cluster = cluster
        validators = cluster.members.count
        mix = !options.grantsOnly
        submitters = try await withThrowingTaskGroup(of: (Int, Submitter).self) { group in
            for (index, member) in cluster.members.enumerated() {
                group.addTask { (index, try await Submitter.connect(port: member.apiPort)) }
            }
            var result: [Submitter?] = Array(repeating: nil, count: cluster.members.count)
            for try await (index, submitter) in group { result[index] = submitter }
            return result.compactMap { $0 }
        }
        // Enroll the patients and a practitioner (organization ORG_0, through v0, in nonce order on one connection).
        let organization = try KeyFile.load(from: cluster.members[0].home + "/keys/organization-ORG_0.key")
        patients = try (0..<options.patients).map { _ in Patient(key: try SecretKey()) }
        practitioner = try SecretKey()
        var enrollments: [[UInt8]] = []
        for (nonce, (key, role)) in (patients.map { ($0.key, Role.patient) } + [(practitioner, .practitioner)]).enumerated() {
            let body = TransactionBody(chainID: cluster.chainID, signer: organization.publicKey, nonce: UInt64(nonce + 1),
                                       payload: .enroll(Enroll(key: key.publicKey, role: role, organization: "ORG_0")))
            enrollments.append(try SignedTransaction(signing: body, with: organization).bytes)
        }
        submitters[0].send(enrollments)
        anchorers = try cluster.members.indices.map { i in
            Anchorer(key: try KeyFile.load(from: cluster.members[i].home + "/keys/organization-ORG_\(i).key"),
                     nonce: i == 0 ? UInt64(enrollments.count) : 0)
        }
        let lastEnrollment = Hashing.sha3(enrollments[enrollments.count - 1]).hex
        for _ in 0..<600 {
            if let data = try? cluster.get(0, "/v1/transactions/\(lastEnrollment)"),
                let status = try? JSONDecoder().decode(TransactionStatusResponse.self, from: data), status.status == "committed"
            { break }
            usleep(50_000)
        }
        if mix {
            // The payload every shadow registration names: 64 KiB uploaded by the first patient.
            let patient = patients[0].key
            let payload = Data((0..<65_536).map { UInt8(truncatingIfNeeded: $0 &* 31) })
            let request = UploadRequest(chainID: cluster.chainID, uploader: patient.publicKey, patient: patientID(for: patient.publicKey),
                                        size: UInt64(payload.count), mediaType: "application/octet-stream",
                                        timeMillis: UInt64(now() * 1_000), nonce: SecureRandom.bytes(16))
            let (uploaded, status) = try blockingHTTP(
                port: cluster.members[0].apiPort, method: "POST", path: "/v1/shadows/upload", body: payload,
                headers: ["TwinLedger-Upload": try SignedUploadRequest(signing: request, with: patient).headerValue])
            guard status == 200, let address = Hash32(hex: try JSONDecoder().decode(UploadResponse.self, from: uploaded).manifest) else {
                throw ProcessTestError("upload failed: \(status)")
            }
            (manifest, manifestSize) = (address, UInt64(payload.count))
        }
    }

    /// A transaction for patient slot `p`: a grant, or under the mix the kind `mixKind(i)` names
    /// (a revocation falls back to a grant while the patient has nothing to revoke). Returns its bytes and validator.
    func next(_ i: Int, patient p: Int) throws -> (bytes: [UInt8], validator: Int) {
        let validator = p % validators
        let kind = mix ? mixKind(i) : .grant
        if kind == .anchor {
            var anchorer = anchorers[validator]
            anchorer.nonce += 1
            let body = TransactionBody(chainID: cluster.chainID, signer: anchorer.key.publicKey, nonce: anchorer.nonce, payload: .auditAnchor(
                AuditAnchor(root: Hashing.sha3(withUnsafeBytes(of: anchorer.sequence, Array.init)), firstSequence: anchorer.sequence, count: 64)))
            anchorer.sequence += 64
            anchorers[validator] = anchorer
            return (try SignedTransaction(signing: body, with: anchorer.key).bytes, validator)
        }
        var patient = patients[p]
        defer { patients[p] = patient }
        let id = patientID(for: patient.key.publicKey)
        switch kind {
        case .revoke where !patient.revocable.isEmpty:
            patient.nonce += 1
            let body = TransactionBody(chainID: cluster.chainID, signer: patient.key.publicKey, nonce: patient.nonce,
                                       payload: .consentRevoke(ConsentRevoke(grant: patient.revocable.removeFirst())))
            return (try SignedTransaction(signing: body, with: patient.key).bytes, validator)
        case .register:
            patient.nonce += 1
            patient.shadowVersion += 1
            let body = TransactionBody(chainID: cluster.chainID, signer: patient.key.publicKey, nonce: patient.nonce, payload: .shadowRegister(
                ShadowRegister(shadow: Hashing.sha3(Array("bench-shadow".utf8) + id.bytes), patient: id, version: patient.shadowVersion,
                               categories: ["cardio.ecg"], manifest: manifest, size: manifestSize)))
            return (try SignedTransaction(signing: body, with: patient.key).bytes, validator)
        default:
            let bytes = try grant(&patient, to: practitioner.publicKey.keyID, chainID: cluster.chainID)
            patient.granted.append(Hashing.sha3(bytes))
            return (bytes, validator)
        }
    }

    /// The next `count` transactions (grants, or the mix), pre-signed: patient slot p always goes to validator p mod n.
    func sign(_ count: Int) throws -> Schedule {
        var schedule: Schedule = []
        schedule.reserveCapacity(count)
        for _ in 0..<count {
            // Patient p's r-th transaction is of kind r + p: every kind in every round, every patient every kind.
            let (round, p) = (sent / patients.count, sent % patients.count)
            sent += 1
            let (bytes, validator) = try next(round + p, patient: p)
            schedule.append((bytes, Hashing.sha3(bytes).hex, validator))
        }
        // What this batch granted can be revoked by the next.
        for p in patients.indices {
            patients[p].revocable += patients[p].granted
            patients[p].granted = []
        }
        return schedule
    }

    /// Sends `schedule` open loop at `rate` from `start`, each transaction to its validator; returns when each was sent.
    func send(_ schedule: Schedule, rate: Int, start: Double) -> [Double] {
        var sentAt = [Double](repeating: 0, count: schedule.count)
        openLoop(total: schedule.count, rate: rate, start: start) { due, sendTime in
            var batches = [[[UInt8]]](repeating: [], count: validators)
            for i in due {
                batches[schedule[i].validator].append(schedule[i].bytes)
                sentAt[i] = sendTime
            }
            for (index, batch) in batches.enumerated() where !batch.isEmpty { submitters[index].send(batch) }
        }
        return sentAt
    }

    /// One step: `seconds` of open-loop load at `rate`, drained; what committed, how fast, at what latency and cost.
    func step(rate: Int, seconds: Int) throws -> RateResult {
        let total = rate * seconds
        let schedule = try sign(total)
        let before = submitters.map { $0.counter.counts.withLock { $0 } }
        let cpuBefore = cluster.cpu
        let bytesBefore = cluster.metric("twinledger_p2p_bytes_sent_total")
        let rejectedBefore = cluster.metric("twinledger_transactions_rejected_total", only: 0)
        let watcher = CommitWatcher(cluster: cluster)
        let watching = Thread { watcher.run() }
        watching.start()
        let start = now()
        let sentAt = send(schedule, rate: rate, start: start)
        // Drain: wait until everything sent is committed or nothing new commits for 3 s (up to 20 s).
        drain(total: total, poll: 200_000) { schedule.indices.reduce(0) { $0 + (watcher.time(schedule[$1].id) != nil ? 1 : 0) } }
        watcher.stop()
        while !watching.isFinished { usleep(1_000) }
        let cpu = cluster.cpu - cpuBefore
        let bytes = cluster.metric("twinledger_p2p_bytes_sent_total") - bytesBefore
        let after = submitters.map { $0.counter.counts.withLock { $0 } }
        let accepted = zip(after, before).reduce(0) { $0 + $1.0.ok - $1.1.ok }
        let refused = zip(after, before).reduce(0) { $0 + $1.0.refused - $1.1.refused }
        var latencies: [Double] = []
        var lastCommit = start
        for (i, item) in schedule.enumerated() {
            guard let committed = watcher.time(item.id) else { continue }
            latencies.append((committed - sentAt[i]) * 1_000)
            lastCommit = max(lastCommit, committed)
        }
        latencies.sort()
        let committedRate = Double(latencies.count) / max(lastCommit - start, Double(seconds))
        let result = RateResult(
            validators: validators, offered: rate, sent: total, accepted: accepted, refused: refused, committed: latencies.count,
            rejected: Int(cluster.metric("twinledger_transactions_rejected_total", only: 0) - rejectedBefore),
            committedPerSecond: committedRate, p50Millis: percentile(latencies, 0.5), p99Millis: percentile(latencies, 0.99),
            p999Millis: percentile(latencies, 0.999), cpuMillisPerTransaction: cpu * 1_000 / Double(max(1, latencies.count)),
            p2pBytesPerTransactionPerNode: bytes / Double(max(1, latencies.count)) / Double(validators)
        )
        print(String(format: "  offered %5d tx/s: committed %7.0f tx/s (%d/%d, refused %d, rejected %d)  p50 %6.0f ms  p99 %6.0f ms  p999 %6.0f ms  "
                     + "CPU %.2f ms/tx  p2p %.0f B/tx/node", rate, committedRate, latencies.count, total, refused, result.rejected,
                     result.p50Millis, result.p99Millis, result.p999Millis, result.cpuMillisPerTransaction,
                     result.p2pBytesPerTransactionPerNode))
        fflush(nil)
        return result
    }

    func close() async {
        for submitter in submitters { try? await submitter.channel.close() }
    }
}

/// Whether a step saturated the consortium: most of the offered load did not commit, it committed well below the
/// offered rate (a backlog drained after the step), or latency ran away.
func saturated(_ result: RateResult) -> Bool {
    Double(result.committed) < 0.9 * Double(result.sent) || result.committedPerSecond < 0.8 * Double(result.offered)
        || result.p99Millis > 5_000
}

func runCluster(_ options: Options, validators: Int) async throws -> ClusterResult {
    let directory = NSTemporaryDirectory() + "twinbench-cluster-\(getpid())-\(validators)"
    try? FileManager.default.removeItem(atPath: directory)
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let limit = try ceiling(options, validators: validators, directory: directory)
    print(String(format: "%d validators: ceiling %.0f verifications/s per validator (%d verifying processes at once)",
                 validators, limit, validators))
    let storage = try syncLimit(options, validators: validators, directory: directory)
    print(String(format: "%d validators: LevelDB synced batches alone %.0f tx/s per validator (%d processes at once, "
                 + "blocks of %d grants, six puts each)", validators, storage, validators, options.blockMax))
    let floor = try ledgerFloor(options, validators: validators, directory: directory)
    print(String(format: "%d validators: verify + execute + commit alone %.0f tx/s per validator = %.0f%% of the ceiling "
                 + "(%d ledger processes at once, no API, gossip or consensus)", validators, floor, 100 * floor / limit, validators))
    let cluster = try Cluster(options, validators: validators, directory: directory)
    defer { cluster.stop() }
    try cluster.waitReady()
    let load = try await Load(options, cluster: cluster)

    var results: [RateResult] = []
    for rate in options.rates {
        let result = try load.step(rate: rate, seconds: options.seconds)
        results.append(result)
        // Saturated: higher rates only queue more.
        if saturated(result) { break }
        // Let the mempools empty before the next step.
        cluster.waitMempoolsEmpty()
        sleep(2)
    }
    let sustained = results.map(\.committedPerSecond).max() ?? 0
    // Latency at fractions of saturation, measured after it is known.
    var fractions: [FractionResult] = []
    if results.last.map(saturated) ?? false {
        for fraction in [0.25, 0.5, 0.9] {
            cluster.waitMempoolsEmpty()
            sleep(2)
            print(String(format: "  at %.0f%% of the sustained %.0f tx/s:", fraction * 100, sustained))
            fractions.append(FractionResult(fraction: fraction, result: try load.step(rate: Int(sustained * fraction), seconds: options.seconds)))
        }
    } else {
        print("  not saturated within the rates given: no steps at fractions of saturation (raise RATES)")
    }
    await load.close()
    try? FileManager.default.removeItem(atPath: directory)
    return ClusterResult(validators: validators, ceilingPerValidator: limit, ledgerFloorPerValidator: floor, syncLimitPerValidator: storage,
                         rates: results, fractions: fractions, sustained: sustained, machine: BenchmarkRun.machine,
                         commit: BenchmarkRun.commit, date: BenchmarkRun.date)
}

// MARK: Soak

struct SoakSample: Encodable {
    /// Seconds since the load started, at the end of the window.
    let seconds: Double
    let committedPerSecond: Double
    let p50Millis: Double
    let p99Millis: Double
    /// Resident memory of each node (anonymous + file-backed), and its anonymous part, MiB.
    let residentMiB: [Double]
    let anonymousMiB: [Double]
    /// The state tree's nodes in use, MiB per node (`twinledger_state_tree_bytes`).
    let stateTreeMiB: Double
    /// The state cache, MiB per node (`twinledger_state_cache_bytes`; it fills up to `state_cache_mb`, 256 by default).
    let stateCacheMiB: Double
    /// The C heap, MiB per node: handed out (`twinledger_heap_in_use_bytes`) and held free in the arenas.
    let heapInUseMiB: Double
    let heapFreeMiB: Double
    /// The first validator's state database on disk: its table files (`*.ldb`) and their MiB. Each open table holds
    /// its index block and Bloom filter in memory, up to `leveldb_max_open_files` tables.
    let stateTables: Int
    let stateTablesMiB: Double
}

struct SoakResult: Encodable {
    let validators: Int
    let rate: Int
    let seconds: Int
    /// The caches' bounds when not the defaults (256 and 64 MiB), from --state-cache-mb and --leveldb-cache-mb.
    let stateCacheMB: Int?
    let levelDBCacheMB: Int?
    let levelDBWriteBufferMB: Int?
    let levelDBMaxOpenFiles: Int?
    /// Seconds of warm-up left out of the slopes.
    let warmUpSeconds: Double
    let samples: [SoakSample]
    /// Least-squares slopes over the samples after the warm-up, MiB per minute per node (mean over nodes).
    let residentSlope: Double
    let anonymousSlope: Double
    let stateTreeSlope: Double
    let stateCacheSlope: Double
    let heapInUseSlope: Double
    let heapFreeSlope: Double
    /// The plateau check: the slope of anonymous memory less the state tree (what a node holds beyond the state), over
    /// the whole steady part and over the run's second half only, MiB per minute per node.
    let anonymousBeyondTreeSlope: Double
    let anonymousBeyondTreeSlopeSecondHalf: Double
    let machine: String
    let commit: String
    let date: String
}

/// The LevelDB table files (`*.ldb`) in `directory`: how many, and their bytes.
func tableFiles(_ directory: String) -> (count: Int, bytes: Double) {
    let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".ldb") }
    let bytes = names.reduce(0.0) { total, name in
        total + ((try? FileManager.default.attributesOfItem(atPath: directory + "/" + name)[.size] as? NSNumber)?.doubleValue ?? 0)
    }
    return (names.count, bytes)
}

/// The least-squares slope of y over x.
func slope(_ x: [Double], _ y: [Double]) -> Double {
    guard x.count >= 2 else { return .nan }
    let mx = x.reduce(0, +) / Double(x.count), my = y.reduce(0, +) / Double(y.count)
    let num = zip(x, y).reduce(0) { $0 + ($1.0 - mx) * ($1.1 - my) }
    let den = x.reduce(0) { $0 + ($1 - mx) * ($1 - mx) }
    return den > 0 ? num / den : .nan
}

/// Signs the next window's grants on its own thread while the current window is sent.
final class AheadSigner: @unchecked Sendable {
    let load: Load
    let lock = NSLock()
    var result: Result<Schedule, any Error>?
    var thread: Thread?

    init(_ load: Load) { self.load = load }

    func start(_ count: Int) {
        lock.withLock { result = nil }
        let thread = Thread { [self] in
            let signed = Result { try load.sign(count) }
            lock.withLock { result = signed }
        }
        self.thread = thread
        thread.start()
    }

    func wait() throws -> Schedule {
        while true {
            if let result = lock.withLock({ result }) { return try result.get() }
            usleep(1_000)
        }
    }
}

/// `seconds` of open-loop load at `rate` on a consortium of `validators`, in 10-second windows: each window's
/// committed rate and latency, every node's resident memory and the state tree's size at its end, and the slopes of
/// memory over time after a warm-up (the first two minutes). The state tree holds every entry in memory by design, so it grows with
/// the grants; what grows beyond it is what a leak would be.
func runSoak(_ options: Options, validators: Int) async throws -> SoakResult {
    let directory = NSTemporaryDirectory() + "twinbench-soak-\(getpid())"
    try? FileManager.default.removeItem(atPath: directory)
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let cluster = try Cluster(options, validators: validators, directory: directory)
    defer { cluster.stop() }
    try cluster.waitReady()
    let load = try await Load(options, cluster: cluster)
    let rate = options.soakRate, window = 10, windows = max(1, options.soakSeconds / window)
    print("soak: \(validators) validators, \(rate) tx/s offered for \(windows * window) s, sampled every \(window) s; "
          + "state cache \(options.stateCacheMB.map { "\($0) MiB" } ?? "default"), LevelDB cache \(options.levelDBCacheMB.map { "\($0) MiB" } ?? "default"), "
          + "write buffer \(options.levelDBWriteBufferMB.map { "\($0) MiB" } ?? "default"), open tables \(options.levelDBMaxOpenFiles.map { "\($0)" } ?? "default")")
    let watcher = CommitWatcher(cluster: cluster)
    let watching = Thread { watcher.run() }
    watching.start()
    let signer = AheadSigner(load)
    signer.start(rate * window)
    var samples: [SoakSample] = []
    var pending: [(ids: [String], sentAt: [Double], end: Double)] = []
    func sample(_ ids: [String], _ sentAt: [Double], end: Double, seconds: Double) {
        var latencies: [Double] = []
        for (id, sent) in zip(ids, sentAt) {
            if let committed = watcher.take(id) { latencies.append((committed - sent) * 1_000) }
        }
        latencies.sort()
        let memory = cluster.members.compactMap { $0.process.map { residentSplit($0.processIdentifier) } }
        let tables = tableFiles(cluster.members[0].home + "/data/state")
        let result = SoakSample(
            seconds: seconds, committedPerSecond: Double(latencies.count) / Double(window), p50Millis: percentile(latencies, 0.5),
            p99Millis: percentile(latencies, 0.99), residentMiB: memory.map { ($0.anonymous + $0.file) / 1_048_576 },
            anonymousMiB: memory.map { $0.anonymous / 1_048_576 },
            stateTreeMiB: cluster.metric("twinledger_state_tree_bytes") / Double(validators) / 1_048_576,
            stateCacheMiB: cluster.metric("twinledger_state_cache_bytes") / Double(validators) / 1_048_576,
            heapInUseMiB: cluster.metric("twinledger_heap_in_use_bytes") / Double(validators) / 1_048_576,
            heapFreeMiB: cluster.metric("twinledger_heap_free_bytes") / Double(validators) / 1_048_576,
            stateTables: tables.count, stateTablesMiB: tables.bytes / 1_048_576)
        samples.append(result)
        print(String(format: "  %4.0f s: committed %5.0f tx/s  p50 %5.0f ms  p99 %5.0f ms  RSS per node %@ MiB (anonymous %@)  state tree %.1f MiB  cache %.1f MiB  heap %.0f in use, %.0f free  tables %d, %.0f MiB",
                     seconds, result.committedPerSecond, result.p50Millis, result.p99Millis,
                     result.residentMiB.map { String(format: "%.0f", $0) }.joined(separator: "/"),
                     result.anonymousMiB.map { String(format: "%.0f", $0) }.joined(separator: "/"), result.stateTreeMiB, result.stateCacheMiB, result.heapInUseMiB, result.heapFreeMiB,
                     result.stateTables, result.stateTablesMiB))
        fflush(nil)
    }
    let start = now()
    for w in 0..<windows {
        let schedule = try signer.wait()
        if w + 1 < windows { signer.start(rate * window) }
        let windowStart = start + Double(w * window)
        let sentAt = load.send(schedule, rate: rate, start: windowStart)
        while now() < windowStart + Double(window) { usleep(10_000) }
        pending.append((schedule.map(\.id), sentAt, now()))
        // A window's latencies are read one window later, when its transactions have had time to commit.
        if pending.count > 1 {
            let done = pending.removeFirst()
            sample(done.ids, done.sentAt, end: done.end, seconds: done.end - start)
        }
    }
    sleep(3)
    for done in pending { sample(done.ids, done.sentAt, end: done.end, seconds: done.end - start) }
    watcher.stop()
    while !watching.isFinished { usleep(1_000) }
    await load.close()
    // After a warm-up of two minutes (a quarter of a short soak): the caches fill first.
    let warmUp = min(120, Double(windows * window) / 4)
    let steady = samples.filter { $0.seconds > warmUp }
    let minutes = steady.map { $0.seconds / 60 }
    func mean(_ values: [Double]) -> Double { values.reduce(0, +) / Double(max(1, values.count)) }
    let secondHalf = samples.filter { $0.seconds > Double(windows * window) / 2 }
    let result = SoakResult(
        validators: validators, rate: rate, seconds: windows * window, stateCacheMB: options.stateCacheMB,
        levelDBCacheMB: options.levelDBCacheMB, levelDBWriteBufferMB: options.levelDBWriteBufferMB,
        levelDBMaxOpenFiles: options.levelDBMaxOpenFiles, warmUpSeconds: warmUp, samples: samples,
        residentSlope: slope(minutes, steady.map { mean($0.residentMiB) }),
        anonymousSlope: slope(minutes, steady.map { mean($0.anonymousMiB) }),
        stateTreeSlope: slope(minutes, steady.map(\.stateTreeMiB)),
        stateCacheSlope: slope(minutes, steady.map(\.stateCacheMiB)),
        heapInUseSlope: slope(minutes, steady.map(\.heapInUseMiB)),
        heapFreeSlope: slope(minutes, steady.map(\.heapFreeMiB)),
        anonymousBeyondTreeSlope: slope(minutes, steady.map { mean($0.anonymousMiB) - $0.stateTreeMiB }),
        anonymousBeyondTreeSlopeSecondHalf: slope(secondHalf.map { $0.seconds / 60 }, secondHalf.map { mean($0.anonymousMiB) - $0.stateTreeMiB }),
        machine: BenchmarkRun.machine, commit: BenchmarkRun.commit, date: BenchmarkRun.date)
    print(String(format: "soak: resident memory %+.2f MiB/min per node (anonymous %+.2f), of which the state tree %+.2f MiB/min "
                 + "and the state cache %+.2f MiB/min; beyond both %+.2f MiB/min; C heap in use %+.2f, free in its arenas %+.2f MiB/min "
                 + "(after the warm-up, %d samples)", result.residentSlope, result.anonymousSlope, result.stateTreeSlope,
                 result.stateCacheSlope, result.residentSlope - result.stateTreeSlope - result.stateCacheSlope,
                 result.heapInUseSlope, result.heapFreeSlope, steady.count))
    print(String(format: "soak: anonymous memory beyond the state tree %+.2f MiB/min after the warm-up, %+.2f MiB/min over the second half "
                 + "(near zero once nothing but the state grows)", result.anonymousBeyondTreeSlope, result.anonymousBeyondTreeSlopeSecondHalf))
    try? FileManager.default.removeItem(atPath: directory)
    return result
}

/// The processes that have `argument` as one of their command-line arguments (from /proc/PID/cmdline).
func processes(withArgument argument: String) -> [Int32] {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
    return entries.compactMap { Int32($0) }.filter { pid in
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        return data.split(separator: 0).contains { String(decoding: $0, as: UTF8.self) == argument }
    }
}

/// A process's resident memory now, split into anonymous (its heap and stacks) and file-backed pages (the binary,
/// libraries, and LevelDB's mapped table files), in bytes.
func residentSplit(_ pid: Int32) -> (anonymous: Double, file: Double) {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return (0, 0) }
    func kib(_ name: String) -> Double {
        text.split(separator: "\n").first { $0.hasPrefix(name) }
            .flatMap { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first }.flatMap { Double($0) }.map { $0 * 1_024 } ?? 0
    }
    return (kib("RssAnon:"), kib("RssFile:"))
}

/// Peak resident memory of a process (VmHWM, bytes), from /proc.
func peakRSS(_ pid: Int32) -> Double {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        return (line.split(separator: " ").dropFirst().first.flatMap { Double($0) } ?? 0) * 1_024
    }
    return 0
}

/// Shadow upload and replication across a consortium of real processes: `mib` MiB uploaded to v0 over HTTP (the
/// node's peak RSS read before and after), registered, and the time until every other validator has every chunk
/// (`twinledger_blobs_missing` 0 and the bytes replicated). Docs/performance.md, "Shadows".
func runShadowReplication(_ options: Options, validators: Int) async throws {
    let directory = NSTemporaryDirectory() + "twinbench-shadows-\(getpid())"
    try? FileManager.default.removeItem(atPath: directory)
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    var shadowOptions = options
    shadowOptions.blockMax = 2_000
    let cluster = try Cluster(shadowOptions, validators: validators, directory: directory)
    defer { cluster.stop() }
    try cluster.waitReady()
    let organization = try KeyFile.load(from: cluster.members[0].home + "/keys/organization-ORG_0.key")
    let patient = try SecretKey()
    let patientID = patientID(for: patient.publicKey)
    func commit(_ tx: SignedTransaction) throws {
        let (data, status) = try blockingHTTP(port: cluster.members[0].apiPort, method: "POST", path: "/v1/transactions?wait=commit&timeout_ms=30000",
                                              body: Data(#"{"transaction":"\#(Hex.encode(tx.bytes))"}"#.utf8))
        guard status == 200, String(decoding: data, as: UTF8.self).contains("committed") else {
            throw ProcessTestError("not committed: \(String(decoding: data, as: UTF8.self))")
        }
    }
    try commit(try SignedTransaction(signing: TransactionBody(chainID: cluster.chainID, signer: organization.publicKey, nonce: 1,
                                                               payload: .enroll(Enroll(key: patient.publicKey, role: .patient, organization: "ORG_0"))),
                                     with: organization))
    let size = options.shadowMiB << 20
    var generator = SystemRandomNumberGenerator()
    var payload = Data(count: size)
    payload.withUnsafeMutableBytes { raw in
        let words = raw.bindMemory(to: UInt64.self)
        for index in words.indices { words[index] = generator.next() }
    }
    guard let v0 = cluster.members[0].process?.processIdentifier else { return }
    let rssBefore = peakRSS(v0)
    let request = UploadRequest(chainID: cluster.chainID, uploader: patient.publicKey, patient: patientID, size: UInt64(size),
                                mediaType: "application/octet-stream", timeMillis: UInt64(now() * 1_000), nonce: SecureRandom.bytes(16))
    let started = now()
    let (uploaded, status) = try blockingHTTP(port: cluster.members[0].apiPort, method: "POST", path: "/v1/shadows/upload", body: payload,
                                              headers: ["TwinLedger-Upload": try SignedUploadRequest(signing: request, with: patient).headerValue])
    let uploadSeconds = now() - started
    guard status == 200, let manifest = Hash32(hex: try JSONDecoder().decode(UploadResponse.self, from: uploaded).manifest) else {
        throw ProcessTestError("upload failed: \(status)")
    }
    let rssAfter = peakRSS(v0)
    let registered = now()
    try commit(try SignedTransaction(signing: TransactionBody(chainID: cluster.chainID, signer: patient.publicKey, nonce: 1,
                                                               payload: .shadowRegister(ShadowRegister(shadow: Hashing.sha3(Array("bench".utf8)), patient: patientID, version: 1,
                                                                                                       categories: ["neuro.mri"], manifest: manifest, size: UInt64(size)))),
                                     with: patient))
    var replicated = [Double](repeating: 0, count: cluster.members.count)
    while now() - registered < 600, replicated.dropFirst().contains(0) {
        for index in cluster.members.indices.dropFirst() where replicated[index] == 0 {
            guard let data = try? cluster.get(index, "/metrics") else { continue }
            let text = String(decoding: data, as: UTF8.self)
            func value(_ name: String) -> Double {
                text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { $0.split(separator: " ").last }.flatMap { Double($0) } ?? 0
            }
            if value("twinledger_blob_bytes_replicated_total") >= Double(size), value("twinledger_blobs_missing") == 0 {
                replicated[index] = now() - registered
            }
        }
        usleep(100_000)
    }
    let rssReplicated = peakRSS(v0)
    let (anon, file) = residentSplit(v0)
    print(String(format: "shadow of %d MiB: upload to v0 %.2f s (%.0f MB/s); v0 peak RSS %.0f MiB before, %.0f MiB after the upload, "
                 + "%.0f MiB after serving its replication (now %.0f MiB anonymous, %.0f MiB file-backed)",
                 options.shadowMiB, uploadSeconds, Double(size) / 1e6 / uploadSeconds, rssBefore / 1_048_576, rssAfter / 1_048_576,
                 rssReplicated / 1_048_576, anon / 1_048_576, file / 1_048_576))
    print("  replicated to every other validator, from the registration's commit: "
          + replicated.dropFirst().map { String(format: "%.2f s", $0) }.joined(separator: ", ")
          + String(format: " (the last at %.0f MB/s)", Double(size) / 1e6 / (replicated.dropFirst().max() ?? 1)))
}

let options = Options(CommandLine.arguments)
if options.abuseSeconds > 0 {
    let result = try runAbuse(options)
    if let path = options.json {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(result).write(to: URL(fileURLWithPath: path))
    }
    exit(0)
}
if options.shadowMiB > 0 {
    try await runShadowReplication(options, validators: options.validators.first ?? 4)
    exit(0)
}
if options.soakSeconds > 0 {
    let soak = try await runSoak(options, validators: options.validators.first ?? 4)
    if let path = options.json {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try encoder.encode(soak).write(to: URL(fileURLWithPath: path))
    }
    exit(0)
}
var clusters: [ClusterResult] = []
for validators in options.validators {
    let result = try await runCluster(options, validators: validators)
    clusters.append(result)
    let sustained = result.sustained
    print(String(format: "%d validators: sustained %.0f tx/s = %.0f%% of the ceiling (%.0f verifications/s per validator) and "
                 + "%.0f%% of LevelDB's synced batches alone (%.0f tx/s per validator); verify + execute + commit alone reach %.0f%% of the ceiling",
                 validators, sustained, 100 * sustained / result.ceilingPerValidator, result.ceilingPerValidator,
                 100 * sustained / result.syncLimitPerValidator, result.syncLimitPerValidator,
                 100 * result.ledgerFloorPerValidator / result.ceilingPerValidator))
    for fraction in result.fractions {
        print(String(format: "  at %.0f%% of saturation (%d tx/s offered): p50 %.0f ms, p99 %.0f ms, p999 %.0f ms", fraction.fraction * 100,
                     fraction.result.offered, fraction.result.p50Millis, fraction.result.p99Millis, fraction.result.p999Millis))
    }
}
var reference: EtcdResult?
if options.runEtcd, let first = clusters.first {
    // The same offered rates as the first consortium, values the size of its grants, in the same run.
    var patient = Patient(key: try SecretKey())
    let size = try grant(&patient, to: Hashing.sha3([0]), chainID: "twinledger-bench").count
    print("etcd \(options.etcd): 3 members on loopback, the same open-loop schedule, values of \(size) bytes")
    let etcd = try await runEtcd(options, rates: first.rates.map(\.offered), valueBytes: size)
    reference = etcd
    // The ratio compares saturation points only if the consortium saturated within the rates given.
    let reached = first.rates.last.map(saturated) ?? false
    print(String(format: "%d validators (BFT, signed): sustained %.0f tx/s", first.validators, first.sustained)
          + (reached ? "" : " (not saturated: raise RATES)")
          + String(format: "; etcd (3 members, Raft, unsigned): %.0f writes/s; ratio %.2f", etcd.sustained, first.sustained / max(1, etcd.sustained)))
    print(String(format: "  etcd CPU per write at the consortium's sustained rate: %.2f ms; TwinLedger CPU per transaction there: %.2f ms",
                 etcd.rates.first { $0.offered >= first.rates.last?.offered ?? 0 }?.cpuMillisPerWrite ?? .nan, first.rates.last?.cpuMillisPerTransaction ?? .nan))
    for (ours, theirs) in zip(first.rates, etcd.rates) {
        print(String(format: "  offered %5d/s: TwinLedger p50 %5.0f ms p99 %5.0f ms | etcd p50 %5.1f ms p99 %5.1f ms",
                     ours.offered, ours.p50Millis, ours.p99Millis, theirs.p50Millis, theirs.p99Millis))
    }
}
if let path = options.json {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    try encoder.encode(clusters).write(to: URL(fileURLWithPath: path))
    if let reference {
        let etcdPath = path.hasSuffix(".json") ? String(path.dropLast(5)) + "-etcd.json" : path + "-etcd"
        try encoder.encode(reference).write(to: URL(fileURLWithPath: etcdPath))
    }
}
