import KeyValue

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small file replaced atomically and durably: `save` writes a temporary file beside it, fsyncs it, renames it
/// over the old one and fsyncs the directory, so after a crash the file holds either the old bytes or the new ones,
/// never a mix. The consensus safety rules keep their last signed position in one (Docs/consensus.md).
public struct AtomicFile: Sendable {
    public let path: String
    /// Files larger than this are refused when loading (a record here is a few hundred bytes).
    public static let sizeMax = 1 << 20

    public init(path: String) { self.path = path }

    /// The bytes, or nil if the file does not exist.
    public func load() throws -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw StorageError(.ioError, "open \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4_096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw StorageError(.ioError, "read \(path): \(String(cString: strerror(errno)))")
            }
            if n == 0 { return bytes }
            bytes += chunk[..<n]
            guard bytes.count <= Self.sizeMax else { throw StorageError(.corruption, "\(path) is over \(Self.sizeMax) bytes") }
        }
    }

    /// Replaces the file's contents with `bytes`, durably.
    public func save(_ bytes: [UInt8]) throws {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StorageError(.ioError, "create \(temporary): \(String(cString: strerror(errno)))") }
        do {
            try writeFully(fd, bytes, path: temporary)
        } catch {
            close(fd)
            throw error
        }
        guard fsync(fd) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw StorageError(.ioError, "fsync \(temporary): \(reason)")
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            throw StorageError(.ioError, "rename to \(path): \(String(cString: strerror(errno)))")
        }
        try Self.syncDirectory(of: path)
    }

    /// Fsyncs the directory holding `path`, so a rename or a new file in it survives a crash.
    public static func syncDirectory(of path: String) throws {
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let fd = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StorageError(.ioError, "open \(directory): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw StorageError(.ioError, "fsync \(directory): \(String(cString: strerror(errno)))") }
    }
}

/// Writes all of `bytes` to `fd`, retrying short writes and interruptions.
func writeFully(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
    var written = 0
    while written < bytes.count {
        let n = bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return 0 }
            return write(fd, base + written, buffer.count - written)
        }
        if n < 0 {
            if errno == EINTR { continue }
            throw StorageError(.ioError, "write \(path): \(String(cString: strerror(errno)))")
        }
        written += n
    }
}
