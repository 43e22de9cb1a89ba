// The write-ahead log and its CRC-32C.
//
// Covers: CRC-32C against RFC 3720 appendix B.4; records of random sizes (empty included) survive reopening in order;
// a torn last record (cut at every byte of its frame, or with a failed checksum) is cut off and reported, and
// appending continues after it; damage before the last record, or an absurd length, is refused as corruption;
// reset empties the log; oversized records are refused.
import Foundation
import KeyValue
import Storage
import TestSupport
import Testing

@Suite("Write-ahead log")
struct WriteAheadLogTests {
    @Test("CRC-32C matches RFC 3720 B.4 and the classic check value")
    func crc() {
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum(Array(0..<32 as Range<UInt8>)) == 0x46DD_794E)
        #expect(CRC32C.checksum(Array((0..<32 as Range<UInt8>).reversed())) == 0x113F_DB5C)
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    }

    func records(_ count: Int, seed: UInt64) -> [[UInt8]] {
        var rng = SeededRandom(seed: seed)
        return (0..<count).map { i in i == 0 ? [] : rng.bytes(Int(rng.next() % 300)) }
    }

    @Test("records survive reopening in order")
    func roundTrip() throws {
        let dir = try makeTemporaryDirectory("wal")
        defer { removeTemporaryDirectory(dir) }
        let written = records(40, seed: testSeed())
        do {
            let wal = try WriteAheadLog(path: dir + "/wal")
            for (i, record) in written.enumerated() { try wal.append(record, sync: i % 5 == 0) }
        }
        let reopened = try WriteAheadLog(path: dir + "/wal")
        #expect(reopened.records == written && reopened.truncatedTail == 0)
        try reopened.reset()
        #expect(try WriteAheadLog(path: dir + "/wal").records.isEmpty)
        #expect(throws: StorageError.self) { try reopened.append([UInt8](repeating: 1, count: WriteAheadLog.recordBytesMax + 1)) }
    }

    @Test("a torn last record is cut off at any byte and appending continues; a bad checksum at the end too")
    func tornTail() throws {
        let dir = try makeTemporaryDirectory("wal")
        defer { removeTemporaryDirectory(dir) }
        let path = dir + "/wal"
        let written = records(6, seed: testSeed() ^ 1)
        do {
            let wal = try WriteAheadLog(path: path)
            for record in written { try wal.append(record) }
        }
        let full = try Data(contentsOf: URL(fileURLWithPath: path))
        let lastFrame = WriteAheadLog.headerBytes + written[written.count - 1].count
        let goodSize = full.count - lastFrame
        for cut in 1..<lastFrame {
            try full.prefix(full.count - cut).write(to: URL(fileURLWithPath: path))
            let wal = try WriteAheadLog(path: path)
            #expect(wal.records == Array(written.dropLast()), "cut \(cut)")
            #expect(wal.truncatedTail == lastFrame - cut && wal.size == goodSize)
            try wal.append([9, 9])
            #expect(try WriteAheadLog(path: path).records == Array(written.dropLast()) + [[9, 9]])
        }
        var flipped = full
        flipped[full.count - 1] ^= 0x01
        try flipped.write(to: URL(fileURLWithPath: path))
        let wal = try WriteAheadLog(path: path)
        #expect(wal.records == Array(written.dropLast()) && wal.truncatedTail == lastFrame)
    }

    @Test("damage before the last record, or an absurd length, is corruption")
    func corruption() throws {
        let dir = try makeTemporaryDirectory("wal")
        defer { removeTemporaryDirectory(dir) }
        let path = dir + "/wal"
        do {
            let wal = try WriteAheadLog(path: path)
            for record in [[1, 2, 3], [4, 5, 6, 7], [8]] as [[UInt8]] { try wal.append(record) }
        }
        let full = try Data(contentsOf: URL(fileURLWithPath: path))
        var middle = full
        middle[WriteAheadLog.headerBytes + 1] ^= 0x40  // inside the first record's payload
        try middle.write(to: URL(fileURLWithPath: path))
        #expect(performing: { try WriteAheadLog(path: path) }, throws: { ($0 as? StorageError)?.code == .corruption })
        var length = full
        length[3] = 0x7F  // the first record claims about 2 GiB
        try length.write(to: URL(fileURLWithPath: path))
        #expect(performing: { try WriteAheadLog(path: path) }, throws: { ($0 as? StorageError)?.code == .corruption })
        // The refused file is left as it was, for an operator to inspect.
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == length)
    }
}
