/// Appends values in TwinLedger's canonical binary encoding (specified in Docs/encoding.md).
///
/// There is exactly one encoding of every value: integers are minimal LEB128 varints, lengths and counts
/// precede their contents, fields follow their declaration order, map entries are sorted by their encoded keys.
public struct CanonicalWriter: Sendable {
    @usableFromInline var storage: [UInt8]

    /// Everything written so far.
    public var bytes: [UInt8] { storage }

    public init(capacity: Int = 64) {
        storage = []
        storage.reserveCapacity(capacity)
    }

    /// An unsigned integer as a minimal unsigned LEB128 varint (1 to 10 bytes).
    @inlinable
    public mutating func write(uint value: UInt64) {
        var v = value
        while v >= 0x80 {
            storage.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        storage.append(UInt8(v))
    }

    /// A signed integer, zigzag-mapped to unsigned (0, -1, 1, -2, … → 0, 1, 2, 3, …) then as a varint.
    @inlinable
    public mutating func write(int value: Int64) {
        write(uint: UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    /// A boolean as one byte, 0x00 or 0x01.
    @inlinable
    public mutating func write(bool value: Bool) {
        storage.append(value ? 1 : 0)
    }

    /// A variable-length byte string: its length as a varint, then the bytes.
    @inlinable
    public mutating func write<C: Collection>(bytes value: C) where C.Element == UInt8 {
        write(uint: UInt64(value.count))
        storage.append(contentsOf: value)
    }

    /// A fixed-length byte string whose length the schema fixes (a hash, a key): the bytes alone.
    @inlinable
    public mutating func write<C: Collection>(fixed value: C) where C.Element == UInt8 {
        storage.append(contentsOf: value)
    }

    /// A text string: its UTF-8 length as a varint, then the UTF-8 bytes.
    @inlinable
    public mutating func write(string value: String) {
        var copy = value
        copy.withUTF8 { write(bytes: $0) }
    }

    /// A value that knows its own canonical encoding.
    @inlinable
    public mutating func write<T: CanonicalEncodable>(_ value: T) {
        value.encode(to: &self)
    }

    /// An optional: 0x00 when absent, 0x01 followed by the value when present.
    @inlinable
    public mutating func write<T>(optional value: T?, _ body: (inout CanonicalWriter, T) -> Void) {
        if let value {
            storage.append(1)
            body(&self, value)
        } else {
            storage.append(0)
        }
    }

    /// An optional encodable value.
    @inlinable
    public mutating func write<T: CanonicalEncodable>(optional value: T?) {
        write(optional: value) { w, v in v.encode(to: &w) }
    }

    /// A list: the element count as a varint, then each element.
    @inlinable
    public mutating func write<C: Collection>(list value: C, _ body: (inout CanonicalWriter, C.Element) -> Void) {
        write(uint: UInt64(value.count))
        for element in value { body(&self, element) }
    }

    /// A list of encodable values.
    @inlinable
    public mutating func write<C: Collection>(list value: C) where C.Element: CanonicalEncodable {
        write(list: value) { w, v in v.encode(to: &w) }
    }

    /// A map: the entry count, then key–value pairs sorted by the byte order of the encoded keys.
    /// Keys that encode to equal bytes are a programmer error (a `Dictionary` cannot hold them).
    public mutating func write<K: CanonicalEncodable, V>(
        map value: [K: V], _ body: (inout CanonicalWriter, V) -> Void
    ) {
        let entries = value.map { (key: $0.key.canonicalBytes(), value: $0.value) }
            .sorted { $0.key.lexicographicallyPrecedes($1.key) }
        write(uint: UInt64(entries.count))
        for entry in entries {
            storage.append(contentsOf: entry.key)
            body(&self, entry.value)
        }
    }

    /// A tagged union's tag, written before the variant's fields.
    @inlinable
    public mutating func write(tag: UInt64) {
        write(uint: tag)
    }
}

/// A value with a canonical encoding.
public protocol CanonicalEncodable {
    /// Appends the value's fields, in declaration order, without a format version.
    func encode(to writer: inout CanonicalWriter)
}

/// A value that can be decoded from its canonical encoding.
public protocol CanonicalDecodable {
    /// Reads the value's fields in declaration order. Must read exactly what `encode(to:)` writes.
    init(from reader: inout CanonicalReader) throws(CanonicalDecodingError)
}

public typealias CanonicalCodable = CanonicalEncodable & CanonicalDecodable

extension CanonicalEncodable {
    /// The value's body encoding, without the format version (used for nested values and map keys).
    public func canonicalBytes() -> [UInt8] {
        var writer = CanonicalWriter()
        encode(to: &writer)
        return writer.bytes
    }
}
