import CSecp256k1
import Synchronization

/// Parsed x-only keys by their 32 bytes, so a signer seen again is not parsed again: parsing (a square root on
/// secp256k1) costs about a fifth of a verification, and every transaction carries its signer's key.
///
/// Only keys that parsed are kept, and the parse is a pure function of the bytes, so a hit gives exactly what parsing
/// would. Bounded: when full, it starts over empty (a few milliseconds of re-parsing, no per-entry bookkeeping).
enum ParsedKeyCache {
    static let capacity = 65_536

    struct Key: Hashable {
        let a: UInt64, b: UInt64, c: UInt64, d: UInt64

        init?(_ bytes: [UInt8]) {
            guard bytes.count == 32 else { return nil }
            (a, b, c, d) = bytes.withUnsafeBytes {
                ($0.loadUnaligned(fromByteOffset: 0, as: UInt64.self), $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
                 $0.loadUnaligned(fromByteOffset: 16, as: UInt64.self), $0.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
            }
        }
    }

    private static let entries = Mutex<[Key: secp256k1_xonly_pubkey]>([:])

    /// The parsed key for 32 bytes, or nil if they are not the x coordinate of a point on secp256k1.
    static func parse(_ bytes: [UInt8]) -> secp256k1_xonly_pubkey? {
        guard let key = Key(bytes) else { return nil }
        if let parsed = entries.withLock({ $0[key] }) { return parsed }
        var parsed = secp256k1_xonly_pubkey()
        guard secp256k1_xonly_pubkey_parse(Secp256k1Context.shared.pointer, &parsed, bytes) == 1 else { return nil }
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = parsed
        }
        return parsed
    }

    static var count: Int { entries.withLock { $0.count } }
}
