// TwinBench: the foundation's micro-benchmarks (`make bench`, release build).
//
// Every figure is the median of several runs; rates that are compared (our Schnorr wrapper against libsecp256k1
// called from C) are measured interleaved in the same run, so machine noise hits both alike.
import Foundation
import KeyValue
import Storage
import TestSupport
import TwinCrypto

struct Options {
    var runs = 5
    var cVerifyBinary: String?
    var jsonPath: String?
    var quick = false
    var suites: Set<String> = ["foundation", "ledger", "cache", "http", "shadows", "pairing", "abe"]
    /// A Python with pymcl and blspy (scripts/bench-peers.sh): times the native pairings beside ours.
    var pairingPeer: String?
    var grants = 1_000_000
    var clients = 500
    var blocks = 15
    /// Payload sizes of the shadows suite (bytes); empty: the defaults.
    var shadowSizes: [Int] = []

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--runs": runs = iterator.next().flatMap { Int($0) } ?? runs
            case "--c-verify": cVerifyBinary = iterator.next()
            case "--json": jsonPath = iterator.next()
            case "--quick": quick = true
            case "--pairing-peer": pairingPeer = iterator.next()
            case "--only": suites = Set((iterator.next() ?? "").split(separator: ",").map(String.init))
            case "--grants": grants = iterator.next().flatMap { Int($0) } ?? grants
            case "--blocks": blocks = iterator.next().flatMap { Int($0) } ?? blocks
            case "--clients": clients = iterator.next().flatMap { Int($0) } ?? clients
            case "--shadow-sizes": shadowSizes = (iterator.next() ?? "").split(separator: ",").compactMap { Int($0) }
            default: FileHandle.standardError.write(Data("unknown argument \(argument)\n".utf8))
            }
        }
    }
}

let options = Options(CommandLine.arguments)
let runs = max(1, options.runs)

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

/// Seconds taken by `body`.
func time(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

struct Row: Encodable {
    let name: String
    let value: Double
    let unit: String
    let runs: [Double]
}
var rows: [Row] = []

/// The JSON `--json` writes: the rows, with the machine, commit and date they were measured on.
struct RunResult: Encodable {
    let machine: String
    let commit: String
    let date: String
    let runs: Int
    let rows: [Row]
}

/// Runs `body` (which performs `operations` operations) `runs` times and records the median rate.
@discardableResult @MainActor
func measure(_ name: String, unit: String = "op/s", scale: Double = 1, operations: Int, _ body: () throws -> Void) rethrows -> Double {
    var rates: [Double] = []
    for _ in 0..<runs { rates.append(Double(operations) * scale / (try time(body))) }
    let value = median(rates)
    rows.append(Row(name: name, value: value, unit: unit, runs: rates))
    printRow(name, value, unit)
    return value
}

func printRow(_ name: String, _ value: Double, _ unit: String, decimals: Int = 0, note: String = "") {
    let padded = name.count < 54 ? name + String(repeating: " ", count: 54 - name.count) : name
    print(padded + String(format: "%14.*f", decimals, value) + " " + unit + note)
}

func blackHole<T>(_ value: T) { withExtendedLifetime(value) {} }

print("TwinBench (foundation) — medians of \(runs) runs, release build")
print("machine: \(ProcessInfo.processInfo.activeProcessorCount) vCPUs, \(ProcessInfo.processInfo.physicalMemory >> 30) GiB")
print(String(repeating: "-", count: 76))

if options.suites.contains("foundation") {
// MARK: Schnorr

let keyCount = 1_000
var generator = SystemRandomNumberGenerator()
let keys = try (0..<keyCount).map { _ in try SecretKey() }
let messages = (0..<keyCount).map { _ in (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) } }
let signatures = try zip(keys, messages).map { try $0.sign($1) }
let publicKeys = keys.map(\.publicKey)
let publicKeyBytes = publicKeys.map(\.bytes)
let verifyRounds = options.quick ? 2 : 10

try measure("Schnorr sign (BIP340, fresh aux randomness)", operations: keyCount) {
    for i in 0..<keyCount { blackHole(try keys[i].sign(messages[i])) }
}

// Swift wrapper and the C reference, interleaved run by run.
var swiftVerify: [Double] = []
var cVerify: [Double] = []
for _ in 0..<runs {
    let seconds = time {
        var ok = 0
        for _ in 0..<verifyRounds {
            for i in 0..<keyCount where publicKeys[i].verify(signatures[i], for: messages[i]) { ok += 1 }
        }
        precondition(ok == verifyRounds * keyCount, "benchmark signatures must verify")
    }
    swiftVerify.append(Double(verifyRounds * keyCount) / seconds)
    if let binary = options.cVerifyBinary {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [String(verifyRounds)]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        process.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        if let rate = output.split(separator: " ").last.flatMap({ Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) {
            cVerify.append(rate)
        }
    }
}
let swiftVerifyRate = median(swiftVerify)
rows.append(Row(name: "Schnorr verify (parsed key), Swift wrapper", value: swiftVerifyRate, unit: "op/s", runs: swiftVerify))
printRow("Schnorr verify (parsed key), Swift wrapper", swiftVerifyRate, "op/s")
if !cVerify.isEmpty {
    let cRate = median(cVerify)
    rows.append(Row(name: "Schnorr verify (parsed key), C + libsecp256k1", value: cRate, unit: "op/s", runs: cVerify))
    printRow("Schnorr verify (parsed key), C + libsecp256k1", cRate, "op/s")
    let ratios = zip(swiftVerify, cVerify).map { $0 / $1 }
    let ratio = median(ratios)
    rows.append(Row(name: "wrapper / C verify ratio (median of per-run ratios)", value: ratio, unit: "x", runs: ratios))
    printRow("wrapper / C verify ratio", ratio, "x", decimals: 3, note: "  (target >= 0.90)")
}

try measure("Schnorr parse x-only key + verify", operations: keyCount) {
    for i in 0..<keyCount {
        let key = try PublicKey(bytes: publicKeyBytes[i])
        precondition(key.verify(signatures[i], for: messages[i]))
    }
}

// MARK: Hashing and AEAD

let kib = [UInt8](repeating: 0x61, count: 1 << 10)
let mib = [UInt8](repeating: 0x62, count: 1 << 20)
let kibRounds = options.quick ? 20_000 : 100_000
let mibRounds = options.quick ? 20 : 100
try measure("SHA3-256, 1 KiB inputs", unit: "MB/s", scale: 1024 / 1e6, operations: kibRounds) {
    for _ in 0..<kibRounds { blackHole(Hashing.sha3(kib)) }
}
try measure("SHA3-256, 1 MiB inputs", unit: "MB/s", scale: Double(1 << 20) / 1e6, operations: mibRounds) {
    for _ in 0..<mibRounds { blackHole(Hashing.sha3(mib)) }
}

let aesKey = SecureRandom.bytes(32)
let nonce = SecureRandom.bytes(12)
let block = [UInt8](repeating: 0x63, count: 64 << 10)
let sealedBlock = try AESGCM.seal(block, key: aesKey, nonce: nonce, authenticating: [UInt8]())
let aesRounds = options.quick ? 1_000 : 5_000
try measure("AES-256-GCM seal, 64 KiB", unit: "MB/s", scale: Double(64 << 10) / 1e6, operations: aesRounds) {
    for _ in 0..<aesRounds { blackHole(try AESGCM.seal(block, key: aesKey, nonce: nonce, authenticating: [UInt8]())) }
}
try measure("AES-256-GCM open, 64 KiB", unit: "MB/s", scale: Double(64 << 10) / 1e6, operations: aesRounds) {
    for _ in 0..<aesRounds { blackHole(try AESGCM.open(sealedBlock, key: aesKey, nonce: nonce, authenticating: [UInt8]())) }
}

// MARK: Envelopes

let recipient = try SecretKey()
let dataKey = SecureRandom.bytes(32)
let envelopeCount = options.quick ? 500 : 2_000
let envelopes = try (0..<envelopeCount).map { _ in try KeyEnvelope.wrap(dataKey: dataKey, for: recipient.publicKey) }
try measure("key envelope wrap (ECIES)", operations: envelopeCount) {
    for _ in 0..<envelopeCount { blackHole(try KeyEnvelope.wrap(dataKey: dataKey, for: recipient.publicKey)) }
}
try measure("key envelope unwrap", operations: envelopeCount) {
    for envelope in envelopes { blackHole(try envelope.unwrap(with: recipient)) }
}

// MARK: LevelDB

let benchDirectory = NSTemporaryDirectory() + "twinbench-\(getpid())"
try FileManager.default.createDirectory(atPath: benchDirectory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: benchDirectory) }

/// Keys in hash order, as the ledger's authenticated state writes them: "grant/" + SHA3-256(i).
func key(_ i: Int) -> [UInt8] {
    Array("grant/".utf8) + Hashing.sha3(withUnsafeBytes(of: UInt64(i).bigEndian) { Array($0) }).bytes
}
let value = [UInt8](repeating: 0x76, count: 100)
let putTotal = options.quick ? 50_000 : 200_000
let putKeys = (0..<putTotal).map(key)
for sync in [false, true] {
    var run = 0
    try measure("LevelDB puts (hash-order keys), 1,000/batch, sync \(sync ? "on " : "off")", operations: putTotal) {
        run += 1
        let store = try LevelDBStore(path: benchDirectory + "/puts-\(sync)-\(run)")
        defer { store.close() }
        var i = 0
        while i < putTotal {
            var batch = WriteBatch()
            for j in i..<min(putTotal, i + 1_000) { batch.put(putKeys[j], value) }
            try store.write(batch, sync: sync)
            i += 1_000
        }
    }
}

let getKeys = options.quick ? 100_000 : 1_000_000
let store = try LevelDBStore(path: benchDirectory + "/gets")
var fill = 0
while fill < getKeys {
    var batch = WriteBatch()
    for j in fill..<min(getKeys, fill + 10_000) { batch.put(key(j), value) }
    try store.write(batch, sync: false)
    fill += 10_000
}
try store.compact()
let getCount = 200_000
let order = (0..<getCount).map { _ in key(Int.random(in: 0..<getKeys, using: &generator)) }
try measure("LevelDB random gets (hash-order keys) over \(getKeys / 1000)k keys", operations: getCount) {
    for k in order {
        let found = try store.get(k)
        precondition(found != nil, "benchmark key missing")
    }
}
store.close()

}

if options.suites.contains("ledger") {
    print(String(repeating: "-", count: 76))
    try runLedgerBenchmark(grantCount: options.quick ? 100_000 : options.grants, blocks: options.quick ? 5 : options.blocks, blockSize: 1_000)
}

if options.suites.contains("cache") {
    print(String(repeating: "-", count: 76))
    for row in runCacheMemoryBenchmark(budgetMiB: options.quick ? 16 : 64) {
        rows.append(Row(name: "state cache heap / estimate, values of \(row.valueBytes.map { "\($0) B" } ?? "absent keys")",
                        value: row.ratio, unit: "x", runs: [row.ratio]))
    }
}

if options.suites.contains("http") {
    print(String(repeating: "-", count: 76))
    try await runHTTPBenchmark(clients: options.quick ? 50 : options.clients, perClient: options.quick ? 10 : 20)
}

if options.suites.contains("shadows") {
    print(String(repeating: "-", count: 76))
    try await runShadowBenchmark(sizes: !options.shadowSizes.isEmpty ? options.shadowSizes
        : options.quick ? [1 << 20, 16 << 20] : [1 << 20, 256 << 20])
}

if options.suites.contains("pairing") {
    print(String(repeating: "-", count: 76))
    try runPairingBenchmark(quick: options.quick, peerPython: options.pairingPeer)
}

if options.suites.contains("abe") {
    print(String(repeating: "-", count: 76))
    try runABEBenchmark(quick: options.quick)
}

if let path = options.jsonPath {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try encoder.encode(RunResult(machine: BenchmarkRun.machine, commit: BenchmarkRun.commit, date: BenchmarkRun.date,
                                 runs: runs, rows: rows)).write(to: URL(fileURLWithPath: path))
    print("results written to \(path)")
}
