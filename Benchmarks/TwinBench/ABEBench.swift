import ABE
import Pairing

/// RW15 (Docs/performance.md, "ABE"): encryption and decryption of a data key's envelope under AND and OR policies of
/// 2, 5, 10 and 20 attributes over two authorities, milliseconds (median of the runs), and the envelope's size.
/// Decryption of an AND policy uses every row (2n + 1 Miller loops); of an OR policy, one. Decryption is timed from the
/// envelope's bytes (decoding with subgroup checks included); encryption with the process's tables for the
/// authorities' keys already built (their one-time cost is its own row).
@MainActor
func runABEBenchmark(quick: Bool) throws {
    var generator = SystemRandomNumberGenerator()
    let authorities = try ["HOSP_A", "NEURO_CENTER"].map { try AuthoritySecretKey.generate(authority: $0, epoch: 1, using: &generator) }
    let publicKeys = Dictionary(uniqueKeysWithValues: authorities.map { ($0.authority, $0.publicKey) })
    let gid = [UInt8](repeating: 0x42, count: 32)
    let dataKey = [UInt8](repeating: 0x17, count: 32)
    var tableTimes: [Double] = []
    for _ in 0..<runs {
        tableTimes.append(time { blackHole((GTFixedBase(publicKeys["HOSP_A"]?.eGGAlpha ?? .one), FixedBaseTable(G2Point.generator))) } * 1e3)
    }
    record("ABE tables for one authority key (once per process)", tableTimes, "ms")
    for size in quick ? [2, 10] : [2, 5, 10, 20] {
        let attributes = try (0..<size).map { try AttributeName(authority: authorities[$0 % 2].authority, name: "attribute\($0)") }
        let versions = Dictionary(uniqueKeysWithValues: attributes.map { ($0, UInt64(1)) })
        var keys: [AttributeKey] = []
        for (index, attribute) in attributes.enumerated() {
            keys.append(try authorities[index % 2].issue(gid: gid, attribute: attribute, version: 1, using: &generator))
        }
        for gate in ["and", "or"] {
            let policy = try Policy(parsing: attributes.map(\.description).joined(separator: " \(gate) "))
            var envelope = try ABEEnvelope.seal(dataKey, policy: policy, authorities: publicKeys, versions: versions, using: &generator)
            var encrypt: [Double] = [], decrypt: [Double] = []
            for _ in 0..<runs {
                encrypt.append(try time {
                    envelope = try ABEEnvelope.seal(dataKey, policy: policy, authorities: publicKeys, versions: versions, using: &generator)
                } * 1e3)
                let bytes = envelope.bytes
                decrypt.append(try time {
                    guard try ABEEnvelope(bytes: bytes).open(gid: gid, keys: keys) == dataKey else { throw ABEError(.openFailed, "bench") }
                } * 1e3)
            }
            let label = "\(size)-attribute \(gate.uppercased())"
            record("ABE encrypt, \(label)", encrypt, "ms")
            record("ABE decrypt, \(label)", decrypt, "ms")
            let bytes = Double(envelope.bytes.count)
            rows.append(Row(name: "ABE envelope size, \(label)", value: bytes, unit: "bytes", runs: [bytes]))
            printRow("ABE envelope size, \(label)", bytes, "bytes")
        }
    }
}
