import ABE
import CodedErrors
import Encoding
import KeyValue

/// The ledger's answer to "may this participant read this shadow, for this purpose, now?" (Docs/shadows.md,
/// "Reads"), computed from one state. Pure: the node asks it at its current height before serving any ciphertext.
///
/// Allowed: the shadow's own patient, or a participant holding a grant from that patient that is active at `time`
/// (not revoked, inside its validity period), includes the read action, states the same purpose, and covers the
/// shadow (names it, or its categories cover every category of the shadow; `cardio` covers `cardio.ecg`).
/// Break-glass access is a grant like any other (purpose `ETREAT`, the chain's emergency categories, a short
/// validity), so it is allowed the same way. A grant to an ABE policy allows the read when, besides those checks, the
/// requester's attribute issuances on the ledger (`attribute.issue`, at each attribute's current version and its
/// authority's current epoch) satisfy the policy: the node serves bytes only to those the ledger says can decrypt
/// them, while the encryption keeps the data from everyone else, a compromised node included.
///
/// When nothing allows the read, the refusal names the reason of the grant that came closest (checks in the order
/// scope, action, purpose, revocation, validity), so a practitioner learns that their grant expired rather than
/// only that they were refused.
public enum ReadAccess {
    /// Why a read is allowed.
    public enum Decision: Sendable, Hashable {
        /// The patient reads their own shadow.
        case patient
        /// This grant allows it.
        case grant(Hash32)

        public var grant: Hash32? { if case .grant(let id) = self { id } else { nil } }
    }

    /// What a read may fetch once it is allowed.
    public struct Allowed: Sendable, Hashable {
        public var decision: Decision
        public var shadow: Shadow
        /// Addresses of the key envelopes of the shadow's current version that are the requester's: those
        /// `shadow.register` names for the requester, its policy envelope, and the one the allowing grant carries.
        public var envelopes: [Hash32]
    }

    /// Whether `requester` may read shadow `id` for `purpose` at `time`. Among several grants that allow it, the one
    /// carrying the envelope `blob` (when a read asks for an envelope) is preferred, then the first in index order.
    public static func check(
        requester: Hash32, shadow id: Hash32, purpose: Purpose, time: UInt64, blob: Hash32? = nil, state: any KeyValueReader
    ) throws(AccessError) -> Allowed {
        guard let shadow = try record(Shadow.self, StateKey.shadow(id), state) else {
            throw AccessError(.unknownShadow, "no shadow \(id.hex.prefix(16))… on the ledger")
        }
        guard !shadow.isErased else { throw AccessError(.erased, "shadow \(id.hex.prefix(16))… was erased") }
        let registration = shadow.registration
        // The requester's own envelopes, and the policy envelope (encrypted for whoever satisfies the policy).
        let own = registration.envelopes.filter { $0.recipient == requester }.map(\.address)
            + (registration.policy.map { [$0.address] } ?? [])
        let patient = registration.patient
        if let participant = try record(Participant.self, StateKey.participant(requester), state),
            participant.role == .patient, participant.patientID == patient
        {
            // Envelopes made for keys the patient rotated away from (`key.rotate`) stay the patient's: the wallet
            // still holds those keys to open them.
            var retired: [Hash32] = []
            for envelope in registration.envelopes where envelope.recipient != requester {
                if let record = try Self.record(RetiredKey.self, StateKey.retiredKey(envelope.recipient), state),
                    record.patient == patient
                {
                    retired.append(envelope.address)
                }
            }
            return Allowed(decision: .patient, shadow: shadow, envelopes: own + retired)
        }
        let ids = try ids(StateKey.granteeGrants(requester, patient), state)
        var closest: (stage: Int, error: AccessError)?
        var first: Allowed?
        for grantID in ids {
            guard let grant = try record(Grant.self, StateKey.grant(grantID), state) else { continue }
            let (stage, refusal) = evaluate(grant, shadow: id, categories: registration.categories, purpose: purpose, time: time)
            if let refusal {
                if stage > (closest?.stage ?? -1) { closest = (stage, refusal) }
                continue
            }
            let carried = grant.envelopes.filter { $0.shadow == id && $0.version == registration.version }.map(\.address)
            let allowed = Allowed(decision: .grant(grantID), shadow: shadow, envelopes: own + carried)
            guard let blob, !carried.contains(blob) else { return allowed }
            if first == nil { first = allowed }
        }
        if let first { return first }
        // Grants to a policy: the patient's grants whose grantee is a policy the requester's issuances satisfy.
        var authorities: [String: Authority?] = [:]
        for grantID in try ReadAccess.ids(StateKey.patientGrants(patient), state) {
            guard let grant = try record(Grant.self, StateKey.grant(grantID), state),
                  case .policy(let text) = grant.grantee else { continue }
            let (stage, refusal) = evaluate(grant, shadow: id, categories: registration.categories, purpose: purpose, time: time)
            if let refusal {
                if stage > (closest?.stage ?? -1) { closest = (stage, refusal) }
                continue
            }
            if try holds(text, requester: requester, state: state, authorities: &authorities) {
                return Allowed(decision: .grant(grantID), shadow: shadow, envelopes: own)
            }
            if 5 > (closest?.stage ?? -1) {
                closest = (5, AccessError(.attributesNotHeld,
                                          "the attributes issued to the requester do not satisfy the grant's policy \(text)"))
            }
        }
        throw closest?.error ?? AccessError(.noGrant, "no grant from this shadow's patient to \(requester.hex.prefix(16))…")
    }

    /// Whether the attributes the ledger shows issued to `requester` — each at its current version, under its
    /// authority's current epoch — satisfy `policy`.
    static func holds(
        _ policy: String, requester: Hash32, state: any KeyValueReader, authorities: inout [String: Authority?]
    ) throws(AccessError) -> Bool {
        guard let parsed = try? ABE.Policy(parsing: policy) else { return false }
        var held = Set<ABE.AttributeName>()
        for attribute in parsed.attributes {
            let authority: Authority?
            if let cached = authorities[attribute.authority] {
                authority = cached
            } else {
                authority = try record(Authority.self, StateKey.authority(attribute.authority), state)
                authorities[attribute.authority] = authority
            }
            guard let authority, let version = authority.version(of: attribute.name),
                  let issued = try record(Issuance.self, StateKey.issuance(requester, attribute.authority, attribute.name), state),
                  issued.version == version, issued.epoch == authority.epoch else { continue }
            held.insert(attribute)
        }
        return parsed.isSatisfied(by: held)
    }

    /// How far `grant` gets through the checks, and why it stops (nil if it allows the read).
    static func evaluate(
        _ grant: Grant, shadow: Hash32, categories: [String], purpose: Purpose, time: UInt64
    ) -> (stage: Int, refusal: AccessError?) {
        let covers = grant.scope.shadows.contains(shadow)
            || (!categories.isEmpty && categories.allSatisfy { needed in grant.scope.categories.contains { category($0, covers: needed) } })
        guard covers else { return (0, AccessError(.scopeMismatch, "the grant's scope does not cover this shadow")) }
        guard grant.actions.contains(.read) else { return (1, AccessError(.actionNotGranted, "the grant does not include read")) }
        guard grant.purpose == purpose else {
            return (2, AccessError(.purposeMismatch, "the grant is for purpose \(grant.purpose.rawValue), not \(purpose.rawValue)"))
        }
        guard grant.revokedHeight == nil else {
            return (3, AccessError(.revoked, "the grant was revoked at height \(grant.revokedHeight ?? 0)"))
        }
        guard grant.validFrom <= time else { return (4, AccessError(.notYetValid, "the grant starts at \(grant.validFrom)")) }
        if let until = grant.validUntil, time >= until { return (4, AccessError(.expired, "the grant ended at \(until)")) }
        return (5, nil)
    }

    /// The ids that end the keys under `prefix` (index entries of grants and delegations).
    static func ids(_ prefix: [UInt8], _ state: any KeyValueReader) throws(AccessError) -> [Hash32] {
        var ids: [Hash32] = []
        do {
            try state.forEach(prefix: prefix, start: nil) { entry in
                if let id = Hash32(bytes: entry.key.suffix(32)) { ids.append(id) }
                return true
            }
        } catch {
            throw AccessError(.storage, "\(error)")
        }
        return ids
    }

    static func record<T: CanonicalDecodable>(_ type: T.Type, _ key: [UInt8], _ state: any KeyValueReader) throws(AccessError) -> T? {
        let bytes: [UInt8]?
        do { bytes = try state.get(key) } catch { throw AccessError(.storage, "\(error)") }
        guard let bytes else { return nil }
        do { return try Canonical.decode(T.self, from: bytes) } catch {
            throw AccessError(.storage, "stored \(T.self) does not decode: \(error)")
        }
    }
}

/// Why a read was refused (HTTP 403, or 404/410 for an unknown or erased shadow).
public typealias AccessError = CodedError<AccessErrors>

/// The family of `AccessError`.
public enum AccessErrors: ErrorDomain {
    public static let prefix = ""
}

extension CodedError<AccessErrors>.Code {
    /// No shadow with this id is registered.
    public static let unknownShadow = Self(rawValue: "unknown_shadow")
    /// No patient with this id is enrolled.
    public static let unknownPatient = Self(rawValue: "unknown_patient")
    /// The shadow was erased (HTTP 410).
    public static let erased = Self(rawValue: "erased")
    /// The patient has granted this requester nothing.
    public static let noGrant = Self(rawValue: "no_grant")
    /// No grant of this requester covers the shadow (neither names it nor covers all its categories).
    public static let scopeMismatch = Self(rawValue: "scope_mismatch")
    /// A covering grant does not include the read action.
    public static let actionNotGranted = Self(rawValue: "action_not_granted")
    /// A covering grant is for another purpose than the one stated.
    public static let purposeMismatch = Self(rawValue: "purpose_mismatch")
    /// The grant was revoked.
    public static let revoked = Self(rawValue: "revoked")
    /// A covering grant is to a policy that the attributes issued to the requester (at their current versions and
    /// epochs) do not satisfy.
    public static let attributesNotHeld = Self(rawValue: "attributes_not_held")
    /// The grant's validity ended.
    public static let expired = Self(rawValue: "expired")
    /// The grant's validity has not begun.
    public static let notYetValid = Self(rawValue: "not_yet_valid")
    /// The request's signature does not verify, or it is for another chain or malformed.
    public static let badRequest = Self(rawValue: "bad_request")
    /// The request's time is outside the accepted window.
    public static let stale = Self(rawValue: "stale")
    /// The request's nonce was already used within the window.
    public static let replayed = Self(rawValue: "replayed")
    /// The node remembers as many requests as it may within the window; retry later (HTTP 503).
    public static let busy = Self(rawValue: "busy")
    /// Reading the ledger state failed.
    public static let storage = Self(rawValue: "storage")
}
