#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// SplitMix64: a tiny seeded generator so every property test is replayable from the seed it prints.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) }
    }
}

/// The seed for property tests: `TWINLEDGER_SEED` if set (to replay a failure), else a fixed default.
public func testSeed(default value: UInt64 = 0x7457_494E_4C45_4447) -> UInt64 {
    if let text = ProcessInfo.processInfo.environment["TWINLEDGER_SEED"], let seed = UInt64(text) { return seed }
    return value
}

/// Tests/Vectors, found relative to this source file so tests run from any working directory.
public func vectorPath(_ name: String, file: StaticString = #filePath) -> String {
    var url = URL(fileURLWithPath: "\(file)")
    url.deleteLastPathComponent()  // TestSupport
    url.deleteLastPathComponent()  // Tests
    return url.appendingPathComponent("Vectors").appendingPathComponent(name).path
}

/// The contents of a file in Tests/Vectors.
public func loadVector(_ name: String) throws -> String {
    let data = try Data(contentsOf: URL(fileURLWithPath: vectorPath(name)))
    return String(decoding: data, as: UTF8.self)
}

/// Bytes from hex; a malformed literal in a test is a test bug, reported as an error.
public func hex(_ text: String) throws -> [UInt8] {
    let clean = text.filter { !$0.isWhitespace }
    guard clean.count % 2 == 0 else { throw TestSupportError.badHex(text) }
    var out: [UInt8] = []
    var index = clean.startIndex
    while index < clean.endIndex {
        let next = clean.index(index, offsetBy: 2)
        guard let byte = UInt8(clean[index..<next], radix: 16) else { throw TestSupportError.badHex(text) }
        out.append(byte)
        index = next
    }
    return out
}

public enum TestSupportError: Error { case badHex(String), missing(String) }

/// A fresh directory under the system temporary directory, removed by `removeTemporaryDirectory`.
public func makeTemporaryDirectory(_ label: String = "twinledger") throws -> String {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("\(label)-\(UInt64.random(in: 0...UInt64.max))").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

public func removeTemporaryDirectory(_ path: String) {
    try? FileManager.default.removeItem(atPath: path)
}
