import Foundation
import Pairing

/// BLS12-381 (Docs/performance.md, "Pairing"): field arithmetic in nanoseconds per operation, timed over chains of
/// dependent operations (each input is the previous output, so nothing can be dropped or overlapped); group
/// operations, hashes and pairings in microseconds; and, with `--pairing-peer PYTHON`, the native pymcl (mcl) and
/// blspy (blst) timed in the same runs, interleaved with ours, with the ratio of the medians.
@MainActor
func runPairingBenchmark(quick: Bool, peerPython: String?) throws {
    let count = quick ? 200_000 : 2_000_000
    var x = Fp(0x1234_5678) * Fp(0x9abc_def0)
    let y = Fp(0x0fed_cba9) + Fp.one
    nanoseconds("Fp multiplication", count) { for _ in 0..<count { x = x * y } }
    nanoseconds("Fp squaring", count) { for _ in 0..<count { x = x.squared } }
    nanoseconds("Fp addition", count) { for _ in 0..<count { x = x + y } }
    let inversions = quick ? 200 : 2_000
    nanoseconds("Fp inversion (Fermat, sliding window: 380 squarings, 83 products)", inversions) {
        for _ in 0..<inversions { x = (x.inverse ?? .one) + .one }
    }
    var pair = Fp2(x, y)
    let pairOther = Fp2(y, x)
    nanoseconds("Fp2 multiplication (Karatsuba)", count) { for _ in 0..<count { pair = pair * pairOther } }
    nanoseconds("Fp2 squaring", count) { for _ in 0..<count { pair = pair.squared } }
    var scalar = Fr(0x1234_5678)
    let scalarOther = Fr(0x9abc_def0)
    nanoseconds("Fr multiplication", count) { for _ in 0..<count { scalar = scalar * scalarOther } }
    var point = G1Point.generator.multiplied(by: Fr(0x1234_5678))
    var point2 = G2Point.generator.multiplied(by: Fr(0x1234_5678))
    var loop = Pairing.millerLoop(point, point2)
    let fp12Count = quick ? 2_000 : 20_000
    let other = Pairing.millerLoop(point.doubled, point2)
    nanoseconds("Fp12 multiplication", fp12Count) { for _ in 0..<fp12Count { loop = loop * other } }
    nanoseconds("Fp12 squaring", fp12Count) { for _ in 0..<fp12Count { loop = loop.squared } }
    var cyclotomic = Pairing.pairing(point, point2)
    nanoseconds("Fp12 cyclotomic squaring", fp12Count) { for _ in 0..<fp12Count { cyclotomic = cyclotomic.cyclotomicSquared } }
    let additions = quick ? 20_000 : 200_000
    nanoseconds("G1 addition (complete, projective)", additions) { for _ in 0..<additions { point = point + G1Point.generator } }
    nanoseconds("G1 doubling (complete, projective)", additions) { for _ in 0..<additions { point = point.doubled } }

    let ladders = quick ? 10 : 50
    microseconds("G1 scalar multiplication (constant-time 4-bit window)", ladders) {
        for _ in 0..<ladders { point = point.multiplied(by: scalar) }
    }
    microseconds("G2 scalar multiplication (constant-time 4-bit window)", ladders) {
        for _ in 0..<ladders { point2 = point2.multiplied(by: scalar) }
    }
    let combG2 = FixedBaseTable(G2Point.generator), combGT = GTFixedBase(Pairing.pairing(.generator, .generator))
    microseconds("G2 fixed-base multiplication (comb, 64 additions)", ladders) {
        for _ in 0..<ladders { point2 = point2 + combG2.multiply(scalar); scalar = scalar + .one }
    }
    var gtValue = Fp12.one
    microseconds("GT fixed-base power (comb, 64 products)", ladders) {
        for _ in 0..<ladders { gtValue = gtValue * combGT.power(scalar); scalar = scalar + .one }
    }
    let gtBase = Pairing.pairing(.generator, .generator)
    microseconds("GT power (4-bit window, cyclotomic squarings)", ladders) {
        for _ in 0..<ladders { gtValue = gtValue * gtBase.power(scalar); scalar = scalar + .one }
    }
    var encoded = point.compressed
    microseconds("G1 decompression with subgroup check", ladders) {
        for _ in 0..<ladders { encoded = ((try? G1Point(compressed: encoded)) ?? .generator).compressed }
    }
    var encoded2 = point2.compressed
    microseconds("G2 decompression with subgroup check", ladders) {
        for _ in 0..<ladders { encoded2 = ((try? G2Point(compressed: encoded2)) ?? .generator).compressed }
    }
    var message = [UInt8](repeating: 7, count: 32)
    let domain = Array("TWINLEDGER-V01-BENCH_".utf8)
    microseconds("hash to G1 (RFC 9380, SSWU, 32-byte message)", ladders) {
        for _ in 0..<ladders { message = Array(((try? G1Point.hash(message, domain: domain)) ?? .generator).compressed.prefix(32)) }
    }
    microseconds("hash to G2 (RFC 9380, SSWU, 32-byte message)", ladders) {
        for _ in 0..<ladders { message = Array(((try? G2Point.hash(message, domain: domain)) ?? .generator).compressed.prefix(32)) }
    }
    let pairings = quick ? 4 : 20
    microseconds("Miller loop (projective, sparse lines)", pairings) {
        for _ in 0..<pairings { loop = loop * Pairing.millerLoop(point, point2) }
    }
    microseconds("final exponentiation", pairings) { for _ in 0..<pairings { loop = Pairing.finalExponentiation(loop) } }
    let triple = [(point, point2), (point.doubled, point2), (point, point2.doubled)]
    microseconds("multi-pairing of 3 (one shared loop, one final exp.)", pairings) {
        for _ in 0..<pairings { loop = loop * Pairing.multiPairing(triple) }
    }

    // The pairing, ours and the native peers', run by run.
    var ours: [Double] = [], peers: [String: [Double]] = [:]
    for _ in 0..<runs {
        ours.append(time { for _ in 0..<pairings { loop = loop * Pairing.pairing(point, point2) } } * 1e6 / Double(pairings))
        if let peerPython {
            for (name, value) in try runPairingPeer(python: peerPython, count: quick ? 20 : 100) { peers[name, default: []].append(value) }
        }
    }
    record("pairing e(P, Q), ours", ours, "µs")
    for name in peers.keys.sorted() {
        let values = peers[name] ?? []
        record(name + " (native, same runs)", values, "µs")
        if name.hasSuffix("pairing") {
            let ratios = zip(ours, values).map { $0 / $1 }
            rows.append(Row(name: "pairing ratio ours / " + name, value: median(ratios), unit: "x", runs: ratios))
            printRow("pairing ratio ours / " + name, median(ratios), "x", decimals: 2)
        }
    }
    blackHole(gtValue.bytes + x.bytes + pair.bytes + scalar.bytes + point.compressed + encoded + encoded2 + loop.bytes + cyclotomic.bytes)
}

/// Runs Benchmarks/python/pairing_peer.py under `python`: its rows, "name<TAB>microseconds".
func runPairingPeer(python: String, count: Int) throws -> [(String, Double)] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = ["Benchmarks/python/pairing_peer.py", String(count)]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return output.split(separator: "\n").compactMap { line in
        let parts = line.split(separator: "\t")
        guard parts.count == 2, let value = Double(parts[1]) else { return nil }
        return (String(parts[0]), value)
    }
}

/// Records and prints a median of per-run values.
@MainActor
func record(_ name: String, _ values: [Double], _ unit: String) {
    rows.append(Row(name: name, value: median(values), unit: unit, runs: values))
    printRow(name, median(values), unit, decimals: 1)
}

/// Records and prints the median nanoseconds per operation of `body`, which performs `count` operations.
@MainActor
func nanoseconds(_ name: String, _ count: Int, _ body: () -> Void) {
    var values: [Double] = []
    for _ in 0..<runs { values.append(time(body) * 1e9 / Double(count)) }
    record(name, values, "ns")
}

/// The same in microseconds.
@MainActor
func microseconds(_ name: String, _ count: Int, _ body: () -> Void) {
    var values: [Double] = []
    for _ in 0..<runs { values.append(time(body) * 1e6 / Double(count)) }
    record(name, values, "µs")
}
