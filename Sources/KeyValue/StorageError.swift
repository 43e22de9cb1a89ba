/// A storage failure, typed for every status LevelDB reports plus the store's own states.
///
/// A struct around a stable code, so codes can be added without breaking callers.
public struct StorageError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// LevelDB "NotFound" (never returned for a plain missing key: `get` returns nil then).
        public static let notFound = Code(rawValue: "not_found")
        /// LevelDB "Corruption": on-disk data failed a checksum or is malformed.
        public static let corruption = Code(rawValue: "corruption")
        /// LevelDB "IO error": the file system refused (permissions, disk full, lock held by another process).
        public static let ioError = Code(rawValue: "io_error")
        /// LevelDB "Not implemented".
        public static let notSupported = Code(rawValue: "not_supported")
        /// LevelDB "Invalid argument": for example opening a missing database without create, or an existing one
        /// with error-if-exists.
        public static let invalidArgument = Code(rawValue: "invalid_argument")
        /// The store was closed.
        public static let closed = Code(rawValue: "closed")
        /// A status LevelDB reported that none of the above describes.
        public static let unknown = Code(rawValue: "unknown")
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "storage \(code): \(message)" }
}
