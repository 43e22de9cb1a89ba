/// Names a family of errors (storage, ledger, consensus …) and how its descriptions start.
public protocol ErrorDomain: Sendable {
    /// Put before "code: message" in descriptions ("storage " for storage errors, empty for most).
    static var prefix: String { get }
}

/// A refusal or failure with a stable string code and a message for people: the one shape of TwinLedger's errors
/// (Docs/architecture.md, "Errors"). Each module names its family, `typealias LedgerError = CodedError<Ledger…>`,
/// and declares its codes as static members of `Code` in a constrained extension, so codes can be added without
/// breaking callers and one family's codes never mix with another's.
public struct CodedError<Domain: ErrorDomain>: Error, Hashable, Sendable, CustomStringConvertible {
    /// A stable code: clients match on it, Docs list it.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(Domain.prefix)\(code): \(message)" }
}
