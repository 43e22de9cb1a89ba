// LevelDB-specific behaviour: durability across close and reopen, typed errors for LevelDB statuses, closed-store
// and closed-snapshot errors, and crash safety: a real writer process killed with SIGKILL mid-write never leaves
// a half-applied batch and never loses an acknowledged one.
import Foundation
import KeyValue
import Storage
import TestSupport
import Testing

/// The built `twinledger` executable: TWINLEDGER_BIN, or next to the test bundle in the build directory.
func twinledgerBinary() -> String? {
    if let path = ProcessInfo.processInfo.environment["TWINLEDGER_BIN"] { return path }
    let candidates = [
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("twinledger"),
        Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("twinledger"),
    ]
    return candidates.map(\.path).first { FileManager.default.isExecutableFile(atPath: $0) }
}

@Suite("LevelDB store")
struct LevelDBTests {
    @Test("data survives close and reopen; a closed store throws closed")
    func reopen() throws {
        let dir = try makeTemporaryDirectory("ldb")
        defer { removeTemporaryDirectory(dir) }
        let path = dir + "/db"
        var store = try LevelDBStore(path: path)
        var batch = WriteBatch()
        for i in 0..<10_000 { batch.put(b("key/\(i)"), b("value-\(i)")) }
        try store.write(batch, sync: true)
        let snapshot = try store.snapshot()
        store.close()
        #expect(store.isClosed)
        #expect { try store.get(b("key/1")) } throws: { ($0 as? StorageError)?.code == .closed }
        #expect { try store.put(b("a"), b("b")) } throws: { ($0 as? StorageError)?.code == .closed }
        #expect { try snapshot.get(b("key/1")) } throws: { ($0 as? StorageError)?.code == .closed }
        store = try LevelDBStore(path: path)
        #expect(try store.get(b("key/9999")) == b("value-9999"))
        #expect(try store.scan(prefix: b("key/")).count == 10_000)
        store.close()
    }

    @Test("LevelDB statuses become typed errors")
    func typedErrors() throws {
        let dir = try makeTemporaryDirectory("ldb")
        defer { removeTemporaryDirectory(dir) }
        var noCreate = LevelDBStore.Options()
        noCreate.createIfMissing = false
        #expect { try LevelDBStore(path: dir + "/missing", options: noCreate) } throws: {
            ($0 as? StorageError)?.code == .invalidArgument
        }
        let store = try LevelDBStore(path: dir + "/db")
        // A second open of the same directory fails on LevelDB's lock file.
        #expect { try LevelDBStore(path: dir + "/db") } throws: { ($0 as? StorageError)?.code == .ioError }
        store.close()
        var exclusive = LevelDBStore.Options()
        exclusive.errorIfExists = true
        #expect { try LevelDBStore(path: dir + "/db", options: exclusive) } throws: {
            ($0 as? StorageError)?.code == .invalidArgument
        }
        try "not a directory".write(toFile: dir + "/file", atomically: true, encoding: .utf8)
        #expect { try LevelDBStore(path: dir + "/file") } throws: { ($0 as? StorageError) != nil }
    }

    @Test("a corrupted table file is reported as corruption under paranoid checks")
    func corruption() throws {
        let dir = try makeTemporaryDirectory("ldb")
        defer { removeTemporaryDirectory(dir) }
        let path = dir + "/db"
        var store: LevelDBStore? = try LevelDBStore(path: path)
        var batch = WriteBatch()
        for i in 0..<5_000 { batch.put(b("key/\(i)"), [UInt8](repeating: UInt8(i % 251), count: 100)) }
        try store?.write(batch, sync: true)
        try store?.compact()
        store?.close()
        store = nil
        let tables = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".ldb") }
        let table = try #require(tables.first)
        let handle = try #require(FileHandle(forUpdatingAtPath: path + "/" + table))
        handle.seek(toFileOffset: 200)
        handle.write(Data(repeating: 0x5A, count: 64))
        try handle.close()
        var paranoid = LevelDBStore.Options()
        paranoid.paranoidChecks = true
        paranoid.blockCacheBytes = 0
        let reopened = try LevelDBStore(path: path, options: paranoid)
        defer { reopened.close() }
        let outcome = Result { () throws(StorageError) in
            _ = try reopened.scan(prefix: b("key/"))
            for i in 0..<5_000 { _ = try reopened.get(b("key/\(i)")) }
        }
        guard case .failure(let error) = outcome else {
            Issue.record("reading a corrupted table succeeded")
            return
        }
        #expect(error.code == .corruption)
    }

    @Test("SIGKILL during writes: no batch half-applied, no acknowledged batch lost", arguments: [false, true])
    func killDuringWrites(sync: Bool) throws {
        let binary = try #require(twinledgerBinary(), "build the twinledger executable first (make test does)")
        let seed = testSeed()
        var rng = SeededRandom(seed: seed ^ (sync ? 1 : 0))
        let dir = try makeTemporaryDirectory("crash")
        defer { removeTemporaryDirectory(dir) }
        let path = dir + "/db"
        for attempt in 0..<3 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["debug", "storage-writer", "--path", path, "--keys", "300"] + (sync ? ["--sync"] : [])
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            // Let it commit a random number of batches, then kill it without warning.
            let target = Int.random(in: 20...200, using: &rng)
            var acknowledged = 0
            var buffer = Data()
            while acknowledged < target {
                let chunk = pipe.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                let lines = String(decoding: buffer, as: UTF8.self).split(separator: "\n")
                if let last = lines.last(where: { $0.hasPrefix("committed ") }), let n = Int(last.dropFirst(10)) {
                    acknowledged = n
                }
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal, "attempt \(attempt): writer was not killed")
            #expect(acknowledged > 0, "attempt \(attempt): writer acknowledged nothing")

            let store = try LevelDBStore(path: path)
            defer { store.close() }
            let counter = try #require(try store.get(b("counter")))
            let entries = try store.scan(prefix: b("k/"))
            #expect(entries.count == 300, "seed \(seed) attempt \(attempt)")
            // Every key carries the same batch number as the counter: the last batch is all there or not at all.
            #expect(entries.allSatisfy { $0.value == counter }, "seed \(seed) attempt \(attempt): half-applied batch")
            let number = Int(String(decoding: counter.prefix { $0 != 0 }, as: UTF8.self)) ?? -1
            #expect(number >= acknowledged, "seed \(seed) attempt \(attempt): acknowledged batch \(acknowledged) lost")
        }
    }
}
