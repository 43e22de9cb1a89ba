import Foundation
import TwinCrypto

/// The committed inputs: `Tests/Fuzz/corpus/TARGET/` (seeds and what fuzzing found worth keeping) and
/// `Tests/Fuzz/regressions/TARGET/` (inputs that once crashed or broke a property, kept so they never do again).
public enum FuzzCorpus {
    public static func directory(_ kind: String, of target: FuzzTarget, file: StaticString = #filePath) -> String {
        URL(fileURLWithPath: "\(file)").deletingLastPathComponent().appendingPathComponent("../\(kind)/\(target.name)").standardized.path
    }

    /// The files of a directory (none if it is missing), by name.
    public static func inputs(in directory: String) throws -> [(name: String, bytes: [UInt8])] {
        guard FileManager.default.fileExists(atPath: directory) else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: directory).sorted().map { name in
            (name, Array(try Data(contentsOf: URL(fileURLWithPath: "\(directory)/\(name)"))))
        }
    }

    /// Writes `target`'s seeds as `seed-` and the first 16 hex digits of their SHA3-256 (libFuzzer names files by
    /// content too); returns how many.
    @discardableResult
    public static func writeSeeds(of target: FuzzTarget, to directory: String) throws -> Int {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let seeds = target.seeds()
        for seed in seeds {
            let name = "seed-" + Hashing.sha3(seed).hex.prefix(16)
            try Data(seed).write(to: URL(fileURLWithPath: "\(directory)/\(name)"))
        }
        return seeds.count
    }
}
