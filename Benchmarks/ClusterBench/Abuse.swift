import Foundation
import Ledger
import Synchronization
import TestSupport
import TwinCrypto

// `ClusterBench --abuse SECONDS` (make bench-cluster): an abusive client against one validator, with the per-client
// limits on (the defaults) and off, beside an honest client; Docs/performance.md, "An abusive client".
//
// The honest client (127.0.0.1) asks for /health 50 times a second and times each answer. The abusive one
// (127.0.0.2, eight connections at once, a new connection per request) re-submits one signed transaction as fast as
// it can: the first is admitted, every later one costs the node a decode and a BIP340 verification before it is
// refused as a duplicate, unless the rate limit refuses it first. Three runs on the same machine, one after the other:
// the honest client alone, with the abuser and the limits on, with the abuser and the limits off.

struct AbuseRun: Encodable {
    let label: String
    let honestRequests: Int
    let honestFailures: Int
    let honestP50Ms: Double
    let honestP99Ms: Double
    let abusiveRequests: Int
    let abusiveThrottled: Int
    let abusivePerSecond: Double
    /// CPU seconds the node used during the run.
    let nodeCPUSeconds: Double
}

struct AbuseResult: Encodable {
    let seconds: Int
    let rateLimitPerSecond: Int
    let runs: [AbuseRun]
}

/// The honest client's latencies (ms) and failures, and the abuser's requests and 429s, over `seconds`.
func abuseRun(label: String, port: Int, pid: Int32, seconds: Int, abusive: [UInt8]?) -> AbuseRun {
    let cpuBefore = cpuSeconds(pid)
    let stop = Atomic<Bool>(false)
    let abusiveCounts = Mutex<(requests: Int, throttled: Int)>((0, 0))
    var threads: [Thread] = []
    if let abusive {
        for _ in 0..<8 {
            let thread = Thread {
                while !stop.load(ordering: .relaxed) {
                    let response = try? blockingHTTPResponse(
                        port: port, method: "POST", path: "/v1/transactions", body: Data(abusive),
                        headers: ["Content-Type": "application/octet-stream"], source: "127.0.0.2", timeoutSeconds: 5)
                    abusiveCounts.withLock {
                        $0.requests += 1
                        if response?.status == 429 { $0.throttled += 1 }
                    }
                }
            }
            thread.start()
            threads.append(thread)
        }
    }
    var latencies: [Double] = []
    var failures = 0
    let start = now()
    var next = start
    while now() - start < Double(seconds) {
        let sent = now()
        if let response = try? blockingHTTPResponse(port: port, method: "GET", path: "/health", body: nil, timeoutSeconds: 10),
           response.status == 200 {
            latencies.append((now() - sent) * 1_000)
        } else {
            failures += 1
        }
        next += 0.02
        let wait = next - now()
        if wait > 0 { usleep(UInt32(wait * 1e6)) }
    }
    stop.store(true, ordering: .relaxed)
    while threads.contains(where: { $0.isExecuting }) { usleep(10_000) }
    let sorted = latencies.sorted()
    let counts = abusiveCounts.withLock { $0 }
    return AbuseRun(label: label, honestRequests: latencies.count + failures, honestFailures: failures,
                    honestP50Ms: percentile(sorted, 0.5), honestP99Ms: percentile(sorted, 0.99),
                    abusiveRequests: counts.requests, abusiveThrottled: counts.throttled,
                    abusivePerSecond: Double(counts.requests) / Double(seconds), nodeCPUSeconds: cpuSeconds(pid) - cpuBefore)
}

func runAbuse(_ options: Options) throws -> AbuseResult {
    var runs: [AbuseRun] = []
    // Below what the abusive client manages here (about 250 requests a second on this machine), so the limit bites;
    // the default, 500 a second with a burst of 1,000, is for a node with cores of its own.
    let limit = 50
    for (rate, labels) in [(limit, ["honest alone", "abuser, limits on"]), (0, ["abuser, limits off"])] {
        var clusterOptions = options
        clusterOptions.apiRateLimit = rate
        clusterOptions.apiRateBurst = rate > 0 ? rate : nil
        let directory = try makeTemporaryDirectory("abuse")
        defer { removeTemporaryDirectory(directory) }
        let cluster = try Cluster(clusterOptions, validators: 1, directory: directory)
        defer { cluster.stop() }
        do { try cluster.waitReady() } catch {
            let log = (try? String(contentsOfFile: directory + "/v0.log", encoding: .utf8)) ?? "(no log)"
            print("abuse: the node did not start:\n" + log.split(separator: "\n").suffix(10).joined(separator: "\n"))
            throw error
        }
        var patient = Patient(key: try SecretKey())
        let transaction = try grant(&patient, to: Hashing.sha3([1]), chainID: cluster.chainID)
        let port = cluster.members[0].apiPort
        for label in labels {
            let pid = cluster.members[0].process?.processIdentifier ?? 0
            let run = abuseRun(label: label, port: port, pid: pid, seconds: options.abuseSeconds,
                               abusive: label == "honest alone" ? nil : transaction)
            print(String(format: "%@: honest p50 %.1f ms, p99 %.1f ms (%d requests, %d failed); abuser %.0f requests/s, %d of %d refused with 429; node CPU %.1f s",
                         run.label, run.honestP50Ms, run.honestP99Ms, run.honestRequests, run.honestFailures,
                         run.abusivePerSecond, run.abusiveThrottled, run.abusiveRequests, run.nodeCPUSeconds))
            fflush(nil)
            runs.append(run)
        }
    }
    return AbuseResult(seconds: options.abuseSeconds, rateLimitPerSecond: limit, runs: runs)
}
