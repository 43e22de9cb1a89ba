/// A 32-byte digest (SHA3-256 throughout TwinLedger), held inline without a heap allocation.
///
/// Its canonical encoding is the 32 bytes with no length prefix; its text form is 64 lower-case hex digits.
public struct Hash32: Hashable, Sendable, Comparable, CustomStringConvertible, CanonicalCodable {
    // Four words in memory order: the bytes are exactly the digest's bytes.
    private var words: (UInt64, UInt64, UInt64, UInt64)

    /// The all-zero hash, used where a header has no predecessor.
    public static let zero = Hash32(words: (0, 0, 0, 0))

    private init(words: (UInt64, UInt64, UInt64, UInt64)) { self.words = words }

    /// A hash from exactly 32 bytes, or nil for any other length.
    public init?<C: Collection>(bytes: C) where C.Element == UInt8 {
        guard bytes.count == 32 else { return nil }
        words = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &words) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
    }

    /// Fills the 32 bytes through a raw buffer (for hash functions writing in place).
    public init(unsafeUninitializedBytes body: (UnsafeMutableRawBufferPointer) -> Void) {
        words = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &words) { body($0) }
    }

    /// A hash from its 64-digit hex form.
    public init?(hex: some StringProtocol) {
        guard let bytes = Hex.decode(hex) else { return nil }
        self.init(bytes: bytes)
    }

    public var bytes: [UInt8] { Swift.withUnsafeBytes(of: words) { Array($0) } }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: words, body)
    }

    public var hex: String { Hex.encode(bytes) }
    public var description: String { hex }

    public static func == (a: Hash32, b: Hash32) -> Bool {
        a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2 && a.words.3 == b.words.3
    }

    public func hash(into hasher: inout Hasher) {
        withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    /// Byte-wise order, the order LevelDB keys and Merkle leaves sort in.
    public static func < (a: Hash32, b: Hash32) -> Bool {
        a.withUnsafeBytes { x in b.withUnsafeBytes { y in x.lexicographicallyPrecedes(y) } }
    }

    public func encode(to writer: inout CanonicalWriter) {
        withUnsafeBytes { writer.write(fixed: $0) }
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        let bytes = try reader.readFixed(32)
        self.init(unsafeUninitializedBytes: { $0.copyBytes(from: bytes) })
    }
}
