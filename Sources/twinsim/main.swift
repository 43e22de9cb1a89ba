// twinsim: runs consensus simulator seeds (`make sim`) and measures the simulator (`make bench`).
//
//   twinsim --seeds N [--start S] [--n 4] [--heights 3] [--faults 0|1] [--mutation quorumOfTwoF|noLock]
//   twinsim --seed S [--n 4] ...      replays one seed, printing what happened
//   twinsim --bench                   commits per CPU-second and messages per height for n = 4, 7, 10, 16
import Consensus
import Simulation

#if canImport(Glibc)
import Glibc
#endif

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

func parseOptions() -> [String: String] {
    var options: [String: String] = [:]
    var arguments = CommandLine.arguments.dropFirst().makeIterator()
    while let argument = arguments.next() {
        guard argument.hasPrefix("--") else {
            print("twinsim: unexpected argument \(argument)")
            exit(2)
        }
        let name = String(argument.dropFirst(2))
        options[name] = name == "bench" ? "1" : (arguments.next() ?? "")
    }
    return options
}

let options = parseOptions()

func integer(_ name: String, _ fallback: UInt64) -> UInt64 {
    guard let text = options[name] else { return fallback }
    if text.hasPrefix("0x"), let value = UInt64(text.dropFirst(2), radix: 16) { return value }
    guard let value = UInt64(text) else {
        print("twinsim: --\(name) needs a number, got \(text)")
        exit(2)
    }
    return value
}

let validators = Int(integer("n", 4))
let heights = Int(integer("heights", 3))
let faults = integer("faults", 1) != 0
var mutation: ConsensusConfig.Mutation?
if let name = options["mutation"] {
    guard let parsed = ConsensusConfig.Mutation(rawValue: name) else {
        print("twinsim: unknown mutation \(name) (\(ConsensusConfig.Mutation.allCases.map(\.rawValue)))")
        exit(2)
    }
    mutation = parsed
}

if options["bench"] != nil {
    print("consensus simulator, no faults, 20 heights, 5 seeds each (median)")
    print("validators  commits/CPU-s  messages/height  messages/(n(n-1))")
    var ratios: [Double] = []
    for n in [4, 7, 10, 16] {
        var rates: [Double] = []
        var perHeight: [Double] = []
        for seed in 1...5 {
            let start = cpuSeconds()
            var simulation = try Simulation(.init(seed: UInt64(seed), validators: n, heights: 20, faults: false))
            let report = try simulation.run()
            rates.append(Double(report.heightsCommitted) / (cpuSeconds() - start))
            perHeight.append(Double(report.messages) / Double(report.heightsCommitted))
        }
        let rate: Double = rates.sorted()[rates.count / 2]
        let messages: Double = perHeight.sorted()[perHeight.count / 2]
        let ratio: Double = messages / Double(n * (n - 1))
        ratios.append(ratio)
        let row: [String] = [String(n), String(Int(rate)), String(Int(messages)), String(Double(Int(ratio * 100)) / 100)]
        let widths = [10, 15, 17, 19]
        print(zip(row, widths).map { String(repeating: " ", count: max(0, $1 - $0.count)) + $0 }.joined())
    }
    // One round: a proposal to n - 1 peers and two votes from each of n validators to n - 1 peers, (2n + 1)(n - 1)
    // messages, so the ratio to n(n - 1) is 2 + 1/n; extra rounds would add multiples of it. Anything growing with n
    // would be worse than O(n^2).
    let quadratic = ratios.allSatisfy { $0 >= 2 && $0 < 3 } && (ratios.last ?? 0) <= (ratios.first ?? 0) + 0.05
    print("messages per height = \(quadratic ? "" : "NOT ")O(n^2) (ratio to n(n-1) steady between 2 and 3)")
    exit(quadratic ? 0 : 1)
}

if options["seed"] != nil {
    let config = Simulation.Config(seed: integer("seed", 0), validators: validators, heights: heights, faults: faults, mutation: mutation)
    var simulation = try Simulation(config)
    do {
        let report = try simulation.run()
        print("seed \(config.seed): ok, \(report.heightsCommitted) heights in \(report.simulatedMillis) simulated ms, "
            + "\(report.messages) messages, GST \(report.gstMillis) ms, crashes \(report.crashes), "
            + "evidence \(report.evidence), validators \(report.behaviors.map(\.rawValue))")
    } catch {
        print(error)
        exit(1)
    }
    exit(0)
}

let count = integer("seeds", 100)
let first = integer("start", 1)
var failures = 0
let startTime = cpuSeconds()
for seed in first..<(first + count) {
    var simulation = try Simulation(.init(seed: seed, validators: validators, heights: heights, faults: faults, mutation: mutation))
    do {
        _ = try simulation.run()
    } catch {
        failures += 1
        print(error)
    }
}
let elapsed = Double(Int((cpuSeconds() - startTime) * 10)) / 10
print("\(count) seeds from \(first), n = \(validators), \(heights) heights: \(failures) failed (\(elapsed) CPU s)")
exit(failures == 0 ? 0 : 1)
