/// A 32-byte digest (SHA3-256 throughout TwinLedger), held inline without a heap allocation.
///
/// Its canonical encoding is the 32 bytes with no length prefix; its text form is 64 lower-case hex digits.
public struct Hash32: Hashable, Sendable, Comparable, CustomStringConvertible, CanonicalCodable {
    // Four words in memory order: the bytes are exactly the digest's bytes.
    @usableFromInline var words: (UInt64, UInt64, UInt64, UInt64)

    /// The all-zero hash, used where a header has no predecessor.
    public static let zero = Hash32(words: (0, 0, 0, 0))

    @usableFromInline init(words: (UInt64, UInt64, UInt64, UInt64)) { self.words = words }

    /// A hash from exactly 32 bytes, or nil for any other length. Contiguous inputs (arrays, slices) are copied
    /// with one memcpy; this is on the state tree's hot path.
    @inlinable
    public init?<C: Collection>(bytes: C) where C.Element == UInt8 {
        guard bytes.count == 32 else { return nil }
        var value: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        let copied: Void? = bytes.withContiguousStorageIfAvailable { source in
            Swift.withUnsafeMutableBytes(of: &value) { $0.copyMemory(from: UnsafeRawBufferPointer(source)) }
        }
        if copied == nil {
            Swift.withUnsafeMutableBytes(of: &value) { raw in
                var index = 0
                for byte in bytes {
                    raw[index] = byte
                    index += 1
                }
            }
        }
        words = value
    }

    /// The hash whose 32 bytes start at `pointer`.
    @inlinable
    public init(copying pointer: UnsafeRawPointer) {
        var value: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        Swift.withUnsafeMutableBytes(of: &value) { $0.copyMemory(from: UnsafeRawBufferPointer(start: pointer, count: 32)) }
        words = value
    }

    /// Fills the 32 bytes through a raw buffer (for hash functions writing in place).
    @inlinable
    public init(unsafeUninitializedBytes body: (UnsafeMutableRawBufferPointer) -> Void) {
        words = (0, 0, 0, 0)
        Swift.withUnsafeMutableBytes(of: &words) { body($0) }
    }

    /// A hash from its 64-digit hex form.
    public init?(hex: some StringProtocol) {
        guard let bytes = Hex.decode(hex) else { return nil }
        self.init(bytes: bytes)
    }

    @inlinable
    public var bytes: [UInt8] { Swift.withUnsafeBytes(of: words) { Array($0) } }

    @inlinable
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: words, body)
    }

    @inlinable
    public mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeMutableBytes(of: &words, body)
    }

    /// Bit `index` of the 256, counting from the most significant bit of the first byte.
    @inlinable
    public func bit(_ index: Int) -> Bool {
        precondition(index >= 0 && index < 256, "bit index out of range")
        return withUnsafeBytes { ($0[index >> 3] >> (7 - UInt8(truncatingIfNeeded: index & 7))) & 1 == 1 }
    }

    /// Base-4 digit `index` of the 128: bits 2·index and 2·index+1 (numbered as in `bit(_:)`), the first the high one.
    @inlinable
    public func digit(_ index: Int) -> Int {
        precondition(index >= 0 && index < 128, "digit index out of range")
        return withUnsafeBytes { Int(($0[index >> 2] >> (6 - 2 * UInt8(truncatingIfNeeded: index & 3))) & 3) }
    }

    /// This hash with bit `index` (numbered as in `bit(_:)`) set.
    @inlinable
    public func settingBit(_ index: Int) -> Hash32 {
        precondition(index >= 0 && index < 256, "bit index out of range")
        var copy = self
        copy.withUnsafeMutableBytes { $0[index >> 3] |= 0x80 >> UInt8(truncatingIfNeeded: index & 7) }
        return copy
    }

    public var hex: String { Hex.encode(bytes) }
    public var description: String { hex }

    @inlinable
    public static func == (a: Hash32, b: Hash32) -> Bool {
        a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2 && a.words.3 == b.words.3
    }

    @inlinable
    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }

    /// Byte-wise order, the order LevelDB keys and Merkle leaves sort in.
    @inlinable
    public static func < (a: Hash32, b: Hash32) -> Bool {
        // Byte order equals numeric order of the big-endian words.
        let x = (UInt64(bigEndian: a.words.0), UInt64(bigEndian: a.words.1), UInt64(bigEndian: a.words.2), UInt64(bigEndian: a.words.3))
        let y = (UInt64(bigEndian: b.words.0), UInt64(bigEndian: b.words.1), UInt64(bigEndian: b.words.2), UInt64(bigEndian: b.words.3))
        return x < y
    }

    public func encode(to writer: inout CanonicalWriter) {
        withUnsafeBytes { writer.write(fixed: $0) }
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        let bytes = try reader.readFixed(32)
        self.init(unsafeUninitializedBytes: { $0.copyBytes(from: bytes) })
    }
}
