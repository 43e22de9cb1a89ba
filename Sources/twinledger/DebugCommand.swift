import ArgumentParser
import Foundation
import KeyValue
import Storage

/// Tools for tests and operators, hidden from the main help.
struct DebugCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug", abstract: "Tools for tests and diagnosis.", shouldDisplay: false,
        subcommands: [StorageWriter.self]
    )

    /// Writes numbered batches forever (or `--batches` of them) so a test can kill the process mid-write and check
    /// that every batch is all-or-nothing and every acknowledged batch survived.
    ///
    /// Batch i sets keys `k/0000`…`k/NNNN` and `counter` to the decimal i, in one LevelDB write batch, then prints
    /// "committed i". After a crash, all those keys must hold one and the same number, at least the last printed.
    struct StorageWriter: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "storage-writer")

        @Option var path: String
        @Option var keys = 200
        @Option var batches = Int.max
        @Option var valueBytes = 512
        @Flag var sync = false

        func run() throws {
            let store = try LevelDBStore(path: path)
            let padding = [UInt8](repeating: UInt8(ascii: "."), count: max(0, valueBytes))
            var i = 0
            while i < batches {
                i += 1
                let value = Array(String(i).utf8) + [0] + padding
                var batch = WriteBatch()
                for k in 0..<keys { batch.put(Array(String(format: "k/%04d", k).utf8), value) }
                batch.put(Array("counter".utf8), value)
                try store.write(batch, sync: sync)
                print("committed \(i)")
                fflush(nil)
            }
        }
    }
}
