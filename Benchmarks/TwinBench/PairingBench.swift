import Pairing

/// BLS12-381 field arithmetic (Docs/performance.md, "Pairing"): nanoseconds per operation, timed over chains of
/// dependent operations (each input is the previous output, so nothing can be dropped or overlapped), the median of
/// `runs`.
@MainActor
func runPairingBenchmark(quick: Bool) {
    let count = quick ? 200_000 : 2_000_000
    var x = Fp(0x1234_5678) * Fp(0x9abc_def0)
    let y = Fp(0x0fed_cba9) + Fp.one
    nanoseconds("Fp multiplication", count) { for _ in 0..<count { x = x * y } }
    nanoseconds("Fp squaring", count) { for _ in 0..<count { x = x.squared } }
    nanoseconds("Fp addition", count) { for _ in 0..<count { x = x + y } }
    let inversions = quick ? 200 : 2_000
    nanoseconds("Fp inversion (Fermat: 380 squarings, ~190 products)", inversions) {
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
    let additions = quick ? 20_000 : 200_000
    nanoseconds("G1 addition (complete, projective)", additions) { for _ in 0..<additions { point = point + G1Point.generator } }
    nanoseconds("G1 doubling (complete, projective)", additions) { for _ in 0..<additions { point = point.doubled } }
    let ladders = quick ? 10 : 100
    nanoseconds("G1 scalar multiplication (constant-time ladder)", ladders) {
        for _ in 0..<ladders { point = point.multiplied(by: scalar) }
    }
    var encoded = point.compressed
    nanoseconds("G1 decompression with subgroup check", ladders) {
        for _ in 0..<ladders { encoded = ((try? G1Point(compressed: encoded)) ?? .generator).compressed }
    }
    var point2 = G2Point.generator.multiplied(by: Fr(0x1234_5678))
    nanoseconds("G2 scalar multiplication (constant-time ladder)", ladders) {
        for _ in 0..<ladders { point2 = point2.multiplied(by: scalar) }
    }
    var gt = Fp12.one
    let pairings = quick ? 2 : 10
    nanoseconds("pairing e(P, Q) (affine Miller loop, decomposed final exp.)", pairings) {
        for _ in 0..<pairings { gt = gt * Pairing.pairing(point, point2) }
    }
    nanoseconds("Miller loop alone", pairings) { for _ in 0..<pairings { gt = gt * Pairing.millerLoop(point, point2) } }
    blackHole(x.bytes + pair.bytes + scalar.bytes + point.compressed + encoded + point2.compressed + [gt == .one ? 1 : 0])
}

/// Records and prints the median nanoseconds per operation of `body`, which performs `count` operations.
@MainActor
func nanoseconds(_ name: String, _ count: Int, _ body: () -> Void) {
    var values: [Double] = []
    for _ in 0..<runs { values.append(time(body) * 1e9 / Double(count)) }
    rows.append(Row(name: name, value: median(values), unit: "ns", runs: values))
    printRow(name, median(values), "ns", decimals: 1)
}
