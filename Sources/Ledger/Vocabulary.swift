import Encoding

/// What an enrolled key may do. Codes are the canonical encoding of the role.
public enum Role: UInt64, CaseIterable, Sendable, Hashable, CanonicalCodable {
    case patient = 0
    case practitioner = 1
    case researcher = 2
    case caregiver = 3
    case auditor = 4
    /// An attribute authority's signing key.
    case authority = 5
    /// A practitioner allowed to invoke break-glass emergency access.
    case emergency = 6
    /// An organization's node key, which anchors access-audit batches.
    case node = 7

    public var name: String {
        switch self {
        case .patient: "patient"
        case .practitioner: "practitioner"
        case .researcher: "researcher"
        case .caregiver: "caregiver"
        case .auditor: "auditor"
        case .authority: "authority"
        case .emergency: "emergency"
        case .node: "node"
        }
    }

    public init?(name: String) {
        guard let role = Role.allCases.first(where: { $0.name == name }) else { return nil }
        self = role
    }

    public func encode(to writer: inout CanonicalWriter) { writer.write(uint: rawValue) }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        let raw = try reader.readTag()
        guard let role = Role(rawValue: raw) else { throw reader.unknownTag(raw, in: "Role") }
        self = role
    }
}

/// Actions a grant allows, as a bit set: read 1, write 2, share 4.
public struct Actions: OptionSet, Sendable, Hashable, CanonicalCodable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public static let read = Actions(rawValue: 1)
    public static let write = Actions(rawValue: 2)
    public static let share = Actions(rawValue: 4)
    public static let all: Actions = [.read, .write, .share]

    public var names: [String] {
        [(Actions.read, "read"), (.write, "write"), (.share, "share")].filter { contains($0.0) }.map(\.1)
    }

    public func encode(to writer: inout CanonicalWriter) { writer.write(uint: rawValue) }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        let raw = try reader.readUInt()
        guard raw & ~Actions.all.rawValue == 0 else { throw reader.invalidValue("unknown action bits \(raw)") }
        rawValue = raw
    }
}

/// What a delegate may do for the patient, as a bit set: grant 1, revoke 2, erase 4, register 8.
public struct DelegatedPowers: OptionSet, Sendable, Hashable, CanonicalCodable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public static let grant = DelegatedPowers(rawValue: 1)
    public static let revoke = DelegatedPowers(rawValue: 2)
    public static let erase = DelegatedPowers(rawValue: 4)
    public static let register = DelegatedPowers(rawValue: 8)
    public static let all: DelegatedPowers = [.grant, .revoke, .erase, .register]

    public func encode(to writer: inout CanonicalWriter) { writer.write(uint: rawValue) }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        let raw = try reader.readUInt()
        guard raw & ~DelegatedPowers.all.rawValue == 0 else { throw reader.invalidValue("unknown power bits \(raw)") }
        rawValue = raw
    }
}

/// Purposes of use, named by their HL7 v3 PurposeOfUse codes so the FHIR export maps them one to one.
public enum Purpose: String, CaseIterable, Sendable, Hashable, CanonicalCodable {
    case treatment = "TREAT"
    case emergencyTreatment = "ETREAT"
    case careManagement = "CAREMGT"
    case research = "HRESCH"
    case publicHealth = "PUBHLTH"
    case patientRequest = "PATRQT"

    public func encode(to writer: inout CanonicalWriter) { writer.write(string: rawValue) }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        let text = try reader.readString(limit: 16)
        guard let purpose = Purpose(rawValue: text) else { throw reader.invalidValue("unknown purpose \(text)") }
        self = purpose
    }
}

/// Who a grant is for: an enrolled participant (by key id), or an ABE policy expression (stored as text until the
/// attribute-based encryption release interprets it).
public enum Grantee: Sendable, Hashable, CanonicalCodable {
    case participant(Hash32)
    case policy(String)

    public func encode(to writer: inout CanonicalWriter) {
        switch self {
        case .participant(let id):
            writer.write(tag: 0)
            writer.write(id)
        case .policy(let text):
            writer.write(tag: 1)
            writer.write(string: text)
        }
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        let tag = try reader.readTag()
        switch tag {
        case 0: self = .participant(try reader.read())
        case 1: self = .policy(try reader.readString(limit: Limits.policyBytesMax))
        default: throw reader.unknownTag(tag, in: "Grantee")
        }
    }
}

/// What a grant covers: named shadows and/or whole categories of the patient's shadows.
public struct Scope: Sendable, Hashable, CanonicalCodable {
    public var shadows: [Hash32]
    public var categories: [String]

    public init(shadows: [Hash32] = [], categories: [String] = []) {
        self.shadows = shadows
        self.categories = categories
    }

    public var isEmpty: Bool { shadows.isEmpty && categories.isEmpty }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(list: shadows)
        writer.write(list: categories)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        shadows = try reader.readList(of: Hash32.self, limit: Limits.scopeItemsMax)
        categories = try reader.readList(limit: Limits.scopeItemsMax) { (r: inout CanonicalReader) throws(CanonicalDecodingError) in
            try r.readString(limit: Limits.categoryBytesMax)
        }
    }
}

/// Bounds on transaction fields, checked while decoding and by the rules.
public enum Limits {
    /// Largest encoded signed transaction accepted.
    public static let transactionBytesMax = 64 << 10
    public static let policyBytesMax = 4 << 10
    public static let categoryBytesMax = 64
    public static let scopeItemsMax = 64
    public static let organizationBytesMax = 64
    public static let reasonBytesMax = 512
    public static let attributesMax = 256
    public static let attributeKeyBytesMax = 1 << 10
    public static let envelopesMax = 64
    public static let evidenceBytesMax = 4 << 10
    public static let validatorChangesMax = 64
}

/// Category labels: lower-case dotted words such as `neuro.mri` or `medication.schedule`, at most 64 bytes.
public func isValidCategory(_ text: String) -> Bool {
    guard !text.isEmpty, text.utf8.count <= Limits.categoryBytesMax else { return false }
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    return parts.allSatisfy { part in
        !part.isEmpty && part.utf8.allSatisfy { c in
            (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
                || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
        }
    }
}

/// A category covers another if it is equal or a dotted prefix of it: `neuro` covers `neuro.mri`.
public func category(_ scope: String, covers category: String) -> Bool {
    category == scope || category.hasPrefix(scope + ".")
}

/// Organization and authority names: 1-64 bytes of letters, digits, `_` and `-` (they prefix attribute names).
public func isValidName(_ text: String) -> Bool {
    !text.isEmpty && text.utf8.count <= Limits.organizationBytesMax
        && text.utf8.allSatisfy { c in
            (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
                || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
        }
}
