import Encoding
import TwinCrypto

/// A transaction as it travels and is stored: the signed body and the signer's BIP340 signature.
///
/// Encoding (Docs/transactions.md): `version 0x01 | body | signature[64]`. The signature covers
/// `taggedHash("TwinLedger/tx", canonical bytes of the body with its version byte)`. The transaction id is the
/// SHA3-256 of the whole encoding.
public struct SignedTransaction: Sendable, Hashable, CanonicalCodable {
    public var body: TransactionBody
    public var signature: Signature

    public init(body: TransactionBody, signature: Signature) {
        self.body = body
        self.signature = signature
    }

    /// Signs `body` with `key`, which must be the body's signer. `auxiliaryRandom` (32 bytes) is for reproducible
    /// tests and vectors only; by default each signature draws fresh randomness, as BIP340 recommends.
    public init(
        signing body: TransactionBody, with key: SecretKey, auxiliaryRandom: [UInt8]? = nil
    ) throws(LedgerError) {
        guard key.publicKey == body.signer else { throw LedgerError(.unauthorized, "key is not the body's signer") }
        do {
            if let auxiliaryRandom {
                signature = try key.sign(body.signingDigest.bytes, auxiliaryRandom: auxiliaryRandom)
            } else {
                signature = try key.sign(body.signingDigest.bytes)
            }
        } catch {
            throw LedgerError(.badSignature, "signing failed: \(error)")
        }
        self.body = body
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(body)
        writer.write(signature)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        body = try reader.read()
        signature = try reader.read()
    }

    /// The canonical bytes (with version byte).
    public var bytes: [UInt8] { Canonical.encode(self) }
}

/// The signed part of a transaction.
public struct TransactionBody: Sendable, Hashable, CanonicalCodable {
    public var chainID: String
    public var signer: PublicKey
    /// Strictly above the signer's previous accepted nonce (gaps allowed): replay protection.
    public var nonce: UInt64
    public var payload: Payload

    public init(chainID: String, signer: PublicKey, nonce: UInt64, payload: Payload) {
        self.chainID = chainID
        self.signer = signer
        self.nonce = nonce
        self.payload = payload
    }

    /// What the signer signs: BIP340 tagged hash "TwinLedger/tx" of the versioned canonical body.
    public var signingDigest: Hash32 { Hashing.taggedHash(tag: "TwinLedger/tx", Canonical.encode(self)) }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(string: chainID)
        writer.write(signer)
        writer.write(uint: nonce)
        writer.write(payload)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        chainID = try reader.readString(limit: 64)
        signer = try reader.read()
        nonce = try reader.readUInt()
        payload = try reader.read()
    }
}

/// A transaction whose encoding, chain and signature have been checked once (at mempool admission or block
/// validation). The state machine accepts only these, so a signature is never verified twice on one path.
public struct VerifiedTransaction: Sendable, Hashable {
    public let transaction: SignedTransaction
    /// SHA3-256 of `bytes`.
    public let id: Hash32
    public let bytes: [UInt8]
    /// The signer's key id (SHA3-256 of the key), computed once at admission.
    public let signerID: Hash32

    /// Decodes and verifies `bytes` for `chainID`. `id`, if the caller already hashed the bytes, is their SHA3-256.
    public init(bytes: [UInt8], chainID: String, id known: Hash32? = nil) throws(LedgerError) {
        guard bytes.count <= Limits.transactionBytesMax else {
            throw LedgerError(.malformed, "transaction is \(bytes.count) bytes, limit \(Limits.transactionBytesMax)")
        }
        let transaction: SignedTransaction
        do {
            transaction = try Canonical.decode(SignedTransaction.self, from: bytes)
        } catch {
            throw LedgerError(.malformed, "\(error)")
        }
        guard transaction.body.chainID == chainID else {
            throw LedgerError(.wrongChain, "transaction is for chain \(transaction.body.chainID), this is \(chainID)")
        }
        // The decoding is canonical, so the versioned body the signature covers is exactly the bytes before the
        // signature (version byte, body): hashed in place instead of encoded again.
        let digest = bytes.withUnsafeBytes { raw in
            Hashing.taggedHash(tag: "TwinLedger/tx", UnsafeRawBufferPointer(rebasing: raw[..<(raw.count - 64)]))
        }
        guard transaction.body.signer.verify(transaction.signature, for: digest.bytes) else {
            throw LedgerError(.badSignature, "signature does not verify under the signer's key")
        }
        self.transaction = transaction
        self.bytes = bytes
        id = known ?? Hashing.sha3(bytes)
        signerID = transaction.body.signer.keyID
    }

    /// Verifies an already-decoded transaction.
    public init(_ transaction: SignedTransaction, chainID: String) throws(LedgerError) {
        try self.init(bytes: transaction.bytes, chainID: chainID)
    }

    public var body: TransactionBody { transaction.body }
}

/// The transaction kinds of Docs/transactions.md. The tag is the union tag in the canonical encoding.
public enum Payload: Sendable, Hashable, CanonicalCodable {
    case enroll(Enroll)
    case authorityPublish(AuthorityKeys)
    case authorityRotate(AuthorityKeys)
    case shadowRegister(ShadowRegister)
    case consentGrant(ConsentGrant)
    case consentRevoke(ConsentRevoke)
    case delegationGrant(DelegationGrant)
    case delegationRevoke(DelegationRevoke)
    case auditAnchor(AuditAnchor)
    case shadowErase(ShadowErase)
    case breakGlass(BreakGlass)
    case validatorsUpdate(ValidatorsUpdate)
    case evidenceSubmit(EvidenceSubmit)
    case authorityAttributes(AuthorityAttributes)
    case attributeIssue(AttributeIssue)
    case shadowRewrap(ShadowRewrap)
    case validatorRotate(ValidatorRotate)
    case keyRotate(KeyRotate)

    /// Kinds a validator's consensus key may sign (it is no enrolled participant).
    public var isValidatorSigned: Bool {
        switch self {
        case .evidenceSubmit, .validatorRotate: true
        default: false
        }
    }

    /// The kind's name as documented and shown in the API (`consent.grant` …).
    public var kind: String {
        switch self {
        case .enroll: "enroll"
        case .authorityPublish: "authority.publish"
        case .authorityRotate: "authority.rotate"
        case .shadowRegister: "shadow.register"
        case .consentGrant: "consent.grant"
        case .consentRevoke: "consent.revoke"
        case .delegationGrant: "delegation.grant"
        case .delegationRevoke: "delegation.revoke"
        case .auditAnchor: "audit.anchor"
        case .shadowErase: "shadow.erase"
        case .breakGlass: "break_glass"
        case .validatorsUpdate: "validators.update"
        case .evidenceSubmit: "evidence.submit"
        case .authorityAttributes: "authority.attributes"
        case .attributeIssue: "attribute.issue"
        case .shadowRewrap: "shadow.rewrap"
        case .validatorRotate: "validator.rotate"
        case .keyRotate: "key.rotate"
        }
    }

    public func encode(to writer: inout CanonicalWriter) {
        switch self {
        case .enroll(let p): writer.write(tag: 0); writer.write(p)
        case .authorityPublish(let p): writer.write(tag: 1); writer.write(p)
        case .authorityRotate(let p): writer.write(tag: 2); writer.write(p)
        case .shadowRegister(let p): writer.write(tag: 3); writer.write(p)
        case .consentGrant(let p): writer.write(tag: 4); writer.write(p)
        case .consentRevoke(let p): writer.write(tag: 5); writer.write(p)
        case .delegationGrant(let p): writer.write(tag: 6); writer.write(p)
        case .delegationRevoke(let p): writer.write(tag: 7); writer.write(p)
        case .auditAnchor(let p): writer.write(tag: 8); writer.write(p)
        case .shadowErase(let p): writer.write(tag: 9); writer.write(p)
        case .breakGlass(let p): writer.write(tag: 10); writer.write(p)
        case .validatorsUpdate(let p): writer.write(tag: 11); writer.write(p)
        case .evidenceSubmit(let p): writer.write(tag: 12); writer.write(p)
        case .authorityAttributes(let p): writer.write(tag: 13); writer.write(p)
        case .attributeIssue(let p): writer.write(tag: 14); writer.write(p)
        case .shadowRewrap(let p): writer.write(tag: 15); writer.write(p)
        case .validatorRotate(let p): writer.write(tag: 16); writer.write(p)
        case .keyRotate(let p): writer.write(tag: 17); writer.write(p)
        }
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        let tag = try reader.readTag()
        switch tag {
        case 0: self = .enroll(try reader.read())
        case 1: self = .authorityPublish(try reader.read())
        case 2: self = .authorityRotate(try reader.read())
        case 3: self = .shadowRegister(try reader.read())
        case 4: self = .consentGrant(try reader.read())
        case 5: self = .consentRevoke(try reader.read())
        case 6: self = .delegationGrant(try reader.read())
        case 7: self = .delegationRevoke(try reader.read())
        case 8: self = .auditAnchor(try reader.read())
        case 9: self = .shadowErase(try reader.read())
        case 10: self = .breakGlass(try reader.read())
        case 11: self = .validatorsUpdate(try reader.read())
        case 12: self = .evidenceSubmit(try reader.read())
        case 13: self = .authorityAttributes(try reader.read())
        case 14: self = .attributeIssue(try reader.read())
        case 15: self = .shadowRewrap(try reader.read())
        case 16: self = .validatorRotate(try reader.read())
        case 17: self = .keyRotate(try reader.read())
        default: throw reader.unknownTag(tag, in: "Payload")
        }
    }
}

/// `enroll`: an organization binds a key to a role in that organization.
public struct Enroll: Sendable, Hashable, CanonicalCodable {
    public var key: PublicKey
    public var role: Role
    public var organization: String

    public init(key: PublicKey, role: Role, organization: String) {
        (self.key, self.role, self.organization) = (key, role, organization)
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(key)
        writer.write(role)
        writer.write(string: organization)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        key = try reader.read()
        role = try reader.read()
        organization = try reader.readString(limit: Limits.organizationBytesMax)
    }
}

/// An attribute an authority declares, at its current version (Docs/abe.md, "Epochs and versions"): keys and
/// ciphertexts name `AUTHORITY.name#version`; raising the version takes the attribute away from holders not re-issued.
public struct AttributeVersion: Sendable, Hashable, CanonicalCodable {
    public var name: String
    public var version: UInt64

    public init(name: String, version: UInt64) {
        self.name = name
        self.version = version
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(string: name)
        writer.write(uint: version)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        name = try reader.readString(limit: Limits.organizationBytesMax)
        version = try reader.readUInt()
    }
}

/// `authority.publish` (epoch 1) and `authority.rotate` (the next epoch): an authority's RW15 public key for the epoch
/// (the `AuthorityPublicKey` encoding of Docs/abe.md) and the attributes it issues, with their versions.
public struct AuthorityKeys: Sendable, Hashable, CanonicalCodable {
    public var epoch: UInt64
    public var key: [UInt8]
    public var attributes: [AttributeVersion]

    public init(epoch: UInt64, key: [UInt8], attributes: [AttributeVersion]) {
        (self.epoch, self.key, self.attributes) = (epoch, key, attributes)
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(uint: epoch)
        writer.write(bytes: key)
        writer.write(list: attributes)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        epoch = try reader.readUInt()
        key = try reader.readBytes(limit: Limits.attributeKeyBytesMax)
        attributes = try reader.readList(of: AttributeVersion.self, limit: Limits.attributesMax)
    }
}

/// `authority.attributes`: new attributes, or new versions of declared ones, at the authority's current epoch.
public struct AuthorityAttributes: Sendable, Hashable, CanonicalCodable {
    public var attributes: [AttributeVersion]

    public init(attributes: [AttributeVersion]) { self.attributes = attributes }

    public func encode(to writer: inout CanonicalWriter) { writer.write(list: attributes) }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        attributes = try reader.readList(of: AttributeVersion.self, limit: Limits.attributesMax)
    }
}

/// `attribute.issue`: the authority records that it issued `user` (a key id) the key of `attribute` at `version` under
/// `epoch`; `digest` is the SHA3-256 of the issued key's encoding (Docs/abe.md), so an auditor can match a key file
/// to its issuance. The key itself never goes on the ledger.
public struct AttributeIssue: Sendable, Hashable, CanonicalCodable {
    public var user: Hash32
    public var attribute: String
    public var version: UInt64
    public var epoch: UInt64
    public var digest: Hash32

    public init(user: Hash32, attribute: String, version: UInt64, epoch: UInt64, digest: Hash32) {
        (self.user, self.attribute, self.version, self.epoch, self.digest) = (user, attribute, version, epoch, digest)
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(user)
        writer.write(string: attribute)
        writer.write(uint: version)
        writer.write(uint: epoch)
        writer.write(digest)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        user = try reader.read()
        attribute = try reader.readString(limit: Limits.organizationBytesMax)
        version = try reader.readUInt()
        epoch = try reader.readUInt()
        digest = try reader.read()
    }
}

/// Where a shadow's data key is wrapped for one recipient: the recipient's key id and the envelope's address.
public struct EnvelopeReference: Sendable, Hashable, CanonicalCodable {
    public var recipient: Hash32
    public var address: Hash32

    public init(recipient: Hash32, address: Hash32) {
        self.recipient = recipient
        self.address = address
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(recipient)
        writer.write(address)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        recipient = try reader.read()
        address = try reader.read()
    }
}

/// A key envelope carried by a grant: `shadow`'s data key of `version`, wrapped for the grant's participant grantee,
/// stored as a blob at `address` (Docs/shadows.md, "Key envelopes for grantees").
public struct ShadowEnvelope: Sendable, Hashable, CanonicalCodable {
    public var shadow: Hash32
    public var version: UInt64
    public var address: Hash32

    public init(shadow: Hash32, version: UInt64, address: Hash32) {
        (self.shadow, self.version, self.address) = (shadow, version, address)
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(shadow)
        writer.write(uint: version)
        writer.write(address)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        shadow = try reader.read()
        version = try reader.readUInt()
        address = try reader.read()
    }
}

/// `shadow.register`: a new shadow (version 1) or the next version of an existing one.
public struct ShadowRegister: Sendable, Hashable, CanonicalCodable {
    public var shadow: Hash32
    public var patient: Hash32
    public var version: UInt64
    public var categories: [String]
    /// Content address (SHA3-256) of the manifest blob, which lists the encrypted chunks (Docs/shadows.md).
    public var manifest: Hash32
    public var size: UInt64
    public var envelopes: [EnvelopeReference]
    /// The data key wrapped under an ABE policy (Docs/abe.md), if the writer wrapped it so.
    public var policy: PolicyEnvelope?

    public init(
        shadow: Hash32, patient: Hash32, version: UInt64, categories: [String], manifest: Hash32, size: UInt64,
        envelopes: [EnvelopeReference] = [], policy: PolicyEnvelope? = nil
    ) {
        (self.shadow, self.patient, self.version, self.categories) = (shadow, patient, version, categories)
        (self.manifest, self.size, self.envelopes, self.policy) = (manifest, size, envelopes, policy)
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(shadow)
        writer.write(patient)
        writer.write(uint: version)
        writer.write(list: categories)
        writer.write(manifest)
        writer.write(uint: size)
        writer.write(list: envelopes)
        writer.write(optional: policy)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        shadow = try reader.read()
        patient = try reader.read()
        version = try reader.readUInt()
        categories = try reader.readList(limit: Limits.scopeItemsMax) { (r: inout CanonicalReader) throws(CanonicalDecodingError) in
            try r.readString(limit: Limits.categoryBytesMax)
        }
        manifest = try reader.read()
        size = try reader.readUInt()
        envelopes = try reader.readList(of: EnvelopeReference.self, limit: Limits.envelopesMax)
        policy = try reader.readOptional(PolicyEnvelope.self)
    }
}

/// `shadow.rewrap`: the current version's data key wrapped again under the same policy with the authorities' current
/// epochs, replacing its policy envelope (the on-demand form of the lazy re-wrap: no new version, no payload moved).
public struct ShadowRewrap: Sendable, Hashable, CanonicalCodable {
    public var shadow: Hash32
    public var version: UInt64
    public var policy: PolicyEnvelope

    public init(shadow: Hash32, version: UInt64, policy: PolicyEnvelope) {
        (self.shadow, self.version, self.policy) = (shadow, version, policy)
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(shadow)
        writer.write(uint: version)
        writer.write(policy)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        shadow = try reader.read()
        version = try reader.readUInt()
        policy = try reader.read()
    }
}

/// A shadow version's data key wrapped under an ABE policy: the policy's canonical text, the content address of the
/// `ABEEnvelope` blob (Docs/abe.md), and the epoch of each authority the envelope was made under (so that envelopes
/// left on an old epoch after a rotation can be counted and re-wrapped without reading them).
public struct PolicyEnvelope: Sendable, Hashable, CanonicalCodable {
    public var policy: String
    public var address: Hash32
    public var epochs: [String: UInt64]

    public init(policy: String, address: Hash32, epochs: [String: UInt64]) {
        (self.policy, self.address, self.epochs) = (policy, address, epochs)
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(string: policy)
        writer.write(address)
        writer.write(map: epochs) { $0.write(uint: $1) }
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        policy = try reader.readString(limit: Limits.policyBytesMax)
        address = try reader.read()
        epochs = try reader.readMap(limit: Limits.scopeItemsMax) { (r: inout CanonicalReader) throws(CanonicalDecodingError) in
            try r.readUInt()
        }
    }
}

/// `consent.grant`: the patient (or a delegate) lets a grantee act on a scope for a purpose during a period.
public struct ConsentGrant: Sendable, Hashable, CanonicalCodable {
    public var patient: Hash32
    public var grantee: Grantee
    public var actions: Actions
    public var scope: Scope
    public var purpose: Purpose
    /// Unix seconds.
    public var validFrom: UInt64
    /// Unix seconds, exclusive; nil for open-ended.
    public var validUntil: UInt64?
    /// Data keys of shadows in the scope, wrapped for a participant grantee (empty for a policy grantee, or when the
    /// grant carries no keys).
    public var envelopes: [ShadowEnvelope]

    public init(
        patient: Hash32, grantee: Grantee, actions: Actions, scope: Scope, purpose: Purpose, validFrom: UInt64,
        validUntil: UInt64?, envelopes: [ShadowEnvelope] = []
    ) {
        (self.patient, self.grantee, self.actions, self.scope) = (patient, grantee, actions, scope)
        (self.purpose, self.validFrom, self.validUntil, self.envelopes) = (purpose, validFrom, validUntil, envelopes)
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(patient)
        writer.write(grantee)
        writer.write(actions)
        writer.write(scope)
        writer.write(purpose)
        writer.write(uint: validFrom)
        writer.write(optional: validUntil)
        writer.write(list: envelopes)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        patient = try reader.read()
        grantee = try reader.read()
        actions = try reader.read()
        scope = try reader.read()
        purpose = try reader.read()
        validFrom = try reader.readUInt()
        validUntil = try reader.readOptional(UInt64.self)
        envelopes = try reader.readList(of: ShadowEnvelope.self, limit: Limits.envelopesMax)
    }
}

extension ConsentGrant {
    /// The key envelopes of an encoded signed transaction, if it is a `consent.grant`: read from its payload alone,
    /// without parsing the signer's key or checking anything (for bookkeeping on transactions a block already
    /// committed, which are most of a busy block).
    public static func envelopes(inSignedTransaction bytes: [UInt8]) -> [ShadowEnvelope]? {
        do throws(CanonicalDecodingError) {
            var reader = try CanonicalReader(bytes)
            guard try reader.readFixed(1) == [Canonical.formatVersion] else { return nil }
            _ = try reader.readString(limit: 64)
            _ = try reader.readFixed(32)
            _ = try reader.readUInt()
            guard try reader.readTag() == 4 else { return nil }
            return try reader.read(ConsentGrant.self).envelopes
        } catch {
            return nil
        }
    }
}

/// `consent.revoke`: ends a grant from the commit height on.
public struct ConsentRevoke: Sendable, Hashable, CanonicalCodable {
    public var grant: Hash32
    public init(grant: Hash32) { self.grant = grant }
    public func encode(to writer: inout CanonicalWriter) { writer.write(grant) }
    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) { grant = try reader.read() }
}

/// `delegation.grant`: the patient lets a delegate manage consent within categories (empty: all categories).
public struct DelegationGrant: Sendable, Hashable, CanonicalCodable {
    public var patient: Hash32
    /// The delegate's key id.
    public var delegate: Hash32
    public var powers: DelegatedPowers
    public var categories: [String]
    public var validUntil: UInt64?

    public init(patient: Hash32, delegate: Hash32, powers: DelegatedPowers, categories: [String], validUntil: UInt64?) {
        (self.patient, self.delegate, self.powers, self.categories, self.validUntil) =
            (patient, delegate, powers, categories, validUntil)
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(patient)
        writer.write(delegate)
        writer.write(powers)
        writer.write(list: categories)
        writer.write(optional: validUntil)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        patient = try reader.read()
        delegate = try reader.read()
        powers = try reader.read()
        categories = try reader.readList(limit: Limits.scopeItemsMax) { (r: inout CanonicalReader) throws(CanonicalDecodingError) in
            try r.readString(limit: Limits.categoryBytesMax)
        }
        validUntil = try reader.readOptional(UInt64.self)
    }
}

/// `delegation.revoke`.
public struct DelegationRevoke: Sendable, Hashable, CanonicalCodable {
    public var delegation: Hash32
    public init(delegation: Hash32) { self.delegation = delegation }
    public func encode(to writer: inout CanonicalWriter) { writer.write(delegation) }
    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) { delegation = try reader.read() }
}

/// `audit.anchor`: a node anchors the Merkle root of access-log records `firstSequence ..< firstSequence + count`.
public struct AuditAnchor: Sendable, Hashable, CanonicalCodable {
    public var root: Hash32
    public var firstSequence: UInt64
    public var count: UInt64

    public init(root: Hash32, firstSequence: UInt64, count: UInt64) {
        (self.root, self.firstSequence, self.count) = (root, firstSequence, count)
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(root)
        writer.write(uint: firstSequence)
        writer.write(uint: count)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        root = try reader.read()
        firstSequence = try reader.readUInt()
        count = try reader.readUInt()
    }
}

/// `shadow.erase`: right to erasure; the shadow is erased for ever.
public struct ShadowErase: Sendable, Hashable, CanonicalCodable {
    public var shadow: Hash32
    public init(shadow: Hash32) { self.shadow = shadow }
    public func encode(to writer: inout CanonicalWriter) { writer.write(shadow) }
    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) { shadow = try reader.read() }
}

/// `break_glass`: an emergency practitioner takes short-lived read access to a patient's emergency categories.
public struct BreakGlass: Sendable, Hashable, CanonicalCodable {
    public var patient: Hash32
    public var reason: String

    public init(patient: Hash32, reason: String) {
        self.patient = patient
        self.reason = reason
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(patient)
        writer.write(string: reason)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        patient = try reader.read()
        reason = try reader.readString(limit: Limits.reasonBytesMax)
    }
}

/// One validator's new voting power (0 removes it).
public struct ValidatorChange: Sendable, Hashable, CanonicalCodable {
    public var key: PublicKey
    public var power: UInt64

    public init(key: PublicKey, power: UInt64) {
        self.key = key
        self.power = power
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(key)
        writer.write(uint: power)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        key = try reader.read()
        power = try reader.readUInt()
    }
}

/// `validators.update`: changes to the validator set of version `basis`, approved by validators of that set holding
/// more than 2/3 of its power; effective from two heights after the block that accepts it (Validators.swift).
public struct ValidatorsUpdate: Sendable, Hashable, CanonicalCodable {
    public var basis: UInt64
    public var changes: [ValidatorChange]
    /// Sorted by validator key id, each once.
    public var approvals: [ValidatorApproval]

    public init(basis: UInt64, changes: [ValidatorChange], approvals: [ValidatorApproval]) {
        (self.basis, self.changes, self.approvals) = (basis, changes, approvals)
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(uint: basis)
        writer.write(list: changes)
        writer.write(list: approvals)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        basis = try reader.readUInt()
        changes = try reader.readList(of: ValidatorChange.self, limit: Limits.validatorChangesMax)
        approvals = try reader.readList(of: ValidatorApproval.self, limit: 256)
    }
}

/// `evidence.submit`: two conflicting signed votes (canonical `SignedVote`s) from one validator.
public struct EvidenceSubmit: Sendable, Hashable, CanonicalCodable {
    public var first: [UInt8]
    public var second: [UInt8]

    public init(first: [UInt8], second: [UInt8]) {
        self.first = first
        self.second = second
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(bytes: first)
        writer.write(bytes: second)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        first = try reader.readBytes(limit: Limits.evidenceBytesMax)
        second = try reader.readBytes(limit: Limits.evidenceBytesMax)
    }
}

/// `validator.rotate`: a validator, signing with its current consensus key, replaces that key by `newKey` in the set
/// of version `basis`, keeping its power; the new key votes from two heights after the block that accepts it, as
/// for `validators.update`. `possession` is `newKey`'s signature over `possessionBytes`, so nobody rotates to a key
/// they do not hold (Docs/consensus.md, "Consensus key rotation").
public struct ValidatorRotate: Sendable, Hashable, CanonicalCodable {
    public var basis: UInt64
    public var newKey: PublicKey
    public var possession: Signature

    public init(basis: UInt64, newKey: PublicKey, possession: Signature) {
        (self.basis, self.newKey, self.possession) = (basis, newKey, possession)
    }

    /// What the new key signs: a domain tag, the chain, the set version, the old key and the new key.
    public static func possessionBytes(chainID: String, basis: UInt64, oldKey: PublicKey, newKey: PublicKey) -> [UInt8] {
        var writer = CanonicalWriter()
        writer.write(string: chainID)
        writer.write(uint: basis)
        writer.write(oldKey)
        writer.write(newKey)
        return Array("twinledger/validator-rotate/v1".utf8) + writer.bytes
    }

    /// The payload rotating `oldKey` to `newKey`, its possession signed with `newKey`.
    public static func signed(chainID: String, basis: UInt64, oldKey: PublicKey, newKey: SecretKey,
                              auxiliaryRandom: [UInt8]? = nil) throws -> ValidatorRotate {
        let message = possessionBytes(chainID: chainID, basis: basis, oldKey: oldKey, newKey: newKey.publicKey)
        return ValidatorRotate(basis: basis, newKey: newKey.publicKey, possession: try newKey.sign(message, orAuxiliary: auxiliaryRandom))
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(uint: basis)
        writer.write(newKey)
        writer.write(possession)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        basis = try reader.readUInt()
        newKey = try reader.read()
        possession = try reader.read()
    }
}

/// `key.rotate`: a patient, signing with its current key, moves its enrolment to `newKey`. The patient id, grants,
/// delegations, shadows and history stay; the old key can sign nothing more. `possession` is `newKey`'s signature
/// over `possessionBytes` (Docs/transactions.md, "Key rotation").
public struct KeyRotate: Sendable, Hashable, CanonicalCodable {
    public var patient: Hash32
    public var newKey: PublicKey
    public var possession: Signature

    public init(patient: Hash32, newKey: PublicKey, possession: Signature) {
        (self.patient, self.newKey, self.possession) = (patient, newKey, possession)
    }

    /// What the new key signs: a domain tag, the chain, the patient, the old key and the new key.
    public static func possessionBytes(chainID: String, patient: Hash32, oldKey: PublicKey, newKey: PublicKey) -> [UInt8] {
        var writer = CanonicalWriter()
        writer.write(string: chainID)
        writer.write(patient)
        writer.write(oldKey)
        writer.write(newKey)
        return Array("twinledger/key-rotate/v1".utf8) + writer.bytes
    }

    /// The payload moving `patient` from `oldKey` to `newKey`, its possession signed with `newKey`.
    public static func signed(chainID: String, patient: Hash32, oldKey: PublicKey, newKey: SecretKey,
                              auxiliaryRandom: [UInt8]? = nil) throws -> KeyRotate {
        let message = possessionBytes(chainID: chainID, patient: patient, oldKey: oldKey, newKey: newKey.publicKey)
        return KeyRotate(patient: patient, newKey: newKey.publicKey, possession: try newKey.sign(message, orAuxiliary: auxiliaryRandom))
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(patient)
        writer.write(newKey)
        writer.write(possession)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        patient = try reader.read()
        newKey = try reader.read()
        possession = try reader.read()
    }
}

extension SecretKey {
    /// Signs with `auxiliaryRandom` when given (reproducible tests and vectors), else with fresh randomness.
    func sign(_ message: [UInt8], orAuxiliary auxiliaryRandom: [UInt8]?) throws -> Signature {
        if let auxiliaryRandom { return try sign(message, auxiliaryRandom: auxiliaryRandom) }
        return try sign(message)
    }
}
