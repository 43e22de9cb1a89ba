import Encoding
import TwinCrypto

/// One served read in a node's access log (Docs/shadows.md, "Access audit"): who read what of which patient, when,
/// under which grant and for which purpose. The node anchors its records in batches on the ledger (`audit.anchor`:
/// the Merkle root of the batch's canonical records, leaves in sequence order), so a patient can check each record
/// against a root the consortium agreed on.
///
/// Encoding: `version 0x01 | sequence:uint | time_ms:uint | node:hash32 | requester:hash32 | patient:hash32 |
/// shadow:hash32 | blob:hash32 | grant:optional<hash32> | purpose:string`. `node` is the key id that anchors the log
/// (the node's organization key); `grant` is absent when the patient read their own shadow.
public struct AccessRecord: Sendable, Hashable, CanonicalCodable {
    public var sequence: UInt64
    public var timeMillis: UInt64
    public var node: Hash32
    public var requester: Hash32
    public var patient: Hash32
    public var shadow: Hash32
    public var blob: Hash32
    public var grant: Hash32?
    public var purpose: Purpose

    public init(sequence: UInt64, timeMillis: UInt64, node: Hash32, requester: Hash32, patient: Hash32, shadow: Hash32,
                blob: Hash32, grant: Hash32?, purpose: Purpose) {
        (self.sequence, self.timeMillis, self.node, self.requester) = (sequence, timeMillis, node, requester)
        (self.patient, self.shadow, self.blob, self.grant, self.purpose) = (patient, shadow, blob, grant, purpose)
    }

    /// The record's leaf in its batch's Merkle tree.
    public var leaf: [UInt8] { Canonical.encode(self) }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(uint: sequence)
        writer.write(uint: timeMillis)
        writer.write(node)
        writer.write(requester)
        writer.write(patient)
        writer.write(shadow)
        writer.write(blob)
        writer.write(optional: grant)
        writer.write(purpose)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        sequence = try reader.readUInt()
        timeMillis = try reader.readUInt()
        node = try reader.read()
        requester = try reader.read()
        patient = try reader.read()
        shadow = try reader.read()
        blob = try reader.read()
        grant = try reader.readOptional(Hash32.self)
        purpose = try reader.read()
    }
}

/// A signed request for the accesses to a patient's shadows (the `TwinLedger-Accesses` header): only the patient or
/// an enrolled auditor may list them. Encoding: `version 0x01 | chain_id:string | requester:pubkey32 |
/// patient:hash32 | time_ms:uint | nonce:bytes(16)`, tag "TwinLedger/accesses".
public struct AccessListRequest: SignedRequestBody {
    public static let tag = "TwinLedger/accesses"

    public var chainID: String
    public var requester: PublicKey
    public var patient: Hash32
    public var timeMillis: UInt64
    public var nonce: [UInt8]

    public init(chainID: String, requester: PublicKey, patient: Hash32, timeMillis: UInt64, nonce: [UInt8]) {
        (self.chainID, self.requester, self.patient, self.timeMillis, self.nonce) = (chainID, requester, patient, timeMillis, nonce)
    }

    public var signer: PublicKey { requester }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(string: chainID)
        writer.write(requester)
        writer.write(patient)
        writer.write(uint: timeMillis)
        writer.write(bytes: nonce)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        chainID = try reader.readString(limit: 64)
        requester = try reader.read()
        patient = try reader.read()
        timeMillis = try reader.readUInt()
        nonce = try Self.readNonce(&reader)
    }
}

public typealias SignedAccessListRequest = SignedRequest<AccessListRequest>

/// A node's signed statement that it erased a shadow (Docs/shadows.md, "Erasure"): after `shadow.erase` committed at
/// `erasedHeight`, the node deleted the shadow's manifest, chunks and envelopes, and `remaining` of them are still
/// stored (0 when complete). Signed with the node's key (the one the genesis names), tag "TwinLedger/erasure", so an
/// auditor can collect one from every node and check each against the genesis.
///
/// Encoding: `version 0x01 | chain_id:string | node:pubkey32 | shadow:hash32 | erased_height:uint | manifest:hash32 |
/// deleted:uint | remaining:uint | time_ms:uint | nonce:bytes(16)`.
public struct ErasureReceipt: SignedRequestBody {
    public static let tag = "TwinLedger/erasure"

    public var chainID: String
    public var node: PublicKey
    public var shadow: Hash32
    public var erasedHeight: UInt64
    public var manifest: Hash32
    public var deleted: UInt64
    public var remaining: UInt64
    public var timeMillis: UInt64
    public var nonce: [UInt8]

    public init(chainID: String, node: PublicKey, shadow: Hash32, erasedHeight: UInt64, manifest: Hash32, deleted: UInt64,
                remaining: UInt64, timeMillis: UInt64, nonce: [UInt8]) {
        (self.chainID, self.node, self.shadow, self.erasedHeight, self.manifest) = (chainID, node, shadow, erasedHeight, manifest)
        (self.deleted, self.remaining, self.timeMillis, self.nonce) = (deleted, remaining, timeMillis, nonce)
    }

    public var signer: PublicKey { node }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(string: chainID)
        writer.write(node)
        writer.write(shadow)
        writer.write(uint: erasedHeight)
        writer.write(manifest)
        writer.write(uint: deleted)
        writer.write(uint: remaining)
        writer.write(uint: timeMillis)
        writer.write(bytes: nonce)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        chainID = try reader.readString(limit: 64)
        node = try reader.read()
        shadow = try reader.read()
        erasedHeight = try reader.readUInt()
        manifest = try reader.read()
        deleted = try reader.readUInt()
        remaining = try reader.readUInt()
        timeMillis = try reader.readUInt()
        nonce = try Self.readNonce(&reader)
    }
}

public typealias SignedErasureReceipt = SignedRequest<ErasureReceipt>
