import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TestSupport
import Testing

/// The trait of a suite that runs real node processes: its tests take turns, at most `ProcessTestSlots.limit` at once
/// across the whole run, and each has a hang guard that starts when its turn does.
///
/// `make test` runs every suite at once on this machine's one core of compute. Without turns, a dozen suites' node
/// processes (forty and more) shared that core: a test that takes 6 s alone took 199 s in one CI run, and in another
/// (suite 772 s against 370 s usually) a restarted node did not answer /health within a minute and a single node
/// committed 8 transactions in 30 s. Those waits are liveness bounds, not measurements; with turns each test gets a
/// fair share of the core while the CPU-bound suites (simulator, pairing) fill the rest.
struct RealProcessesTrait: SuiteTrait, TestTrait, TestScoping {
    let minutes: Int

    var isRecursive: Bool { true }

    func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? { testCase == nil ? nil : self }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        try await ProcessTestSlots.shared.withTurn {
            try await withHangGuard(minutes: minutes, name: test.displayName ?? test.name, function)
        }
    }
}

extension Trait where Self == RealProcessesTrait {
    /// Turns, and a 10-minute hang guard per test from the start of its turn.
    static var realProcesses: Self { RealProcessesTrait(minutes: 10) }
    static func realProcesses(minutes: Int) -> Self { RealProcessesTrait(minutes: minutes) }
}

/// Runs `body`; if it has not finished after `minutes`, records an issue and cancels it (a guard against a hang: it
/// measures nothing).
func withHangGuard(minutes: Int, name: String, _ body: @Sendable () async throws -> Void) async throws {
    // The group waits for both of its tasks before it returns, so `body` does not outlive this call.
    try await withoutActuallyEscaping(body) { body in
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask { try await body(); return true }
            group.addTask {
                try await Task.sleep(for: .seconds(minutes * 60))
                return false
            }
            defer { group.cancelAll() }
            if try await group.next() == false {
                Issue.record("\(name) did not finish within \(minutes) minutes of its turn: cancelled")
            }
        }
    }
}

/// The turns of real-process tests: at most `limit` at once (`TWINLEDGER_PROCESS_TESTS`, default 2), first come
/// first served.
actor ProcessTestSlots {
    static let shared = ProcessTestSlots(
        limit: ProcessInfo.processInfo.environment["TWINLEDGER_PROCESS_TESTS"].flatMap { Int($0) }.map { max(1, $0) } ?? 2)

    let limit: Int
    private var running = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) { self.limit = limit }

    func withTurn(_ body: @Sendable () async throws -> Void) async throws {
        if running < limit {
            running += 1
        } else {
            // The finishing test hands its turn over: `running` stays the same.
            await withCheckedContinuation { waiting.append($0) }
        }
        defer { handOver() }
        try await body()
    }

    private func handOver() {
        if waiting.isEmpty { running -= 1 } else { waiting.removeFirst().resume() }
    }
}

/// The built `twinledger` executable.
func twinledger() throws -> String {
    if let path = ProcessInfo.processInfo.environment["TWINLEDGER_BIN"] { return path }
    let url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("twinledger")
    guard FileManager.default.isExecutableFile(atPath: url.path) else {
        throw ProcessTestError("build the twinledger executable first (make test does): \(url.path)")
    }
    return url.path
}

/// Runs the CLI to completion; returns its exit status and standard output.
@discardableResult
func cli(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
    try runProcess(try twinledger(), arguments, environment: environment)
}

/// Runs `executable` to completion; returns its exit status and its standard output and error together.
func runProcess(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    // Output goes to a file, not a pipe: reading a pipe to its end hangs whenever another child spawned meanwhile by a
    // parallel test (a node, a chain writer) inherits the pipe's write end and outlives this command.
    let outputPath = NSTemporaryDirectory() + "twinledger-cli-\(UUID().uuidString).out"
    guard FileManager.default.createFile(atPath: outputPath, contents: nil),
        let output = FileHandle(forWritingAtPath: outputPath)
    else { throw ProcessTestError("cannot create \(outputPath)") }
    defer { try? FileManager.default.removeItem(atPath: outputPath) }
    process.standardOutput = output
    process.standardError = output
    try process.run()
    process.waitUntilExit()
    try output.close()
    let data = FileManager.default.contents(atPath: outputPath) ?? Data()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// A `twinledger node start` process on its own home and port.
final class NodeProcess {
    let home: String
    let port: Int
    var process: Process?
    var url: String { "http://127.0.0.1:\(port)" }

    init(home: String) throws {
        self.home = home
        port = freePort()
        let result = try cli(["node", "init", "--home", home, "--port", String(port), "--chain-id", "twinledger-e2e"])
        guard result.status == 0 else { throw ProcessTestError("node init failed: \(result.output)") }
        // Fast blocks keep the tests short.
        let config = home + "/config.toml"
        let text = try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(of: "block_interval_ms = 1000", with: "block_interval_ms = 200")
        try text.write(toFile: config, atomically: true, encoding: .utf8)
    }

    func start() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try twinledger())
        process.arguments = ["node", "start", "--home", home, "--log-level", "warning"]
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        self.process = process
        let deadline = Date().addingTimeInterval(120)  // other suites run beside this one on about one core
        while Date() < deadline, process.isRunning {
            if let (_, status) = try? await get("/health"), status == 200 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ProcessTestError("node did not become healthy on \(url) (\(process.isRunning ? "still running" : "exited with \(process.terminationStatus)"))")
    }

    /// The wallet's environment for this node's API.
    var wallet: [String: String] { ["TWINLEDGER_NODE": url] }

    /// A new key file `dir/name.key` enrolled with `role` by the node's organization (HOSP_A); its path.
    func participant(_ name: String, _ role: String, in dir: String) throws -> String {
        let path = "\(dir)/\(name).key"
        let made = try cli(["keys", "new", "--out", path, "--role", role])
        guard made.status == 0 else { throw ProcessTestError("keys new: \(made.output)") }
        let enrolled = try cli(["enroll", "--key", home + "/keys/organization-HOSP_A.key", "--key-file-to-enroll", path, "--role", role],
                               environment: wallet)
        guard enrolled.status == 0 else { throw ProcessTestError("enroll \(name): \(enrolled.output)") }
        return path
    }

    func stop(_ signal: Int32 = SIGTERM) -> Process.TerminationReason? {
        guard let process else { return nil }
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        self.process = nil
        return process.terminationReason
    }

    func get(_ path: String) async throws -> (Data, Int) {
        try await httpRequest(port: port, method: "GET", path: path, body: nil)
    }

    func post(_ path: String, json: String) async throws -> (Data, Int) {
        try await httpPost(url + path, json: json)
    }

    deinit { _ = stop(SIGKILL) }
}

/// POSTs JSON to `http://127.0.0.1:PORT/...`; returns the body and HTTP status.
func httpPost(_ url: String, json: String) async throws -> (Data, Int) {
    guard let target = URL(string: url), let port = target.port else { throw ProcessTestError("bad URL \(url)") }
    let path = target.path + (target.query.map { "?" + $0 } ?? "")
    return try await httpRequest(port: port, method: "POST", path: path, body: Data(json.utf8))
}

