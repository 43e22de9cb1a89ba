import CodedErrors

/// A storage failure, typed for every status LevelDB reports plus the store's own states.
///
/// A stable code around a message (`CodedError`), so codes can be added without breaking callers.
public typealias StorageError = CodedError<StorageErrors>

/// The family of `StorageError`.
public enum StorageErrors: ErrorDomain {
    public static let prefix = "storage "
}

extension CodedError<StorageErrors>.Code {
    /// LevelDB "NotFound" (never returned for a plain missing key: `get` returns nil then).
    public static let notFound = Self(rawValue: "not_found")
    /// LevelDB "Corruption": on-disk data failed a checksum or is malformed.
    public static let corruption = Self(rawValue: "corruption")
    /// LevelDB "IO error": the file system refused (permissions, disk full, lock held by another process).
    public static let ioError = Self(rawValue: "io_error")
    /// LevelDB "Not implemented".
    public static let notSupported = Self(rawValue: "not_supported")
    /// LevelDB "Invalid argument": for example opening a missing database without create, or an existing one
    /// with error-if-exists.
    public static let invalidArgument = Self(rawValue: "invalid_argument")
    /// The store was closed.
    public static let closed = Self(rawValue: "closed")
    /// A status LevelDB reported that none of the above describes.
    public static let unknown = Self(rawValue: "unknown")
}
