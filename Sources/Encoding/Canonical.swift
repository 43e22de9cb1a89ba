/// Top-level canonical encoding: a format version byte, then the value's body.
///
/// Everything TwinLedger signs or hashes is `Canonical.encode(value)`; everything it receives from outside goes through
/// `Canonical.decode`, which checks the version, the limits, and that no byte is left over. Decoding then re-encoding
/// an accepted input yields the same bytes (the encoding is a bijection on accepted inputs).
public enum Canonical {
    /// The current format version (Docs/encoding.md, "Format version").
    public static let formatVersion: UInt8 = 1

    /// The version byte followed by the value's body.
    public static func encode<T: CanonicalEncodable>(_ value: T) -> [UInt8] {
        var writer = CanonicalWriter()
        writer.write(fixed: CollectionOfOne(formatVersion))
        value.encode(to: &writer)
        return writer.bytes
    }

    /// Decodes a versioned top-level value, rejecting unknown versions and trailing bytes.
    public static func decode<T: CanonicalDecodable>(
        _ type: T.Type, from bytes: [UInt8], limits: DecodingLimits = .standard
    ) throws(CanonicalDecodingError) -> T {
        var reader = try CanonicalReader(bytes, limits: limits)
        let version = try reader.readFixed(1)[0]
        guard version == formatVersion else {
            throw CanonicalDecodingError(.unsupportedVersion, at: 0, "version \(version), expected \(formatVersion)")
        }
        let value = try T(from: &reader)
        try reader.finish()
        return value
    }

    /// Decodes a body with no version byte (a value nested in another format), rejecting trailing bytes.
    public static func decodeBody<T: CanonicalDecodable>(
        _ type: T.Type, from bytes: [UInt8], limits: DecodingLimits = .standard
    ) throws(CanonicalDecodingError) -> T {
        var reader = try CanonicalReader(bytes, limits: limits)
        let value = try T(from: &reader)
        try reader.finish()
        return value
    }
}

// MARK: Conformances of standard types, so they can be list elements and map keys.

extension UInt64: CanonicalCodable {
    public func encode(to writer: inout CanonicalWriter) { writer.write(uint: self) }
    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) { self = try reader.readUInt() }
}

extension UInt32: CanonicalCodable {
    public func encode(to writer: inout CanonicalWriter) { writer.write(uint: UInt64(self)) }
    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) { self = try reader.readUInt(as: UInt32.self) }
}

extension Int64: CanonicalCodable {
    public func encode(to writer: inout CanonicalWriter) { writer.write(int: self) }
    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) { self = try reader.readInt() }
}

extension Bool: CanonicalCodable {
    public func encode(to writer: inout CanonicalWriter) { writer.write(bool: self) }
    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) { self = try reader.readBool() }
}

extension String: CanonicalCodable {
    public func encode(to writer: inout CanonicalWriter) { writer.write(string: self) }
    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) { self = try reader.readString() }
}
