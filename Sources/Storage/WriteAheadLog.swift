import KeyValue

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as iSCSI (RFC 3720) and LevelDB use it.
public enum CRC32C {
    static let table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        return crc
    }

    public static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}

/// An append-only log of records, each framed as `length:u32le crc32c:u32le payload` (Docs/consensus.md, "WAL").
///
/// Opening reads every record. A damaged **last** record (a frame that runs past the end of the file, or whose
/// checksum fails and which ends exactly at the end of the file: a write torn by a crash) is cut off and reported in
/// `truncatedTail`; damage anywhere else is refused with `corruption`, because records after it cannot be trusted to
/// be the ones that were written. One writer at a time.
public final class WriteAheadLog {
    public static let headerBytes = 8
    /// A record above this is refused, when appending and when reading.
    public static let recordBytesMax = 16 << 20

    public let path: String
    private var fd: Int32
    /// The records read when the log was opened, in order.
    public private(set) var records: [[UInt8]] = []
    /// Bytes cut from a torn tail when the log was opened (0 if none).
    public private(set) var truncatedTail = 0
    public private(set) var size = 0

    /// Opens (creating if missing) the log at `path` and reads its records.
    public init(path: String) throws {
        self.path = path
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StorageError(.ioError, "open \(path): \(String(cString: strerror(errno)))") }
        do {
            try readAll()
        } catch {
            close(fd)
            throw error
        }
    }

    deinit { close(fd) }

    private func readAll() throws {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw StorageError(.ioError, "read \(path): \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            bytes += chunk[..<n]
        }
        let scanned = try Self.scan(bytes, path: path)
        records = scanned.records
        let offset = scanned.end
        if offset < bytes.count {
            truncatedTail = bytes.count - offset
            guard ftruncate(fd, off_t(offset)) == 0, fsync(fd) == 0 else {
                throw StorageError(.ioError, "truncating the torn tail of \(path): \(String(cString: strerror(errno)))")
            }
        }
        size = offset
        guard lseek(fd, off_t(offset), SEEK_SET) >= 0 else {
            throw StorageError(.ioError, "seek \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Splits a log's bytes into its records. `end` is where the last intact record ends: bytes after it are a torn
    /// tail (a header or record that runs past the end of the file, or a last record whose checksum fails). Damage
    /// before the last record, or a length above `recordBytesMax`, is `corruption`. Pure, so it is fuzzed directly
    /// (Tests/Fuzz, target `wal`).
    public static func scan(_ bytes: [UInt8], path: String = "log") throws(StorageError) -> (records: [[UInt8]], end: Int) {
        var records: [[UInt8]] = []
        var offset = 0
        while offset < bytes.count {
            let remaining = bytes.count - offset
            guard remaining >= headerBytes else { break }  // a torn header: the tail
            let length = Int(readU32(bytes, offset))
            let crc = readU32(bytes, offset + 4)
            guard length <= recordBytesMax else {
                throw StorageError(.corruption, "\(path): record at byte \(offset) claims \(length) bytes")
            }
            let end = offset + headerBytes + length
            guard end <= bytes.count else { break }  // runs past the end: torn
            let payload = Array(bytes[(offset + headerBytes)..<end])
            guard CRC32C.checksum(payload) == crc else {
                if end == bytes.count { break }  // the last record, torn
                throw StorageError(.corruption, "\(path): record at byte \(offset) fails its checksum, with records after it")
            }
            records.append(payload)
            offset = end
        }
        return (records, offset)
    }

    static func readU32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
    }

    /// Appends one record; with `sync`, it is on disk when this returns.
    public func append(_ payload: [UInt8], sync: Bool = true) throws {
        guard payload.count <= Self.recordBytesMax else {
            throw StorageError(.invalidArgument, "a WAL record of \(payload.count) bytes is over \(Self.recordBytesMax)")
        }
        var frame: [UInt8] = []
        frame.reserveCapacity(Self.headerBytes + payload.count)
        for value in [UInt32(payload.count), CRC32C.checksum(payload)] {
            for shift in stride(from: 0, to: 32, by: 8) { frame.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
        }
        frame += payload
        do {
            try writeFully(fd, frame, path: path)
        } catch {
            // Cut a partly written frame, so that later records do not follow damage (best effort: if this fails
            // too, the next open finds the damage and refuses, which is the safe way to fail).
            _ = ftruncate(fd, off_t(size))
            _ = lseek(fd, off_t(size), SEEK_SET)
            throw error
        }
        if sync, fsync(fd) != 0 { throw StorageError(.ioError, "fsync \(path): \(String(cString: strerror(errno)))") }
        size += frame.count
    }

    /// Empties the log (when what it recorded is no longer needed, such as a committed height's inputs); with
    /// `sync`, durably.
    public func reset(sync: Bool = true) throws {
        guard ftruncate(fd, 0) == 0, lseek(fd, 0, SEEK_SET) >= 0, !sync || fsync(fd) == 0 else {
            throw StorageError(.ioError, "resetting \(path): \(String(cString: strerror(errno)))")
        }
        size = 0
        records = []
    }
}
