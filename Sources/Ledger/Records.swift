import ABE
import Encoding
import TwinCrypto

/// A genesis organization: it enrolls participants and signs governance transactions.
public struct Organization: Sendable, Hashable, CanonicalCodable {
    public var name: String
    public var key: PublicKey

    public init(name: String, key: PublicKey) {
        self.name = name
        self.key = key
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(string: name)
        writer.write(key)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        name = try reader.readString(limit: Limits.organizationBytesMax)
        key = try PublicKey.stored(&reader)
    }
}

extension PublicKey {
    /// A key inside a record read back from the ledger's state: it was checked on the curve when its transaction was
    /// admitted, so decoding skips that check (it would dominate the cost of executing a transaction); a record that
    /// is not what the ledger wrote yields a key that verifies nothing.
    static func stored(_ reader: inout CanonicalReader) throws(CanonicalDecodingError) -> PublicKey {
        guard let key = PublicKey(uncheckedBytes: try reader.readFixed(32)) else {
            throw reader.invalidValue("public key is not 32 bytes")
        }
        return key
    }
}

/// An enrolled key. Patients carry a pseudonymous id that stays theirs if they later rotate keys.
public struct Participant: Sendable, Hashable, CanonicalCodable {
    public var key: PublicKey
    public var role: Role
    public var organization: String
    public var patientID: Hash32?
    public var enrolledHeight: UInt64

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(key)
        writer.write(role)
        writer.write(string: organization)
        writer.write(optional: patientID)
        writer.write(uint: enrolledHeight)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        key = try PublicKey.stored(&reader)
        role = try reader.read()
        organization = try reader.readString(limit: Limits.organizationBytesMax)
        patientID = try reader.readOptional(Hash32.self)
        enrolledHeight = try reader.readUInt()
    }

    init(key: PublicKey, role: Role, organization: String, patientID: Hash32?, enrolledHeight: UInt64) {
        (self.key, self.role, self.organization) = (key, role, organization)
        (self.patientID, self.enrolledHeight) = (patientID, enrolledHeight)
    }
}

/// A consent grant as the ledger keeps it, including how it ended.
public struct Grant: Sendable, Hashable, CanonicalCodable {
    public var id: Hash32
    public var patient: Hash32
    public var grantee: Grantee
    public var actions: Actions
    public var scope: Scope
    public var purpose: Purpose
    public var validFrom: UInt64
    public var validUntil: UInt64?
    /// Key id of the signer who granted (the patient or a delegate).
    public var grantor: Hash32
    public var createdHeight: UInt64
    public var revokedHeight: UInt64?
    public var revokedBy: Hash32?
    /// Present for break-glass grants: the stated emergency.
    public var breakGlassReason: String?
    /// The data keys the grant carries for its participant grantee (`consent.grant`'s envelopes).
    public var envelopes: [ShadowEnvelope]

    public var isBreakGlass: Bool { breakGlassReason != nil }

    /// Active at `time` (unix seconds): not revoked and inside its validity period.
    public func isActive(at time: UInt64) -> Bool {
        revokedHeight == nil && validFrom <= time && (validUntil.map { time < $0 } ?? true)
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(id)
        writer.write(patient)
        writer.write(grantee)
        writer.write(actions)
        writer.write(scope)
        writer.write(purpose)
        writer.write(uint: validFrom)
        writer.write(optional: validUntil)
        writer.write(grantor)
        writer.write(uint: createdHeight)
        writer.write(optional: revokedHeight)
        writer.write(optional: revokedBy)
        writer.write(optional: breakGlassReason)
        writer.write(list: envelopes)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        id = try reader.read()
        patient = try reader.read()
        grantee = try reader.read()
        actions = try reader.read()
        scope = try reader.read()
        purpose = try reader.read()
        validFrom = try reader.readUInt()
        validUntil = try reader.readOptional(UInt64.self)
        grantor = try reader.read()
        createdHeight = try reader.readUInt()
        revokedHeight = try reader.readOptional(UInt64.self)
        revokedBy = try reader.readOptional(Hash32.self)
        breakGlassReason = try reader.readOptional(String.self)
        envelopes = try reader.readList(of: ShadowEnvelope.self, limit: Limits.envelopesMax)
    }

    init(id: Hash32, patient: Hash32, grantee: Grantee, actions: Actions, scope: Scope, purpose: Purpose,
         validFrom: UInt64, validUntil: UInt64?, grantor: Hash32, createdHeight: UInt64, breakGlassReason: String?,
         envelopes: [ShadowEnvelope] = []) {
        (self.id, self.patient, self.grantee, self.actions, self.scope) = (id, patient, grantee, actions, scope)
        (self.purpose, self.validFrom, self.validUntil, self.grantor) = (purpose, validFrom, validUntil, grantor)
        (self.createdHeight, self.breakGlassReason, self.envelopes) = (createdHeight, breakGlassReason, envelopes)
    }
}

/// A delegation of consent management from a patient to a delegate.
public struct Delegation: Sendable, Hashable, CanonicalCodable {
    public var id: Hash32
    public var patient: Hash32
    public var delegate: Hash32
    public var powers: DelegatedPowers
    /// Empty: every category.
    public var categories: [String]
    public var validUntil: UInt64?
    public var createdHeight: UInt64
    public var revokedHeight: UInt64?

    public func isActive(at time: UInt64) -> Bool {
        revokedHeight == nil && (validUntil.map { time < $0 } ?? true)
    }

    /// True if the delegation lets its delegate use `power` over every one of `categories`.
    public func allows(_ power: DelegatedPowers, over needed: [String], at time: UInt64) -> Bool {
        guard isActive(at: time), powers.contains(power) else { return false }
        if categories.isEmpty { return true }
        return needed.allSatisfy { n in categories.contains { category($0, covers: n) } }
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(id)
        writer.write(patient)
        writer.write(delegate)
        writer.write(powers)
        writer.write(list: categories)
        writer.write(optional: validUntil)
        writer.write(uint: createdHeight)
        writer.write(optional: revokedHeight)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        id = try reader.read()
        patient = try reader.read()
        delegate = try reader.read()
        powers = try reader.read()
        categories = try reader.readList(of: String.self, limit: Limits.scopeItemsMax)
        validUntil = try reader.readOptional(UInt64.self)
        createdHeight = try reader.readUInt()
        revokedHeight = try reader.readOptional(UInt64.self)
    }

    init(id: Hash32, patient: Hash32, delegate: Hash32, powers: DelegatedPowers, categories: [String],
         validUntil: UInt64?, createdHeight: UInt64) {
        (self.id, self.patient, self.delegate, self.powers) = (id, patient, delegate, powers)
        (self.categories, self.validUntil, self.createdHeight) = (categories, validUntil, createdHeight)
    }
}

/// The current version of a shadow.
public struct Shadow: Sendable, Hashable, CanonicalCodable {
    public var registration: ShadowRegister
    public var registeredBy: Hash32
    public var height: UInt64
    public var erasedHeight: UInt64?

    public var isErased: Bool { erasedHeight != nil }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(registration)
        writer.write(registeredBy)
        writer.write(uint: height)
        writer.write(optional: erasedHeight)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        registration = try reader.read()
        registeredBy = try reader.read()
        height = try reader.readUInt()
        erasedHeight = try reader.readOptional(UInt64.self)
    }

    init(registration: ShadowRegister, registeredBy: Hash32, height: UInt64) {
        self.registration = registration
        self.registeredBy = registeredBy
        self.height = height
    }
}

/// An attribute authority's current state: its RW15 public key for the current epoch and its attributes' versions.
public struct Authority: Sendable, Hashable, CanonicalCodable {
    public var name: String
    /// Key id of the authority key that published and alone may rotate, revise and issue.
    public var key: Hash32
    public var epoch: UInt64
    /// The `AuthorityPublicKey` encoding of Docs/abe.md for `epoch`.
    public var publicKey: [UInt8]
    public var attributes: [AttributeVersion]
    /// The height of the last change.
    public var height: UInt64

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(string: name)
        writer.write(key)
        writer.write(uint: epoch)
        writer.write(bytes: publicKey)
        writer.write(list: attributes)
        writer.write(uint: height)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        name = try reader.readString(limit: Limits.organizationBytesMax)
        key = try reader.read()
        epoch = try reader.readUInt()
        publicKey = try reader.readBytes(limit: Limits.attributeKeyBytesMax)
        attributes = try reader.readList(of: AttributeVersion.self, limit: Limits.attributesMax)
        height = try reader.readUInt()
    }

    init(name: String, key: Hash32, epoch: UInt64, publicKey: [UInt8], attributes: [AttributeVersion], height: UInt64) {
        (self.name, self.key, self.epoch, self.publicKey, self.attributes, self.height) =
            (name, key, epoch, publicKey, attributes, height)
    }

    /// The current version of `attribute`, nil if not declared.
    public func version(of attribute: String) -> UInt64? { attributes.first { $0.name == attribute }?.version }
}

/// The record of an attribute key issued to a user (`attribute.issue`), the latest per user and attribute.
public struct Issuance: Sendable, Hashable, CanonicalCodable {
    public var user: Hash32
    public var authority: String
    public var attribute: String
    public var version: UInt64
    public var epoch: UInt64
    public var digest: Hash32
    public var height: UInt64

    public init(user: Hash32, authority: String, attribute: String, version: UInt64, epoch: UInt64, digest: Hash32,
                height: UInt64) {
        (self.user, self.authority, self.attribute, self.version, self.epoch, self.digest, self.height) =
            (user, authority, attribute, version, epoch, digest, height)
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(user)
        writer.write(string: authority)
        writer.write(string: attribute)
        writer.write(uint: version)
        writer.write(uint: epoch)
        writer.write(digest)
        writer.write(uint: height)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        user = try reader.read()
        authority = try reader.readString(limit: Limits.organizationBytesMax)
        attribute = try reader.readString(limit: Limits.organizationBytesMax)
        version = try reader.readUInt()
        epoch = try reader.readUInt()
        digest = try reader.read()
        height = try reader.readUInt()
    }
}

/// A patient's history chain: `head = SHA3-256(previous head || transaction id)` over every consent-related
/// transaction touching the patient, starting from 32 zero bytes, with the number of entries.
public struct HistoryHead: Sendable, Hashable, CanonicalCodable {
    public var count: UInt64
    public var head: Hash32

    public static let empty = HistoryHead(count: 0, head: .zero)

    public init(count: UInt64, head: Hash32) {
        self.count = count
        self.head = head
    }

    /// The head after appending `transaction`.
    public func appending(_ transaction: Hash32) -> HistoryHead {
        HistoryHead(count: count + 1, head: Hashing.sha3(parts: [head.bytes, transaction.bytes]))
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(uint: count)
        writer.write(head)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        count = try reader.readUInt()
        head = try reader.read()
    }
}

/// An anchored batch of a node's access-log records.
public struct AnchorRecord: Sendable, Hashable, CanonicalCodable {
    public var node: Hash32
    public var anchor: AuditAnchor
    public var height: UInt64

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(node)
        writer.write(anchor)
        writer.write(uint: height)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        node = try reader.read()
        anchor = try reader.read()
        height = try reader.readUInt()
    }

    init(node: Hash32, anchor: AuditAnchor, height: UInt64) {
        (self.node, self.anchor, self.height) = (node, anchor, height)
    }
}

/// Chain-wide parameters fixed by the genesis file.
public struct LedgerParameters: Sendable, Hashable, CanonicalCodable {
    /// How long a break-glass grant lasts, in seconds.
    public var breakGlassSeconds: UInt64
    /// The categories a break-glass grant covers.
    public var emergencyCategories: [String]
    /// The ABE scheme's global setup (Docs/abe.md); this release implements only `ABEGlobalParameters.standard`.
    public var abe: ABEGlobalParameters

    public init(breakGlassSeconds: UInt64 = 4 * 3600, emergencyCategories: [String] = ["emergency"],
                abe: ABEGlobalParameters = .standard) {
        self.breakGlassSeconds = breakGlassSeconds
        self.emergencyCategories = emergencyCategories
        self.abe = abe
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(uint: breakGlassSeconds)
        writer.write(list: emergencyCategories)
        for text in [abe.group, abe.hashToCurve, abe.gidDomain, abe.attributeDomain, abe.kdfInfo] { writer.write(string: text) }
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        breakGlassSeconds = try reader.readUInt()
        emergencyCategories = try reader.readList(of: String.self, limit: Limits.scopeItemsMax)
        var texts: [String] = []
        for _ in 0..<5 { texts.append(try reader.readString(limit: 256)) }
        abe = ABEGlobalParameters(group: texts[0], hashToCurve: texts[1], gidDomain: texts[2], attributeDomain: texts[3],
                                  kdfInfo: texts[4])
    }
}

/// The pseudonymous id of a patient enrolled with `key`: SHA3-256("TwinLedger/patient-id/v1" || key). It names the
/// patient on the ledger and does not change if the patient later rotates keys.
public func patientID(for key: PublicKey) -> Hash32 {
    Hashing.sha3(parts: [Array("TwinLedger/patient-id/v1".utf8), key.bytes])
}
