import Pairing
import Synchronization

/// Rouselakis–Waters 2015 multi-authority ciphertext-policy ABE on BLS12-381 (Type-3: keys' K and the ciphertext's
/// C4 in G1; K', C2, C3 in G2), as ../shared/ABE-RW15.md restates it and Docs/abe.md documents it.
///
/// Global setup is fixed: the generators, gT = e(g1, g2), and the two hashes to G1 below; nothing secret.
public enum RW15 {
    /// The domain separation tag of H(GID) (RFC 9380 hash to G1).
    public static let gidDomain = Array("TWINLEDGER-V01-ABE-GID_".utf8)
    /// The domain separation tag of F(attribute label).
    public static let attributeDomain = Array("TWINLEDGER-V01-ABE-ATTR_".utf8)

    /// H(GID).
    public static func hashIdentity(_ gid: [UInt8]) -> G1Point {
        // The tag is a non-empty constant and the length fixed, the only refusals hashing has.
        (try? G1Point.hash(gid, domain: gidDomain)) ?? .identity
    }

    /// F(u) for the label `AUTHORITY.name#version`.
    public static func hashAttribute(_ attribute: VersionedAttribute) -> G1Point {
        (try? G1Point.hash(Array(attribute.label.utf8), domain: attributeDomain)) ?? .identity
    }

    /// Encrypts `message` (an element of GT) under `policy`: each row's attribute at the version `versions` gives it,
    /// each authority under the public key `authorities` gives. Refuses an authority without a key or an attribute
    /// without a version.
    public static func encrypt(
        _ message: Fp12, policy: Policy, authorities: [String: AuthorityPublicKey], versions: [AttributeName: UInt64],
        using generator: inout some RandomNumberGenerator
    ) throws(ABEError) -> ABECiphertext {
        let matrix = LSSSMatrix(policy)
        var rowVersions: [UInt64] = []
        var epochs: [String: UInt64] = [:]
        for attribute in matrix.attributes {
            guard let key = authorities[attribute.authority] else {
                throw ABEError(.unknownAuthority, "no public key for authority \(attribute.authority)")
            }
            guard key.authority == attribute.authority else {
                throw ABEError(.invalidKey, "the key given for \(attribute.authority) is \(key.authority)'s")
            }
            guard let version = versions[attribute] else {
                throw ABEError(.unknownAuthority, "no version for attribute \(attribute)")
            }
            rowVersions.append(version)
            epochs[attribute.authority] = key.epoch
        }
        var randomness = EncryptionRandomness(z: Fr.random(using: &generator))
        for _ in 1..<matrix.columnCount {
            randomness.v.append(Fr.random(using: &generator))
            randomness.w.append(Fr.random(using: &generator))
        }
        for _ in matrix.attributes { randomness.t.append(Fr.random(using: &generator)) }
        return try encrypt(message, matrix: matrix, policy: policy, authorities: authorities, rowVersions: rowVersions,
                           epochs: epochs, randomness: randomness)
    }

    /// The secrets of one encryption: z, v₂…v_l, w₂…w_l, and tₓ per row (explicit here so that tests can replay an
    /// independent implementation's encryption).
    struct EncryptionRandomness {
        var z: Fr
        var v: [Fr] = []
        var w: [Fr] = []
        var t: [Fr] = []
    }

    static func encrypt(
        _ message: Fp12, matrix: LSSSMatrix, policy: Policy, authorities: [String: AuthorityPublicKey], rowVersions: [UInt64],
        epochs: [String: UInt64], randomness: EncryptionRandomness
    ) throws(ABEError) -> ABECiphertext {
        guard randomness.v.count == matrix.columnCount - 1, randomness.w.count == matrix.columnCount - 1,
              randomness.t.count == matrix.attributes.count else {
            throw ABEError(.invalidKey, "encryption randomness of the wrong shape")
        }
        let lambdas = matrix.shares(of: [randomness.z] + randomness.v), omegas = matrix.shares(of: [Fr.zero] + randomness.w)
        var rows: [ABECiphertext.Row] = []
        var tablesByAuthority: [String: Precomputed.Tables] = [:]
        for (index, attribute) in matrix.attributes.enumerated() {
            guard let key = authorities[attribute.authority] else {
                throw ABEError(.unknownAuthority, "no public key for authority \(attribute.authority)")
            }
            let tables = tablesByAuthority[attribute.authority] ?? Precomputed.shared.tables(for: key)
            tablesByAuthority[attribute.authority] = tables
            let t = randomness.t[index]
            let label = VersionedAttribute(attribute, version: rowVersions[index])
            rows.append(ABECiphertext.Row(
                c1: Precomputed.gT.power(lambdas[index]) * tables.eGGAlpha.power(t),
                c2: Precomputed.g2.multiply(-t),
                c3: tables.g2y.multiply(t) + Precomputed.g2.multiply(omegas[index]),
                c4: Precomputed.shared.attributeHash(label).multiplied(by: t)))
        }
        return ABECiphertext(policy: policy, versions: rowVersions, epochs: epochs,
                             c0: message * Precomputed.gT.power(randomness.z), rows: rows)
    }

    /// Recovers the message of `ciphertext` with the attribute keys of the user `gid`: only keys of that user, for the
    /// ciphertext's attribute versions and authority epochs, count. Refuses with not_satisfied when they do not
    /// satisfy the policy.
    ///
    /// One multi-pairing: gT^z = Π C1ₓ^cₓ · e(Kₓ^cₓ, C2ₓ)… · e(H(GID), Π C3ₓ^cₓ) · e(C4ₓ^cₓ, K'ₓ)…,
    /// 2|I| + 1 Miller loops and one final exponentiation; the cₓ are public.
    public static func decrypt(_ ciphertext: ABECiphertext, gid: [UInt8], keys: [AttributeKey]) throws(ABEError) -> Fp12 {
        try decrypt(ciphertext, gid: gid, keys: keys, shortExponents: true)
    }

    /// `shortExponents: false` forces the general path with full-size cₓ (tests compare the two).
    static func decrypt(
        _ ciphertext: ABECiphertext, gid: [UInt8], keys: [AttributeKey], shortExponents: Bool
    ) throws(ABEError) -> Fp12 {
        let attributes = ciphertext.policy.attributes
        var usable: [AttributeName: AttributeKey] = [:]
        for key in keys where key.gid == gid {
            guard let row = attributes.firstIndex(of: key.attribute.name),
                  key.attribute.version == ciphertext.versions[row],
                  key.epoch == ciphertext.epochs[key.attribute.name.authority] else { continue }
            usable[key.attribute.name] = key
        }
        let held = Set(usable.keys)
        // The exponent of each row as public limbs with a sign folded into the bases, and the final correction:
        // short integers c'ₓ over a denominator D (then one power by D⁻¹), or else the full constants in Z_r.
        var terms: [(row: Int, exponent: [UInt64], negative: Bool)] = []
        var correction: Fr?
        if shortExponents, let small = ciphertext.policy.smallReconstruction(for: held) {
            terms = small.terms.map { ($0.row, [$0.coefficient.magnitude], $0.coefficient < 0) }
            if small.denominator != 1 { correction = Fr(UInt64(small.denominator)).inverse }
        } else if let full = ciphertext.policy.reconstruction(for: held) {
            terms = full.map { ($0.row, $0.coefficient.plainLimbs, false) }
        } else {
            throw ABEError(.notSatisfied, "the keys held do not satisfy \(ciphertext.policy) at its versions and epochs")
        }
        var pairs: [(G1Point, G2Point)] = []
        var c1Product = Fp12.one, c3Sum = G2Point.identity
        for (row, e, negative) in terms {
            guard let key = usable[attributes[row]] else { continue }
            let part = ciphertext.rows[row]
            c1Product = c1Product * (negative ? part.c1.conjugate : part.c1).cyclotomicPow(e)
            c3Sum = c3Sum + (negative ? -part.c3 : part.c3).multiplied(byPublic: e)
            pairs.append(((negative ? -key.k : key.k).multiplied(byPublic: e), part.c2))
            pairs.append(((negative ? -part.c4 : part.c4).multiplied(byPublic: e), key.kPrime))
        }
        pairs.append((hashIdentity(gid), c3Sum))
        var gTz = c1Product * Pairing.multiPairing(pairs)  // gT^(D·z), D = 1 unless corrected
        if let correction { gTz = gTz.cyclotomicPow(correction.plainLimbs) }
        return ciphertext.c0 * gTz.conjugate  // in GT the inverse is the conjugate
    }
}

/// Precomputation shared by every encryption in the process: comb tables for g2 and gT, and per authority public key
/// for g2^y and gT^α (built on first use, about 10 ms and 0.9 MB each, at most `authoritiesMax` kept), and the
/// hashes F(u) of attribute labels (at most `attributesMax`). All of it is public.
final class Precomputed: Sendable {
    static let shared = Precomputed()
    static let g1 = FixedBaseTable(G1Point.generator)
    static let g2 = FixedBaseTable(G2Point.generator)
    static let gT = GTFixedBase(Fp12.gtGenerator)
    static let authoritiesMax = 32
    static let attributesMax = 4096

    struct Tables: Sendable {
        let eGGAlpha: GTFixedBase
        let g2y: FixedBaseTable<G2Curve>
    }

    let authorityTables = Mutex<[[UInt8]: Tables]>([:])
    let attributeHashes = Mutex<[String: G1Point]>([:])

    func tables(for key: AuthorityPublicKey) -> Tables {
        let id = key.bytes
        if let found = authorityTables.withLock({ $0[id] }) { return found }
        let built = Tables(eGGAlpha: GTFixedBase(key.eGGAlpha), g2y: FixedBaseTable(key.g2y))
        authorityTables.withLock { tables in
            if tables.count >= Precomputed.authoritiesMax { tables.removeAll() }
            tables[id] = built
        }
        return built
    }

    func attributeHash(_ attribute: VersionedAttribute) -> G1Point {
        let label = attribute.label
        if let found = attributeHashes.withLock({ $0[label] }) { return found }
        let point = RW15.hashAttribute(attribute)
        attributeHashes.withLock { hashes in
            if hashes.count >= Precomputed.attributesMax { hashes.removeAll() }
            hashes[label] = point
        }
        return point
    }
}

/// An attribute at a version: `AUTHORITY.name#version`, the string F hashes. A new version is how an authority takes
/// an attribute away from a holder (Docs/abe.md, "Epochs and versions").
public struct VersionedAttribute: Hashable, Sendable, CustomStringConvertible {
    public let name: AttributeName
    public let version: UInt64

    public init(_ name: AttributeName, version: UInt64) { (self.name, self.version) = (name, version) }

    public var label: String { "\(name)#\(version)" }
    public var description: String { label }
}

/// An authority's master secret (α, y) for one epoch. It signs nothing and never leaves the authority's machine.
public struct AuthoritySecretKey: Sendable {
    public let authority: String
    public let epoch: UInt64
    let alpha: Fr
    let y: Fr

    init(authority: String, epoch: UInt64, alpha: Fr, y: Fr) {
        (self.authority, self.epoch, self.alpha, self.y) = (authority, epoch, alpha, y)
    }

    /// A fresh key for `authority` (a name as in `AttributeName`) at `epoch`.
    public static func generate(
        authority: String, epoch: UInt64, using generator: inout some RandomNumberGenerator
    ) throws(ABEError) -> AuthoritySecretKey {
        guard AttributeName.isValidPart(authority) else {
            throw ABEError(.invalidPolicy, "an authority name is 1-64 of A-Z a-z 0-9 _ -, not '\(authority)'")
        }
        return AuthoritySecretKey(authority: authority, epoch: epoch,
                                  alpha: Fr.random(using: &generator), y: Fr.random(using: &generator))
    }

    /// PK = (gT^α, g2^y).
    public var publicKey: AuthorityPublicKey {
        AuthorityPublicKey(authority: authority, epoch: epoch, eGGAlpha: Precomputed.gT.power(alpha),
                           g2y: Precomputed.g2.multiply(y))
    }

    /// The key for `attribute` (one of this authority's) at `version`, bound to the user `gid`:
    /// K = g1^α · H(GID)^y · F(u)^t, K' = g2^t.
    public func issue(
        gid: [UInt8], attribute: AttributeName, version: UInt64, using generator: inout some RandomNumberGenerator
    ) throws(ABEError) -> AttributeKey {
        guard attribute.authority == authority else {
            throw ABEError(.invalidKey, "\(authority) issues its own attributes, not \(attribute)")
        }
        return issue(gid: gid, attribute: attribute, version: version, t: Fr.random(using: &generator))
    }

    func issue(gid: [UInt8], attribute: AttributeName, version: UInt64, t: Fr) -> AttributeKey {
        let label = VersionedAttribute(attribute, version: version)
        let k = Precomputed.g1.multiply(alpha) + RW15.hashIdentity(gid).multiplied(by: y)
            + Precomputed.shared.attributeHash(label).multiplied(by: t)
        return AttributeKey(gid: gid, attribute: label, epoch: epoch, k: k, kPrime: Precomputed.g2.multiply(t))
    }
}

/// An authority's public key for one epoch: (gT^α, g2^y), published on the ledger.
public struct AuthorityPublicKey: Equatable, Sendable {
    public let authority: String
    public let epoch: UInt64
    public let eGGAlpha: Fp12
    public let g2y: G2Point

    public init(authority: String, epoch: UInt64, eGGAlpha: Fp12, g2y: G2Point) {
        (self.authority, self.epoch, self.eGGAlpha, self.g2y) = (authority, epoch, eGGAlpha, g2y)
    }
}

/// A user's key for one attribute at one version, from the authority's key of one epoch.
public struct AttributeKey: Sendable, Equatable {
    public let gid: [UInt8]
    public let attribute: VersionedAttribute
    public let epoch: UInt64
    public let k: G1Point
    public let kPrime: G2Point

    public init(gid: [UInt8], attribute: VersionedAttribute, epoch: UInt64, k: G1Point, kPrime: G2Point) {
        (self.gid, self.attribute, self.epoch, self.k, self.kPrime) = (gid, attribute, epoch, k, kPrime)
    }
}

/// A ciphertext: the policy, each row's attribute version, each authority's epoch, C0 and the rows (C1…C4).
public struct ABECiphertext: Sendable, Equatable {
    public struct Row: Sendable, Equatable {
        public let c1: Fp12
        public let c2: G2Point
        public let c3: G2Point
        public let c4: G1Point

        public init(c1: Fp12, c2: G2Point, c3: G2Point, c4: G1Point) {
            (self.c1, self.c2, self.c3, self.c4) = (c1, c2, c3, c4)
        }
    }

    public let policy: Policy
    public let versions: [UInt64]
    public let epochs: [String: UInt64]
    public let c0: Fp12
    public let rows: [Row]

    public init(policy: Policy, versions: [UInt64], epochs: [String: UInt64], c0: Fp12, rows: [Row]) {
        (self.policy, self.versions, self.epochs, self.c0, self.rows) = (policy, versions, epochs, c0, rows)
    }

    /// The rows' attributes at their versions.
    public var attributes: [VersionedAttribute] {
        zip(policy.attributes, versions).map { VersionedAttribute($0, version: $1) }
    }
}

/// RW15's global setup (Docs/abe.md, "The scheme in one page"): the group, the hash to G1 and its two domain
/// separation tags, and the KDF label of data-key envelopes. Nothing secret. A chain records them in its genesis file
/// and state, and this release implements exactly `standard`: a genesis naming others is refused.
public struct ABEGlobalParameters: Sendable, Hashable, Codable {
    public var group: String
    public var hashToCurve: String
    public var gidDomain: String
    public var attributeDomain: String
    public var kdfInfo: String

    public init(group: String, hashToCurve: String, gidDomain: String, attributeDomain: String, kdfInfo: String) {
        (self.group, self.hashToCurve, self.gidDomain, self.attributeDomain, self.kdfInfo) =
            (group, hashToCurve, gidDomain, attributeDomain, kdfInfo)
    }

    public static let standard = ABEGlobalParameters(
        group: "BLS12-381", hashToCurve: "BLS12381G1_XMD:SHA-256_SSWU_RO_",
        gidDomain: String(decoding: RW15.gidDomain, as: UTF8.self),
        attributeDomain: String(decoding: RW15.attributeDomain, as: UTF8.self),
        kdfInfo: String(decoding: ABEEnvelope.kdfInfo, as: UTF8.self))

    enum CodingKeys: String, CodingKey {
        case group
        case hashToCurve = "hash_to_curve"
        case gidDomain = "gid_domain"
        case attributeDomain = "attribute_domain"
        case kdfInfo = "kdf_info"
    }
}
