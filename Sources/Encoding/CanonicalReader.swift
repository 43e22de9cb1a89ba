/// Limits enforced while decoding untrusted bytes. Every length and count is checked against them before
/// anything is allocated, so a hostile length prefix cannot make the decoder reserve gigabytes.
public struct DecodingLimits: Sendable, Hashable {
    /// Largest input accepted as a whole.
    public var inputBytesMax: Int
    /// Longest byte string or text string.
    public var bytesMax: Int
    /// Most elements in one list or map.
    public var countMax: Int
    /// Deepest nesting of lists, maps, optionals and unions.
    public var depthMax: Int

    public init(inputBytesMax: Int, bytesMax: Int, countMax: Int, depthMax: Int) {
        self.inputBytesMax = inputBytesMax
        self.bytesMax = bytesMax
        self.countMax = countMax
        self.depthMax = depthMax
    }

    /// Defaults for consensus objects (transactions, votes, headers): 4 MiB inputs, 1 MiB strings, 65,536 elements,
    /// depth 32. Callers with tighter bounds (a transaction's size limit) pass their own.
    public static let standard = DecodingLimits(
        inputBytesMax: 4 << 20, bytesMax: 1 << 20, countMax: 1 << 16, depthMax: 32
    )
}

/// Reads values in TwinLedger's canonical binary encoding, refusing anything that is not the one canonical form.
public struct CanonicalReader: Sendable {
    @usableFromInline let input: [UInt8]
    /// The offset of the next unread byte.
    public private(set) var offset: Int
    public let limits: DecodingLimits
    @usableFromInline var depth = 0

    /// A reader over the body of a value (no format version byte expected).
    public init(_ bytes: [UInt8], limits: DecodingLimits = .standard) throws(CanonicalDecodingError) {
        guard bytes.count <= limits.inputBytesMax else {
            throw CanonicalDecodingError(.inputOverLimit, at: 0, "\(bytes.count) bytes > \(limits.inputBytesMax)")
        }
        input = bytes
        offset = 0
        self.limits = limits
    }

    /// Bytes left to read.
    public var remaining: Int { input.count - offset }

    /// Fails unless every byte was consumed.
    public func finish() throws(CanonicalDecodingError) {
        guard offset == input.count else {
            throw CanonicalDecodingError(.trailingBytes, at: offset, "\(remaining) bytes after the value")
        }
    }

    // MARK: Integers

    /// A minimal unsigned LEB128 varint of at most 64 bits.
    public mutating func readUInt() throws(CanonicalDecodingError) -> UInt64 {
        let start = offset
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < input.count else { throw CanonicalDecodingError(.truncated, at: offset, "inside a varint") }
            let byte = input[offset]
            offset += 1
            let payload = UInt64(byte & 0x7F)
            if shift == 63 && payload > 1 {
                throw CanonicalDecodingError(.integerOverflow, at: start, "varint exceeds 64 bits")
            }
            result |= payload << shift
            if byte & 0x80 == 0 {
                // The last group may be zero only when it is the only group: otherwise a shorter form existed.
                if byte == 0 && offset - start > 1 {
                    throw CanonicalDecodingError(.nonMinimalInteger, at: start, "varint has a redundant final group")
                }
                return result
            }
            shift += 7
            if shift > 63 { throw CanonicalDecodingError(.integerOverflow, at: start, "varint longer than 10 bytes") }
        }
    }

    /// An unsigned varint that must fit the width `T` (for example a `UInt32` field).
    public mutating func readUInt<T: FixedWidthInteger & UnsignedInteger>(as type: T.Type) throws(CanonicalDecodingError) -> T {
        let start = offset
        let value = try readUInt()
        guard let narrowed = T(exactly: value) else {
            throw CanonicalDecodingError(.integerOverflow, at: start, "\(value) does not fit \(T.self)")
        }
        return narrowed
    }

    /// A zigzag-encoded signed varint.
    public mutating func readInt() throws(CanonicalDecodingError) -> Int64 {
        let raw = try readUInt()
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    /// A boolean byte, 0x00 or 0x01 only.
    public mutating func readBool() throws(CanonicalDecodingError) -> Bool {
        let byte = try readByte()
        switch byte {
        case 0: return false
        case 1: return true
        default: throw CanonicalDecodingError(.invalidBool, at: offset - 1, "byte \(byte)")
        }
    }

    // MARK: Byte and text strings

    /// A length-prefixed byte string, at most `limit` (or the reader's `bytesMax`) long.
    public mutating func readBytes(limit: Int? = nil) throws(CanonicalDecodingError) -> [UInt8] {
        let range = try readLengthPrefixed(limit: limit)
        return Array(input[range])
    }

    /// Exactly `count` bytes with no length prefix (a hash, a key).
    public mutating func readFixed(_ count: Int) throws(CanonicalDecodingError) -> [UInt8] {
        guard remaining >= count else {
            throw CanonicalDecodingError(.truncated, at: offset, "need \(count) bytes, have \(remaining)")
        }
        defer { offset += count }
        return Array(input[offset..<offset + count])
    }

    /// A length-prefixed UTF-8 text string.
    public mutating func readString(limit: Int? = nil) throws(CanonicalDecodingError) -> String {
        let start = offset
        let range = try readLengthPrefixed(limit: limit)
        guard let string = String(validating: input[range], as: UTF8.self) else {
            throw CanonicalDecodingError(.invalidUTF8, at: start)
        }
        return string
    }

    private mutating func readLengthPrefixed(limit: Int?) throws(CanonicalDecodingError) -> Range<Int> {
        let start = offset
        let length = try readUInt()
        let max = Swift.min(limit ?? limits.bytesMax, limits.bytesMax)
        guard length <= UInt64(max) else {
            throw CanonicalDecodingError(.lengthOverLimit, at: start, "length \(length) > \(max)")
        }
        let count = Int(length)
        guard remaining >= count else {
            throw CanonicalDecodingError(.truncated, at: offset, "need \(count) bytes, have \(remaining)")
        }
        defer { offset += count }
        return offset..<offset + count
    }

    // MARK: Composites

    /// A decodable value.
    public mutating func read<T: CanonicalDecodable>(_ type: T.Type = T.self) throws(CanonicalDecodingError) -> T {
        try T(from: &self)
    }

    /// An optional: a presence byte (0x00 or 0x01), then the value when present.
    public mutating func readOptional<T>(
        _ body: (inout CanonicalReader) throws(CanonicalDecodingError) -> T
    ) throws(CanonicalDecodingError) -> T? {
        let marker = try readByte()
        switch marker {
        case 0: return nil
        case 1: return try nested(body)
        default: throw CanonicalDecodingError(.invalidOptional, at: offset - 1, "byte \(marker)")
        }
    }

    /// An optional decodable value.
    public mutating func readOptional<T: CanonicalDecodable>(_ type: T.Type = T.self) throws(CanonicalDecodingError) -> T? {
        try readOptional { (r: inout CanonicalReader) throws(CanonicalDecodingError) in try T(from: &r) }
    }

    /// A list: an element count within the limit, then the elements.
    public mutating func readList<T>(
        limit: Int? = nil, _ body: (inout CanonicalReader) throws(CanonicalDecodingError) -> T
    ) throws(CanonicalDecodingError) -> [T] {
        let count = try readCount(limit: limit)
        var result: [T] = []
        // Every element takes at least one byte, so the remaining input bounds the allocation.
        result.reserveCapacity(Swift.min(count, remaining))
        try nested { (r: inout CanonicalReader) throws(CanonicalDecodingError) in
            for _ in 0..<count { result.append(try body(&r)) }
        }
        return result
    }

    /// A list of decodable values.
    public mutating func readList<T: CanonicalDecodable>(
        of type: T.Type = T.self, limit: Int? = nil
    ) throws(CanonicalDecodingError) -> [T] {
        try readList(limit: limit) { (r: inout CanonicalReader) throws(CanonicalDecodingError) in try T(from: &r) }
    }

    /// A map whose entries must appear in strictly increasing byte order of their encoded keys.
    public mutating func readMap<K: CanonicalDecodable & Hashable, V>(
        limit: Int? = nil, _ body: (inout CanonicalReader) throws(CanonicalDecodingError) -> V
    ) throws(CanonicalDecodingError) -> [K: V] {
        let count = try readCount(limit: limit)
        var result: [K: V] = [:]
        result.reserveCapacity(Swift.min(count, remaining))
        try nested { (r: inout CanonicalReader) throws(CanonicalDecodingError) in
            var previousKey: Range<Int>? = nil
            for _ in 0..<count {
                let keyStart = r.offset
                let key = try K(from: &r)
                let keyRange = keyStart..<r.offset
                if let previousKey, !r.input[previousKey].lexicographicallyPrecedes(r.input[keyRange]) {
                    throw CanonicalDecodingError(.unsortedMap, at: keyStart, "key not greater than the previous one")
                }
                previousKey = keyRange
                result[key] = try body(&r)
            }
        }
        return result
    }

    /// A tagged union's tag. The caller switches on it and throws `unknownTag(…)` for tags it does not know.
    public mutating func readTag() throws(CanonicalDecodingError) -> UInt64 {
        try readUInt()
    }

    /// The error for a tag no variant claims, positioned at the tag.
    public func unknownTag(_ tag: UInt64, in typeName: String) -> CanonicalDecodingError {
        CanonicalDecodingError(.unknownTag, at: offset, "tag \(tag) in \(typeName)")
    }

    /// The error for a value that breaks a rule of its type.
    public func invalidValue(_ detail: String) -> CanonicalDecodingError {
        CanonicalDecodingError(.invalidValue, at: offset, detail)
    }

    /// Runs `body` one nesting level deeper, enforcing `depthMax`. Recursive types call it for each level.
    public mutating func nested<T>(
        _ body: (inout CanonicalReader) throws(CanonicalDecodingError) -> T
    ) throws(CanonicalDecodingError) -> T {
        guard depth < limits.depthMax else {
            throw CanonicalDecodingError(.depthOverLimit, at: offset, "depth > \(limits.depthMax)")
        }
        depth += 1
        defer { depth -= 1 }
        return try body(&self)
    }

    private mutating func readCount(limit: Int?) throws(CanonicalDecodingError) -> Int {
        let start = offset
        let count = try readUInt()
        let max = Swift.min(limit ?? limits.countMax, limits.countMax)
        guard count <= UInt64(max) else {
            throw CanonicalDecodingError(.countOverLimit, at: start, "count \(count) > \(max)")
        }
        return Int(count)
    }

    private mutating func readByte() throws(CanonicalDecodingError) -> UInt8 {
        guard offset < input.count else { throw CanonicalDecodingError(.truncated, at: offset) }
        defer { offset += 1 }
        return input[offset]
    }
}
