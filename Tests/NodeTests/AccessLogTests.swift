// The node's access log on a real LevelDB: records survive reopening with their counters, batches cut in sequence and
// at most batchMax records, proofs verify against the batch root for every record and fail for a changed record, and
// the patient index returns each patient's records only. Reads served on several threads at once (the API records
// on NIO's blocking-IO pool) append and cut batches in one gapless sequence.
import Dispatch
import Encoding
import Ledger
import Node
import Storage
import TestSupport
import Testing
import TwinCrypto

@Suite("Access log")
struct AccessLogTests {
    @Test("appends from eight threads at once, with batches cut meanwhile, give one gapless sequence of distinct records")
    func concurrentAppends() throws {
        let dir = try makeTemporaryDirectory("access-log-threads")
        defer { removeTemporaryDirectory(dir) }
        let level = try LevelDBStore(path: dir + "/db")
        defer { level.close() }
        let log = try AccessLog(store: level, node: Hashing.sha3([1]), start: 7)
        let patient = Hashing.sha3([2])
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for i in 0..<25 {
                _ = try? log.append(timeMillis: UInt64(thread * 1_000 + i), requester: Hashing.sha3([UInt8(thread)]), patient: patient,
                                    shadow: .zero, blob: Hashing.sha3([UInt8(thread), UInt8(i)]), grant: nil, purpose: .treatment)
                if i % 10 == 9 { _ = try? log.cutBatch() }
            }
        }
        _ = try log.cutBatch()
        #expect(log.nextSequence == 7 + 200 && log.unbatchedCount == 0)
        let records = try log.records(patient: patient, limit: 1_000)
        #expect(records.map(\.sequence) == Array(7..<207))
        #expect(Set(records.map(\.blob)).count == 200)
        // The batches tile the sequence without gap or overlap.
        var next: UInt64 = 7
        for batch in try log.batches() {
            #expect(batch.first == next)
            next += batch.count
        }
        #expect(next == 207)
    }

    @Test("records and batches survive reopening; every proof verifies, and a changed record does not")
    func persistence() throws {
        let dir = try makeTemporaryDirectory("access-log")
        defer { removeTemporaryDirectory(dir) }
        let node = Hashing.sha3([1]), alice = Hashing.sha3([2]), bob = Hashing.sha3([3])
        do {
            let level = try LevelDBStore(path: dir + "/db")
            defer { level.close() }
            let log = try AccessLog(store: level, node: node, start: 40)
            for i in 0..<5 {
                try log.append(timeMillis: UInt64(1_000 + i), requester: Hashing.sha3([9]), patient: i % 2 == 0 ? alice : bob,
                               shadow: Hashing.sha3([UInt8(i)]), blob: Hashing.sha3([UInt8(i), 1]), grant: nil, purpose: .treatment)
            }
            #expect(try log.cutBatch() == log.batches().first)
            #expect(log.unbatchedCount == 0 && log.nextSequence == 45)
        }
        let level = try LevelDBStore(path: dir + "/db")
        defer { level.close() }
        let log = try AccessLog(store: level, node: node, start: 0)  // a reopened log keeps its own counters
        #expect(log.nextSequence == 45)
        try log.append(timeMillis: 2_000, requester: Hashing.sha3([9]), patient: alice, shadow: .zero, blob: .zero, grant: .zero,
                       purpose: .research)
        #expect(log.unbatchedCount == 1)
        let second = try #require(try log.cutBatch())
        #expect(second.first == 45 && second.count == 1)
        #expect(try log.cutBatch() == nil)
        let first = try #require(try log.batches().first)
        #expect(first.first == 40 && first.count == 5)
        let records = try log.records(patient: alice)
        #expect(records.map(\.sequence) == [40, 42, 44, 45])
        #expect(try log.records(patient: bob).map(\.sequence) == [41, 43])
        for record in records {
            let batch = try #require(try log.batch(containing: record.sequence))
            let proof = try log.proof(record, in: batch)
            #expect(proof.verify(leaf: record.leaf, root: batch.root))
            var changed = record
            changed.purpose = .publicHealth
            #expect(!proof.verify(leaf: changed.leaf, root: batch.root))
        }
    }
}
