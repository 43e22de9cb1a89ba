import Encoding

/// The ledger's state keys: one prefix byte per record type, then fixed-size ids (Docs/transactions.md, "State").
public enum StateKey {
    public static let participantPrefix: UInt8 = 0x01
    public static let organizationPrefix: UInt8 = 0x02
    public static let noncePrefix: UInt8 = 0x03
    public static let grantPrefix: UInt8 = 0x04
    public static let delegationPrefix: UInt8 = 0x05
    public static let shadowPrefix: UInt8 = 0x06
    public static let authorityPrefix: UInt8 = 0x07
    public static let historyHeadPrefix: UInt8 = 0x08
    public static let historyEntryPrefix: UInt8 = 0x09
    public static let patientGrantPrefix: UInt8 = 0x0A
    public static let patientDelegationPrefix: UInt8 = 0x0B
    public static let anchorPrefix: UInt8 = 0x0C
    public static let anchorHeadPrefix: UInt8 = 0x0D
    public static let validatorsUpdatePrefix: UInt8 = 0x0E
    public static let evidencePrefix: UInt8 = 0x0F
    public static let patientPrefix: UInt8 = 0x10
    public static let parametersKey: [UInt8] = [0x11]
    public static let patientShadowPrefix: UInt8 = 0x12
    public static let granteeGrantPrefix: UInt8 = 0x13
    public static let delegateDelegationPrefix: UInt8 = 0x14
    public static let shadowGrantEnvelopePrefix: UInt8 = 0x16
    public static let shadowVersionPrefix: UInt8 = 0x17
    public static let issuancePrefix: UInt8 = 0x18
    public static let policyEnvelopePrefix: UInt8 = 0x19
    public static let retiredEnvelopePrefix: UInt8 = 0x1A
    public static let validatorNodePrefix: UInt8 = 0x1B
    public static let retiredKeyPrefix: UInt8 = 0x1C

    /// Prefixes of lookup indexes. They are derivable from the authenticated records, so they stay out of the state
    /// tree (fewer hashes per transaction). Keys from 0x80 up are local too (chain records, tree nodes); everything
    /// else below 0x80 is authenticated.
    public static let localIndexPrefixes: Set<UInt8> = [
        historyEntryPrefix, patientGrantPrefix, patientDelegationPrefix, patientShadowPrefix, granteeGrantPrefix,
        delegateDelegationPrefix, shadowGrantEnvelopePrefix, shadowVersionPrefix, policyEnvelopePrefix,
        retiredEnvelopePrefix,
    ]

    /// Whether `key` is covered by the state root.
    public static func isAuthenticated(_ key: [UInt8]) -> Bool {
        guard let prefix = key.first, prefix < 0x80 else { return false }
        return !isLocalIndex[Int(prefix)]
    }

    /// `localIndexPrefixes` as a table over 0x00-0x7F, for the per-key check on the hot path.
    static let isLocalIndex: [Bool] = (0..<0x80).map { localIndexPrefixes.contains(UInt8($0)) }

    static func key(_ prefix: UInt8, _ ids: Hash32...) -> [UInt8] {
        var out = [prefix]
        out.reserveCapacity(1 + 32 * ids.count)
        for id in ids { id.withUnsafeBytes { out.append(contentsOf: $0) } }
        return out
    }

    public static func participant(_ keyID: Hash32) -> [UInt8] { key(participantPrefix, keyID) }
    public static func organization(_ keyID: Hash32) -> [UInt8] { key(organizationPrefix, keyID) }
    public static func nonce(_ keyID: Hash32) -> [UInt8] { key(noncePrefix, keyID) }
    public static func grant(_ id: Hash32) -> [UInt8] { key(grantPrefix, id) }
    public static func delegation(_ id: Hash32) -> [UInt8] { key(delegationPrefix, id) }
    public static func shadow(_ id: Hash32) -> [UInt8] { key(shadowPrefix, id) }
    public static func authority(_ name: String) -> [UInt8] { [authorityPrefix] + Array(name.utf8) }
    /// Index of current registrations' policy envelopes: authority name, 0x00, the epoch the envelope used (8 bytes,
    /// big-endian, so a range scan finds those below the current epoch), the shadow id.
    public static func policyEnvelope(_ authority: String, _ epoch: UInt64, _ shadow: Hash32) -> [UInt8] {
        policyEnvelopes(authority) + bigEndian(epoch) + shadow.bytes
    }
    public static func policyEnvelopes(_ authority: String) -> [UInt8] { [policyEnvelopePrefix] + Array(authority.utf8) + [0] }
    /// Policy envelopes a `shadow.rewrap` replaced: nodes delete their blobs (and erasure finds them here).
    public static func retiredEnvelope(_ shadow: Hash32, _ address: Hash32) -> [UInt8] { key(retiredEnvelopePrefix, shadow, address) }
    public static func retiredEnvelopes(_ shadow: Hash32) -> [UInt8] { key(retiredEnvelopePrefix, shadow) }

    /// The latest issuance of `AUTHORITY.attribute` to `user`: the user's key id, then the attribute's full name.
    public static func issuance(_ user: Hash32, _ authority: String, _ attribute: String) -> [UInt8] {
        key(issuancePrefix, user) + Array("\(authority).\(attribute)".utf8)
    }
    public static func historyHead(_ patient: Hash32) -> [UInt8] { key(historyHeadPrefix, patient) }
    public static func historyEntry(_ patient: Hash32, _ index: UInt64) -> [UInt8] {
        key(historyEntryPrefix, patient) + bigEndian(index)
    }
    public static func historyEntries(_ patient: Hash32) -> [UInt8] { key(historyEntryPrefix, patient) }
    public static func patientGrant(_ patient: Hash32, _ grant: Hash32) -> [UInt8] { key(patientGrantPrefix, patient, grant) }
    public static func patientGrants(_ patient: Hash32) -> [UInt8] { key(patientGrantPrefix, patient) }
    public static func patientDelegation(_ patient: Hash32, _ id: Hash32) -> [UInt8] {
        key(patientDelegationPrefix, patient, id)
    }
    public static func patientDelegations(_ patient: Hash32) -> [UInt8] { key(patientDelegationPrefix, patient) }
    public static func patientShadow(_ patient: Hash32, _ shadow: Hash32) -> [UInt8] {
        key(patientShadowPrefix, patient, shadow)
    }
    public static func patientShadows(_ patient: Hash32) -> [UInt8] { key(patientShadowPrefix, patient) }
    public static func granteeGrant(_ grantee: Hash32, _ patient: Hash32, _ grant: Hash32) -> [UInt8] {
        key(granteeGrantPrefix, grantee, patient, grant)
    }
    public static func granteeGrants(_ grantee: Hash32, _ patient: Hash32) -> [UInt8] {
        key(granteeGrantPrefix, grantee, patient)
    }
    public static func delegateDelegation(_ delegate: Hash32, _ patient: Hash32, _ id: Hash32) -> [UInt8] {
        key(delegateDelegationPrefix, delegate, patient, id)
    }
    public static func delegateDelegations(_ delegate: Hash32, _ patient: Hash32) -> [UInt8] {
        key(delegateDelegationPrefix, delegate, patient)
    }
    /// The envelope a grant carries for a shadow (value: the canonical `ShadowEnvelope`), so that replication and
    /// erasure find every envelope of a shadow without reading every grant.
    public static func shadowGrantEnvelope(_ shadow: Hash32, _ grant: Hash32) -> [UInt8] {
        key(shadowGrantEnvelopePrefix, shadow, grant)
    }
    public static func shadowGrantEnvelopes(_ shadow: Hash32) -> [UInt8] { key(shadowGrantEnvelopePrefix, shadow) }
    /// Every version a shadow had (value: its canonical `ShadowRegister`), so that erasure deletes them all.
    public static func shadowVersion(_ shadow: Hash32, _ version: UInt64) -> [UInt8] {
        key(shadowVersionPrefix, shadow) + bigEndian(version)
    }
    public static func shadowVersions(_ shadow: Hash32) -> [UInt8] { key(shadowVersionPrefix, shadow) }
    public static func anchor(_ node: Hash32, _ first: UInt64) -> [UInt8] { key(anchorPrefix, node) + bigEndian(first) }
    public static func anchorHead(_ node: Hash32) -> [UInt8] { key(anchorHeadPrefix, node) }
    public static func validatorsUpdate(_ tx: Hash32) -> [UInt8] { key(validatorsUpdatePrefix, tx) }
    /// A rotated validator key id → the id of the node that holds it (the node's P2P identity, which a rotation
    /// keeps). Absent for a key that was never rotated to: such a key's id is its node's id.
    public static func validatorNode(_ keyID: Hash32) -> [UInt8] { key(validatorNodePrefix, keyID) }
    /// A key a `key.rotate` retired → its `RetiredKey` record (the patient and the successor).
    public static func retiredKey(_ keyID: Hash32) -> [UInt8] { key(retiredKeyPrefix, keyID) }
    /// Patient id → the patient's current key id.
    public static func patient(_ patient: Hash32) -> [UInt8] { key(patientPrefix, patient) }

    static func bigEndian(_ value: UInt64) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }
}
