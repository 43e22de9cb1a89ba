/// Why a byte string was refused by the canonical decoder.
///
/// A public error that may grow: a struct whose `code` is a stable, documented string (see Docs/encoding.md),
/// plus the byte offset where decoding stopped and a human-readable detail.
public struct CanonicalDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A stable machine-readable reason. New codes may be added; existing ones never change meaning.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The input ended before the value did.
        public static let truncated = Code(rawValue: "truncated")
        /// Bytes remain after the top-level value.
        public static let trailingBytes = Code(rawValue: "trailing_bytes")
        /// A varint used more bytes than needed (a final 0x00 continuation group).
        public static let nonMinimalInteger = Code(rawValue: "non_minimal_integer")
        /// A varint exceeds 64 bits, or a value does not fit the field's declared width.
        public static let integerOverflow = Code(rawValue: "integer_overflow")
        /// A byte string or text string is longer than the limit.
        public static let lengthOverLimit = Code(rawValue: "length_over_limit")
        /// A list or map has more elements than the limit.
        public static let countOverLimit = Code(rawValue: "count_over_limit")
        /// Values are nested deeper than the limit.
        public static let depthOverLimit = Code(rawValue: "depth_over_limit")
        /// The whole input is larger than the limit.
        public static let inputOverLimit = Code(rawValue: "input_over_limit")
        /// A boolean byte other than 0x00 or 0x01.
        public static let invalidBool = Code(rawValue: "invalid_bool")
        /// An optional's presence byte other than 0x00 or 0x01.
        public static let invalidOptional = Code(rawValue: "invalid_optional")
        /// A tagged union's tag names no known variant.
        public static let unknownTag = Code(rawValue: "unknown_tag")
        /// A text string is not valid UTF-8.
        public static let invalidUTF8 = Code(rawValue: "invalid_utf8")
        /// The format version byte is not one this decoder knows.
        public static let unsupportedVersion = Code(rawValue: "unsupported_version")
        /// Map keys are not in strictly increasing byte order (unsorted or duplicated).
        public static let unsortedMap = Code(rawValue: "unsorted_map")
        /// A structurally valid value that breaks a rule of its type (documented with the type).
        public static let invalidValue = Code(rawValue: "invalid_value")
    }

    public let code: Code
    /// Offset in the input at which the problem was found.
    public let offset: Int
    public let detail: String

    public init(_ code: Code, at offset: Int, _ detail: String = "") {
        self.code = code
        self.offset = offset
        self.detail = detail
    }

    public var description: String {
        detail.isEmpty ? "\(code) at byte \(offset)" : "\(code) at byte \(offset): \(detail)"
    }
}
