import CodedErrors
import Encoding
import Foundation
import KeyValue
import TwinCrypto

/// Content-addressed blobs (Docs/shadows.md, "Blob store"): each blob is stored under the SHA3-256 of its bytes, its
/// address, in a LevelDB of its own, apart from the ledger's.
///
/// A blob is stored whole or not at all (one LevelDB write), so a crash never leaves half of one. Every read hashes
/// what it is about to return; a blob whose bytes no longer match its address (a damaged disk) is never served: it is
/// moved aside to quarantine, in the same atomic write that removes it, and the read fails with `corrupted`, so the
/// caller can fetch it again from a peer. The store holds bytes only; what a blob means (a chunk, a manifest, an
/// envelope) and who may read it is the shadow layer's and the ledger's business.
///
/// Keys: `0x01 ‖ address` for blobs, `0x02 ‖ address` for quarantined bytes, `0x03 ‖ patient` for quota usage,
/// `0x20 ‖ id` for notes (erasure receipts); the access log uses `0x10`–`0x13` of the same database.
public final class BlobStore: Sendable {
    /// The largest blob: a 1 MiB chunk with room for the AES-GCM nonce and tag around it.
    public static let blobBytesMax = (1 << 20) + 1_024

    let store: any KeyValueStore
    /// Orders the read-modify-write of usage counters (uploads finish on several threads).
    let usageLock = NSLock()

    static let blobPrefix: UInt8 = 0x01
    static let quarantinePrefix: UInt8 = 0x02
    static let usagePrefix: UInt8 = 0x03
    static let notePrefix: UInt8 = 0x20

    /// Blobs in `store`, which should hold nothing else (a node opens its own LevelDB for them).
    public init(store: any KeyValueStore) {
        self.store = store
    }

    static func key(_ prefix: UInt8, _ address: Hash32) -> [UInt8] { [prefix] + address.bytes }

    /// Stores `bytes` and returns their address. With `expected`, bytes that hash to another address are refused
    /// (`address_mismatch`) and nothing is written. Storing a blob already present writes nothing. With `sync`, the
    /// blob is on stable storage before this returns (a synced write also makes every earlier unsynced one durable).
    @discardableResult
    /// With `usage`, `usage.bytes` are added to `usage.owner`'s usage in the same write (an upload's manifest and its
    /// quota bookkeeping land together).
    public func put(_ bytes: [UInt8], expected: Hash32? = nil, sync: Bool = false,
                    usage: (owner: Hash32, bytes: UInt64)? = nil) throws(BlobError) -> Hash32 {
        guard bytes.count <= Self.blobBytesMax else {
            throw BlobError(.tooLarge, "a blob of \(bytes.count) bytes (at most \(Self.blobBytesMax))")
        }
        let address = Hashing.sha3(bytes)
        if let expected, expected != address {
            throw BlobError(.addressMismatch, "the bytes hash to \(address.hex), not to \(expected.hex)")
        }
        var batch = WriteBatch()
        if usage != nil { usageLock.lock() }
        defer { if usage != nil { usageLock.unlock() } }
        if let usage {
            let total = try self.usage(usage.owner).addingReportingOverflow(usage.bytes)
            batch.put(Self.key(Self.usagePrefix, usage.owner), Canonical.encode(total.overflow ? UInt64.max : total.partialValue))
        }
        do {
            if try store.withValue(Self.key(Self.blobPrefix, address), { _ in true }) == nil {
                // A good copy of a quarantined blob repairs it: the damaged bytes go in the same write.
                batch.put(Self.key(Self.blobPrefix, address), bytes)
                batch.delete(Self.key(Self.quarantinePrefix, address))
            }
            if !batch.operations.isEmpty { try store.write(batch, sync: sync) }
        } catch {
            throw BlobError(.storage, "\(error)")
        }
        return address
    }

    /// The blob at `address`, checked against it; nil if absent. A blob whose bytes do not hash to its address is
    /// quarantined and reported as `corrupted` (it is then absent).
    public func get(_ address: Hash32) throws(BlobError) -> [UInt8]? {
        try withBlob(address) { Array($0) }
    }

    /// Calls `body` with the blob at `address` (the bytes are valid only inside it), checked against the address
    /// first; nil if absent. The store lends its own copy, so serving a chunk copies it once, into the response.
    /// A blob whose bytes do not hash to its address is quarantined and reported as `corrupted`; `body` never sees it.
    public func withBlob<R>(_ address: Hash32, _ body: (UnsafeRawBufferPointer) -> R) throws(BlobError) -> R? {
        let key = Self.key(Self.blobPrefix, address)
        // Either what `body` made of good bytes, or a copy of damaged ones (to quarantine).
        let outcome: (good: R?, damaged: [UInt8]?)?
        do {
            outcome = try store.withValue(key) { (bytes: UnsafeRawBufferPointer) -> (good: R?, damaged: [UInt8]?) in
                if Hashing.sha3(bytes) == address { return (body(bytes), nil) }
                return (nil, Array(bytes))
            }
        } catch {
            throw BlobError(.storage, "\(error)")
        }
        guard let outcome else { return nil }
        if let good = outcome.good { return good }
        var batch = WriteBatch()
        batch.delete(key)
        batch.put(Self.key(Self.quarantinePrefix, address), outcome.damaged ?? [])
        do { try store.write(batch, sync: true) } catch { throw BlobError(.storage, "\(error)") }
        throw BlobError(.corrupted, "blob \(address.hex) does not match its address; quarantined")
    }

    /// Whether a blob is stored at `address` (its bytes are checked when it is read, not here).
    public func contains(_ address: Hash32) throws(BlobError) -> Bool {
        do { return try store.get(Self.key(Self.blobPrefix, address)) != nil } catch {
            throw BlobError(.storage, "\(error)")
        }
    }

    /// Of `addresses`, those not stored here, in the order given.
    public func missing(_ addresses: [Hash32]) throws(BlobError) -> [Hash32] {
        var result: [Hash32] = []
        for address in addresses where try !contains(address) { result.append(address) }
        return result
    }

    /// Deletes the blobs at `addresses` (and any quarantined copies) in one synced write; absent ones are ignored.
    public func delete(_ addresses: [Hash32]) throws(BlobError) {
        var batch = WriteBatch()
        for address in addresses {
            batch.delete(Self.key(Self.blobPrefix, address))
            batch.delete(Self.key(Self.quarantinePrefix, address))
        }
        do { try store.write(batch, sync: true) } catch { throw BlobError(.storage, "\(error)") }
    }

    /// The addresses whose bytes were found damaged and set aside, in address order.
    public func quarantined(limit: Int = 10_000) throws(BlobError) -> [Hash32] {
        do {
            return try store.scan(prefix: [Self.quarantinePrefix], limit: limit).compactMap { Hash32(bytes: Array($0.key.dropFirst())) }
        } catch {
            throw BlobError(.storage, "\(error)")
        }
    }

    /// Bytes of payload accepted for `owner` (a patient id), for quotas: `0x03 ‖ owner` holds the count.
    public func usage(_ owner: Hash32) throws(BlobError) -> UInt64 {
        let bytes: [UInt8]?
        do { bytes = try store.get(Self.key(Self.usagePrefix, owner)) } catch { throw BlobError(.storage, "\(error)") }
        guard let bytes else { return 0 }
        do { return try Canonical.decode(UInt64.self, from: bytes) } catch {
            throw BlobError(.storage, "the usage record of \(owner.hex) does not decode")
        }
    }

    /// Adds `bytes` to `owner`'s usage (synced). The caller serializes calls for one owner.
    public func addUsage(_ owner: Hash32, _ bytes: UInt64) throws(BlobError) {
        usageLock.lock()
        defer { usageLock.unlock() }
        let total = try usage(owner).addingReportingOverflow(bytes)
        do { try store.put(Self.key(Self.usagePrefix, owner), Canonical.encode(total.overflow ? UInt64.max : total.partialValue), sync: true) } catch {
            throw BlobError(.storage, "\(error)")
        }
    }

    /// A small record kept beside the blobs under `0x20 ‖ id` (erasure receipts).
    public func note(_ id: Hash32) throws(BlobError) -> [UInt8]? {
        do { return try store.get(Self.key(Self.notePrefix, id)) } catch { throw BlobError(.storage, "\(error)") }
    }

    public func setNote(_ id: Hash32, _ bytes: [UInt8]) throws(BlobError) {
        do { try store.put(Self.key(Self.notePrefix, id), bytes, sync: true) } catch { throw BlobError(.storage, "\(error)") }
    }

    /// How many blobs are stored (a scan: for tests and diagnosis, not for a hot path).
    public func count() throws(BlobError) -> Int {
        var count = 0
        do {
            try store.forEach(prefix: [Self.blobPrefix], start: nil) { _ in
                count += 1
                return true
            }
        } catch {
            throw BlobError(.storage, "\(error)")
        }
        return count
    }
}

/// Why a blob operation failed.
public typealias BlobError = CodedError<BlobErrors>

/// The family of `BlobError`.
public enum BlobErrors: ErrorDomain {
    public static let prefix = "blob "
}

extension CodedError<BlobErrors>.Code {
    /// The bytes do not hash to the address they were offered under.
    public static let addressMismatch = Self(rawValue: "address_mismatch")
    /// A blob above `BlobStore.blobBytesMax`.
    public static let tooLarge = Self(rawValue: "too_large")
    /// Stored bytes no longer match their address; they were quarantined.
    public static let corrupted = Self(rawValue: "corrupted")
    /// The underlying store failed.
    public static let storage = Self(rawValue: "storage")
}
