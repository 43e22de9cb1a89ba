import Encoding
import KeyValue
import TwinCrypto

/// A request to upload a shadow's payload for a patient, signed by the uploader (Docs/shadows.md, "Upload"); it
/// travels hex-encoded in the `TwinLedger-Upload` header in front of the streamed payload.
///
/// Encoding: `version 0x01 | chain_id:string | uploader:pubkey32 | patient:hash32 | size:uint | media_type:string |
/// time_ms:uint | nonce:bytes(16)`, signed as every `SignedRequest` is, under the tag "TwinLedger/upload". `size`
/// is the payload's exact length: the node refuses a body that is longer or shorter, and checks it against its limits
/// and the patient's quota before it stores anything.
public struct UploadRequest: SignedRequestBody {
    public static let tag = "TwinLedger/upload"

    public var chainID: String
    public var uploader: PublicKey
    public var patient: Hash32
    public var size: UInt64
    public var mediaType: String
    public var timeMillis: UInt64
    public var nonce: [UInt8]

    public init(chainID: String, uploader: PublicKey, patient: Hash32, size: UInt64, mediaType: String, timeMillis: UInt64, nonce: [UInt8]) {
        (self.chainID, self.uploader, self.patient, self.size) = (chainID, uploader, patient, size)
        (self.mediaType, self.timeMillis, self.nonce) = (mediaType, timeMillis, nonce)
    }

    public var signer: PublicKey { uploader }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(string: chainID)
        writer.write(uploader)
        writer.write(patient)
        writer.write(uint: size)
        writer.write(string: mediaType)
        writer.write(uint: timeMillis)
        writer.write(bytes: nonce)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        chainID = try reader.readString(limit: 64)
        uploader = try reader.read()
        patient = try reader.read()
        size = try reader.readUInt()
        mediaType = try reader.readString(limit: 127)
        timeMillis = try reader.readUInt()
        nonce = try Self.readNonce(&reader)
    }
}

/// A signed upload request, in the `TwinLedger-Upload` header.
public typealias SignedUploadRequest = SignedRequest<UploadRequest>

/// Who may upload a payload for a patient: whoever could then register it as the patient's shadow (the patient, a
/// delegate with the register power, or a holder of an active write grant from the patient), so that nobody else
/// can fill a patient's quota. Pure, over one ledger state; `time` is unix seconds.
public enum UploadAccess {
    public static func check(uploader: Hash32, patient: Hash32, time: UInt64, state: any KeyValueReader) throws(AccessError) {
        guard try ReadAccess.record(Hash32.self, StateKey.patient(patient), state) != nil else {
            throw AccessError(.unknownPatient, "no patient \(patient.hex.prefix(16))… on the ledger")
        }
        if let participant = try ReadAccess.record(Participant.self, StateKey.participant(uploader), state),
            participant.role == .patient, participant.patientID == patient
        {
            return
        }
        for id in try ReadAccess.ids(StateKey.delegateDelegations(uploader, patient), state) {
            if let delegation = try ReadAccess.record(Delegation.self, StateKey.delegation(id), state),
                delegation.isActive(at: time), delegation.powers.contains(.register)
            {
                return
            }
        }
        for id in try ReadAccess.ids(StateKey.granteeGrants(uploader, patient), state) {
            if let grant = try ReadAccess.record(Grant.self, StateKey.grant(id), state), grant.isActive(at: time),
                grant.actions.contains(.write)
            {
                return
            }
        }
        throw AccessError(.noGrant, "neither the patient, a delegate who may register, nor holder of a write grant")
    }
}
