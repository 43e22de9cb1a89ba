import CodedErrors

/// Why the ledger refused a transaction. A refused transaction changes nothing, its nonce included.
///
/// Codes are stable strings, listed with their meaning in Docs/transactions.md ("Rejection codes"); clients show
/// them to people and scripts match on them.
public typealias LedgerError = CodedError<LedgerErrors>

/// The family of `LedgerError`.
public enum LedgerErrors: ErrorDomain {
    public static let prefix = ""
}

extension CodedError<LedgerErrors>.Code {
    /// The bytes are not a canonical transaction, or exceed the size limit.
    public static let malformed = Self(rawValue: "malformed")
    /// The transaction names another chain.
    public static let wrongChain = Self(rawValue: "wrong_chain")
    /// The signature does not verify under the signer's key.
    public static let badSignature = Self(rawValue: "bad_signature")
    /// The nonce is not above the signer's last accepted nonce (a replay or a reordering).
    public static let staleNonce = Self(rawValue: "stale_nonce")
    /// The signer is neither an enrolled participant nor a genesis organization.
    public static let unknownSigner = Self(rawValue: "unknown_signer")
    /// The signer may not perform this transaction (wrong role, not the patient, outside a delegation …).
    public static let unauthorized = Self(rawValue: "unauthorized")
    /// A referenced participant, shadow, grant, delegation or authority does not exist.
    public static let notFound = Self(rawValue: "not_found")
    /// The thing to create exists already (a key enrolled twice, an authority published twice).
    public static let alreadyExists = Self(rawValue: "already_exists")
    /// A field breaks its rule: empty scope, unknown purpose, bad category name, validity period in the past …
    public static let invalidField = Self(rawValue: "invalid_field")
    /// The grant or delegation was already revoked.
    public static let alreadyRevoked = Self(rawValue: "already_revoked")
    /// The shadow was erased; it can never be used again.
    public static let erased = Self(rawValue: "erased")
    /// An authority epoch or shadow version that does not follow the current one.
    public static let badSequence = Self(rawValue: "bad_sequence")
    /// The state store failed (an operating failure, not the transaction's fault).
    public static let storage = Self(rawValue: "storage")
}
