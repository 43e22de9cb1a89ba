import CLevelDB
import KeyValue
import Synchronization

/// A `KeyValueStore` on LevelDB through its C API.
///
/// Every C handle (database, options, cache, filter policy, iterators, snapshots, batches, error strings) is freed
/// on every path. The store is safe to share across threads: LevelDB is internally synchronized, and a read-write
/// lock keeps `close()` from freeing the database while an operation uses it. Operations after `close()` throw
/// `StorageError.closed`.
public final class LevelDBStore: KeyValueStore, @unchecked Sendable {
    /// How the database is opened.
    public struct Options: Sendable {
        public var createIfMissing = true
        public var errorIfExists = false
        /// Check every read aggressively and fail on any corruption instead of skipping it.
        public var paranoidChecks = false
        public var blockCacheBytes = 64 << 20
        public var writeBufferBytes = 16 << 20
        public var maxOpenFiles = 500
        /// Bits per key of the Bloom filter; 0 disables it.
        public var bloomFilterBitsPerKey = 10
        public var snappyCompression = true
        /// Target size of a table file (LevelDB's default, 2 MiB, when nil).
        public var maxFileBytes: Int?
        public init() {}

        /// For the blob store: values are 1 MiB chunks of ciphertext. No compression (ciphertext does not compress;
        /// trying costs a pass over every byte), and a small table cache: LevelDB maps each table it keeps open, and
        /// the pages a compaction reads stay counted in the node's resident memory until the table is closed, so
        /// 64 open tables (LevelDB's minimum) bound that; opening a table costs an index read, nothing next to a
        /// 1 MiB value. Blocks read through the maps are not copied into the block cache, which stays small.
        public static var blobs: Options {
            var options = Options()
            options.snappyCompression = false
            options.maxOpenFiles = 74
            options.blockCacheBytes = 8 << 20
            options.writeBufferBytes = 8 << 20
            options.maxFileBytes = 1 << 20
            return options
        }
    }

    public let path: String
    private let lock = ReadWriteLock()
    // Guarded by `lock`: read-locked to use, write-locked to close.
    nonisolated(unsafe) private var handle: Handle?
    // Guarded by `lock` (write-locked to change): snapshots not yet released, so `close()` can release them first.
    nonisolated(unsafe) private var liveSnapshots: [ObjectIdentifier: OpaquePointer] = [:]

    /// Opens (by default creating) the database in directory `path`.
    public init(path: String, options: Options = Options()) throws(StorageError) {
        self.path = path
        handle = try Handle(path: path, options: options)
    }

    /// Closes the database and releases its files, so it can be reopened at once. Snapshots still held become
    /// unusable (their reads throw `closed`).
    public func close() {
        lock.withWriteLock {
            if let handle {
                for snapshot in liveSnapshots.values { leveldb_release_snapshot(handle.db, snapshot) }
            }
            liveSnapshots = [:]
            handle = nil
        }
    }

    deinit { close() }

    public var isClosed: Bool { lock.withReadLock { handle == nil } }

    fileprivate func withHandle<R>(_ body: (Handle) throws(StorageError) -> R) throws(StorageError) -> R {
        lock.lockRead()
        defer { lock.unlock() }
        guard let handle else { throw StorageError(.closed, "LevelDB at \(path) is closed") }
        return try body(handle)
    }

    public func get(_ key: [UInt8]) throws(StorageError) -> [UInt8]? {
        try withHandle { (h: Handle) throws(StorageError) in try h.get(key, readOptions: h.readOptions) }
    }

    public func withValue<R>(_ key: [UInt8], _ body: (UnsafeRawBufferPointer) -> R) throws(StorageError) -> R? {
        try withHandle { (h: Handle) throws(StorageError) in try h.withValue(key, readOptions: h.readOptions, body) }
    }

    public func forEach(
        prefix: [UInt8], start: [UInt8]?, _ body: (KeyValueEntry) throws(StorageError) -> Bool
    ) throws(StorageError) {
        try withHandle { (h: Handle) throws(StorageError) in
            try h.forEach(prefix: prefix, start: start, readOptions: h.readOptions, body)
        }
    }

    public func write(_ batch: WriteBatch, sync: Bool) throws(StorageError) {
        try withHandle { (h: Handle) throws(StorageError) in try h.write(batch, sync: sync) }
    }

    public func snapshot() throws(StorageError) -> any KeyValueReader {
        lock.lockWrite()
        defer { lock.unlock() }
        guard let handle else { throw StorageError(.closed, "LevelDB at \(path) is closed") }
        let snapshot = LevelDBSnapshot(store: self, snapshot: leveldb_create_snapshot(handle.db))
        liveSnapshots[ObjectIdentifier(snapshot)] = snapshot.snapshot
        return snapshot
    }

    /// Called by a snapshot when it is released: frees it unless `close()` already did.
    fileprivate func release(_ snapshot: LevelDBSnapshot) {
        lock.withWriteLock {
            guard let pointer = liveSnapshots.removeValue(forKey: ObjectIdentifier(snapshot)), let handle else { return }
            leveldb_release_snapshot(handle.db, pointer)
        }
    }

    /// A LevelDB property such as `leveldb.stats` or `leveldb.approximate-memory-usage`, or nil if unknown.
    public func property(_ name: String) throws(StorageError) -> String? {
        try withHandle { h in
            guard let value = leveldb_property_value(h.db, name) else { return nil }
            defer { leveldb_free(value) }
            return String(cString: value)
        }
    }

    /// Compacts the whole key range (reclaims space after deletions; used by operations and benchmarks).
    public func compact() throws(StorageError) {
        try withHandle { h in leveldb_compact_range(h.db, nil, 0, nil, 0) }
    }

    /// Removes the database's files. The database must not be open.
    public static func destroy(path: String) throws(StorageError) {
        let options = leveldb_options_create()
        defer { leveldb_options_destroy(options) }
        var error: UnsafeMutablePointer<CChar>? = nil
        leveldb_destroy_db(options, path, &error)
        try check(error)
    }
}

/// The C handles of one open database, released together when the store closes.
final class Handle: @unchecked Sendable {
    let db: OpaquePointer
    private let options: OpaquePointer
    private let cache: OpaquePointer?
    private let filter: OpaquePointer?
    let readOptions: OpaquePointer
    private let syncWrite: OpaquePointer
    private let asyncWrite: OpaquePointer

    init(path: String, options settings: LevelDBStore.Options) throws(StorageError) {
        let options: OpaquePointer = leveldb_options_create()
        leveldb_options_set_create_if_missing(options, settings.createIfMissing ? 1 : 0)
        leveldb_options_set_error_if_exists(options, settings.errorIfExists ? 1 : 0)
        leveldb_options_set_paranoid_checks(options, settings.paranoidChecks ? 1 : 0)
        leveldb_options_set_write_buffer_size(options, settings.writeBufferBytes)
        leveldb_options_set_max_open_files(options, Int32(clamping: settings.maxOpenFiles))
        if let bytes = settings.maxFileBytes { leveldb_options_set_max_file_size(options, bytes) }
        leveldb_options_set_compression(
            options, Int32(settings.snappyCompression ? leveldb_snappy_compression : leveldb_no_compression)
        )
        let cache = settings.blockCacheBytes > 0 ? leveldb_cache_create_lru(settings.blockCacheBytes) : nil
        if let cache { leveldb_options_set_cache(options, cache) }
        let filter = settings.bloomFilterBitsPerKey > 0
            ? leveldb_filterpolicy_create_bloom(Int32(clamping: settings.bloomFilterBitsPerKey)) : nil
        if let filter { leveldb_options_set_filter_policy(options, filter) }

        var error: UnsafeMutablePointer<CChar>? = nil
        let db = leveldb_open(options, path, &error)
        do throws(StorageError) {
            try check(error)
            guard let db else { throw StorageError(.unknown, "leveldb_open returned no handle for \(path)") }
            self.db = db
        } catch {
            leveldb_options_destroy(options)
            if let cache { leveldb_cache_destroy(cache) }
            if let filter { leveldb_filterpolicy_destroy(filter) }
            throw error
        }
        self.options = options
        self.cache = cache
        self.filter = filter
        readOptions = leveldb_readoptions_create()
        syncWrite = leveldb_writeoptions_create()
        leveldb_writeoptions_set_sync(syncWrite, 1)
        asyncWrite = leveldb_writeoptions_create()
        leveldb_writeoptions_set_sync(asyncWrite, 0)
    }

    deinit {
        leveldb_close(db)
        leveldb_readoptions_destroy(readOptions)
        leveldb_writeoptions_destroy(syncWrite)
        leveldb_writeoptions_destroy(asyncWrite)
        leveldb_options_destroy(options)
        if let cache { leveldb_cache_destroy(cache) }
        if let filter { leveldb_filterpolicy_destroy(filter) }
    }

    func get(_ key: [UInt8], readOptions: OpaquePointer) throws(StorageError) -> [UInt8]? {
        var length = 0
        var error: UnsafeMutablePointer<CChar>? = nil
        let value = key.withCBytes { pointer, count in
            leveldb_get(db, readOptions, pointer, count, &length, &error)
        }
        try check(error)
        guard let value else { return nil }
        defer { leveldb_free(value) }
        return Array(UnsafeRawBufferPointer(start: value, count: length))
    }

    /// `get` lending LevelDB's own copy of the value to `body`.
    func withValue<R>(_ key: [UInt8], readOptions: OpaquePointer, _ body: (UnsafeRawBufferPointer) -> R) throws(StorageError) -> R? {
        var length = 0
        var error: UnsafeMutablePointer<CChar>? = nil
        let value = key.withCBytes { pointer, count in
            leveldb_get(db, readOptions, pointer, count, &length, &error)
        }
        try check(error)
        guard let value else { return nil }
        defer { leveldb_free(value) }
        return body(UnsafeRawBufferPointer(start: value, count: length))
    }

    func forEach(
        prefix: [UInt8], start: [UInt8]?, readOptions: OpaquePointer,
        _ body: (KeyValueEntry) throws(StorageError) -> Bool
    ) throws(StorageError) {
        guard let iterator = leveldb_create_iterator(db, readOptions) else {
            throw StorageError(.unknown, "leveldb_create_iterator returned no handle")
        }
        defer { leveldb_iter_destroy(iterator) }
        let seekKey = start.map { $0.lexicographicallyPrecedes(prefix) ? prefix : $0 } ?? prefix
        seekKey.withCBytes { pointer, count in leveldb_iter_seek(iterator, pointer, count) }
        while leveldb_iter_valid(iterator) != 0 {
            var keyLength = 0
            var valueLength = 0
            guard let keyPointer = leveldb_iter_key(iterator, &keyLength) else { break }
            let key = UnsafeRawBufferPointer(start: keyPointer, count: keyLength)
            guard key.starts(with: prefix) else { break }
            let valuePointer = leveldb_iter_value(iterator, &valueLength)
            let entry = KeyValueEntry(
                key: Array(key), value: Array(UnsafeRawBufferPointer(start: valuePointer, count: valueLength))
            )
            guard try body(entry) else { break }
            leveldb_iter_next(iterator)
        }
        var error: UnsafeMutablePointer<CChar>? = nil
        leveldb_iter_get_error(iterator, &error)
        try check(error)
    }

    func write(_ batch: WriteBatch, sync: Bool) throws(StorageError) {
        guard let cBatch = leveldb_writebatch_create() else {
            throw StorageError(.unknown, "leveldb_writebatch_create returned no handle")
        }
        defer { leveldb_writebatch_destroy(cBatch) }
        for operation in batch.operations {
            switch operation {
            case .put(let key, let value):
                key.withCBytes { k, kc in value.withCBytes { v, vc in leveldb_writebatch_put(cBatch, k, kc, v, vc) } }
            case .delete(let key):
                key.withCBytes { k, kc in leveldb_writebatch_delete(cBatch, k, kc) }
            }
        }
        var error: UnsafeMutablePointer<CChar>? = nil
        leveldb_write(db, sync ? syncWrite : asyncWrite, cBatch, &error)
        try check(error)
    }
}

/// A LevelDB snapshot: reads see the database as it was when the snapshot was taken.
final class LevelDBSnapshot: KeyValueReader, @unchecked Sendable {
    private let store: LevelDBStore
    let snapshot: OpaquePointer
    private let readOptions: OpaquePointer

    init(store: LevelDBStore, snapshot: OpaquePointer) {
        self.store = store
        self.snapshot = snapshot
        readOptions = leveldb_readoptions_create()
        leveldb_readoptions_set_snapshot(readOptions, snapshot)
    }

    deinit {
        store.release(self)
        leveldb_readoptions_destroy(readOptions)
    }

    func get(_ key: [UInt8]) throws(StorageError) -> [UInt8]? {
        try store.withHandle { (h: Handle) throws(StorageError) in try h.get(key, readOptions: readOptions) }
    }

    func forEach(
        prefix: [UInt8], start: [UInt8]?, _ body: (KeyValueEntry) throws(StorageError) -> Bool
    ) throws(StorageError) {
        try store.withHandle { (h: Handle) throws(StorageError) in
            try h.forEach(prefix: prefix, start: start, readOptions: readOptions, body)
        }
    }
}

/// Turns a LevelDB error string (which the caller must free) into a typed error; nil means success.
func check(_ error: UnsafeMutablePointer<CChar>?) throws(StorageError) {
    guard let error else { return }
    let message = String(cString: error)
    leveldb_free(error)
    throw StorageError(code(for: message), message)
}

/// LevelDB's C API reports `Status::ToString()`: a fixed prefix names the status code.
func code(for message: String) -> StorageError.Code {
    let prefixes: [(String, StorageError.Code)] = [
        ("NotFound: ", .notFound), ("Corruption: ", .corruption), ("Not implemented: ", .notSupported),
        ("Invalid argument: ", .invalidArgument), ("IO error: ", .ioError),
    ]
    return prefixes.first { message.hasPrefix($0.0) }?.1 ?? .unknown
}

extension Array where Element == UInt8 {
    /// Passes the bytes as the `(const char*, size_t)` pair LevelDB expects; an empty array passes a valid pointer.
    func withCBytes<R>(_ body: (UnsafePointer<CChar>, Int) -> R) -> R {
        withUnsafeBytes { raw in
            if let base = raw.baseAddress { return body(base.assumingMemoryBound(to: CChar.self), raw.count) }
            var zero: CChar = 0
            return body(&zero, 0)
        }
    }
}
