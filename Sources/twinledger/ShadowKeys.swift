import ABE
import API
import ArgumentParser
import Encoding
import Foundation
import Ledger
import TwinCrypto

/// The wallet's handling of shadows' data keys (Docs/shadows.md, "Key envelopes"): finding the envelope a key may
/// open, unwrapping it, and wrapping a data key for other participants.
struct ShadowKeys {
    let client: NodeClient
    let chainID: String
    let key: SecretKey
    /// Keys this wallet's owner rotated away from (`keys rotate`): envelopes made for them before the rotation open
    /// with them.
    var previousKeys: [SecretKey] = []

    /// A shadow's record on the ledger.
    func shadow(_ id: Hash32) async throws -> Shadow {
        let state: StateResponse = try await client.get("v1/state/\(Hex.encode(StateKey.shadow(id)))")
        guard let value = state.value.flatMap(Hex.decode), let record = try? Canonical.decode(Shadow.self, from: value) else {
            throw WalletError.refused("unknown_shadow", "no shadow \(id.hex) on the ledger")
        }
        return record
    }

    /// One blob of shadow `id` through a signed read (`path` is the route: the blob's or the payload's).
    func read(_ path: String, shadow id: Hash32, blob: Hash32, purpose: Purpose) async throws -> Data {
        let request = ReadRequest(chainID: chainID, requester: key.publicKey, shadow: id, blob: blob, purpose: purpose,
                                  timeMillis: UInt64(Date().timeIntervalSince1970 * 1_000), nonce: SecureRandom.bytes(16))
        let header = try SignedReadRequest(signing: request, with: key).headerValue
        return try await client.raw(client.request(path, headers: ["TwinLedger-Read": header]))
    }

    /// Like `read`, into a temporary file (the payload of a large shadow never sits in memory).
    func download(_ path: String, shadow id: Hash32, blob: Hash32, purpose: Purpose) async throws -> URL {
        let request = ReadRequest(chainID: chainID, requester: key.publicKey, shadow: id, blob: blob, purpose: purpose,
                                  timeMillis: UInt64(Date().timeIntervalSince1970 * 1_000), nonce: SecureRandom.bytes(16))
        let header = try SignedReadRequest(signing: request, with: key).headerValue
        var http = client.request(path, headers: ["TwinLedger-Read": header])
        http.timeoutInterval = 3_600
        return try await client.download(http)
    }

    /// Where this key's envelope for the shadow's current version is: named for it at registration, or carried by a
    /// grant to it (an active one first; an ended one's is still tried, so that the node says why it refuses). Nil if
    /// there is none.
    func envelope(of record: Shadow) async throws -> Hash32? { try await envelopeAndKey(of: record)?.address }

    /// `envelope(of:)` with the key that opens it: this key, or one of `previousKeys` for an envelope made for it.
    func envelopeAndKey(of record: Shadow) async throws -> (address: Hash32, key: SecretKey)? {
        let registration = record.registration
        let me = key.publicKey.keyID
        if let own = registration.envelopes.first(where: { $0.recipient == me }) { return (own.address, key) }
        for previous in previousKeys {
            if let own = registration.envelopes.first(where: { $0.recipient == previous.publicKey.keyID }) { return (own.address, previous) }
        }
        let grants: GrantsResponse = try await client.get("v1/patients/\(registration.patient.hex)/grants")
        for grant in grants.grants.sorted(by: { $0.active && !$1.active }) where grant.granteeKeyID == me.hex {
            if let carried = grant.envelopes.first(where: {
                $0.shadow == registration.shadow.hex && $0.version == registration.version
            }) {
                return Hash32(hex: carried.address).map { ($0, key) }
            }
        }
        return nil
    }

    /// The shadow's data key, from this key's envelope, or else from the policy envelope with `attributeKeys`
    /// (each fetched with a signed read for `purpose`).
    func dataKey(of record: Shadow, purpose: Purpose, attributeKeys: [ABE.AttributeKey] = []) async throws -> [UInt8] {
        let id = record.registration.shadow
        if let policy = record.registration.policy, !attributeKeys.isEmpty, try await envelope(of: record) == nil {
            let bytes = try await read("v1/shadows/\(id.hex)/blobs/\(policy.address.hex)", shadow: id, blob: policy.address, purpose: purpose)
            do {
                return try ABEEnvelope(bytes: [UInt8](bytes)).open(gid: key.publicKey.bytes, keys: attributeKeys)
            } catch {
                throw WalletError.refused(error.code.rawValue, "the policy envelope (\(policy.policy)) does not open with these "
                    + "attribute keys: \(error.message)")
            }
        }
        guard let (address, opener) = try await envelopeAndKey(of: record) else {
            // No key here: the node's answer to reading the manifest says whether the read is refused, and why.
            _ = try await read("v1/shadows/\(id.hex)/blobs/\(record.registration.manifest.hex)", shadow: id,
                               blob: record.registration.manifest, purpose: purpose)
            throw WalletError("shadow \(id.hex.prefix(16))… may be read, but has no key envelope for this key at version "
                + "\(record.registration.version) (the patient wraps its data key for a grantee when granting)")
        }
        let bytes = try await read("v1/shadows/\(id.hex)/blobs/\(address.hex)", shadow: id, blob: address, purpose: purpose)
        return try KeyEnvelope(bytes: [UInt8](bytes)).unwrap(with: opener)
    }

    /// Wraps `dataKey` for `recipient` and uploads the envelope as a blob of `patient`'s; returns its address.
    func uploadEnvelope(_ dataKey: [UInt8], for recipient: PublicKey, patient: Hash32) async throws -> Hash32 {
        let envelope = try KeyEnvelope.wrap(dataKey: dataKey, for: recipient)
        return try await uploadBlob(envelope.bytes, mediaType: "application/vnd.twinledger.key-envelope", patient: patient)
    }

    /// Uploads `bytes` (an envelope) as one blob of `patient`'s; returns its content address.
    func uploadBlob(_ bytes: [UInt8], mediaType: String, patient: Hash32) async throws -> Hash32 {
        let path = NSTemporaryDirectory() + "twinledger-envelope-\(UUID().uuidString).bin"
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let stored = try await uploadFile(URL(fileURLWithPath: path), size: UInt64(bytes.count), mediaType: mediaType,
                                          patient: patient, key: key, chainID: chainID, client: client, quiet: true)
        guard let address = stored.chunks.first.flatMap({ Hash32(hex: $0) }), address == Hashing.sha3(bytes) else {
            throw WalletError("the node stored the envelope under an unexpected address")
        }
        return address
    }

    /// An enrolled participant's public key, from the ledger.
    func publicKey(of keyID: Hash32) async throws -> PublicKey {
        let account: AccountResponse = try await client.get("v1/accounts/\(keyID.hex)")
        guard let hex = account.participant?.publicKey, let bytes = Hex.decode(hex), let key = try? PublicKey(bytes: bytes),
            key.keyID == keyID
        else {
            throw WalletError.refused("not_found", "key \(keyID.hex.prefix(16))… is not an enrolled participant")
        }
        return key
    }

    /// The patient's live shadows that `scope` covers (named, or within its categories).
    func shadows(of patient: Hash32, coveredBy scope: Scope) async throws -> [Shadow] {
        let listed: ShadowsResponse = try await client.get("v1/patients/\(patient.hex)/shadows")
        var result: [Shadow] = []
        for item in listed.shadows where item.erasedHeight == nil {
            guard let id = Hash32(hex: item.id) else { continue }
            let named = scope.shadows.contains(id)
            let inCategories = item.categories.allSatisfy { needed in scope.categories.contains { category($0, covers: needed) } }
            if named || (!item.categories.isEmpty && inCategories) { result.append(try await shadow(id)) }
        }
        return result
    }

    /// The participants holding an active read grant of `patient`'s that covers a shadow with `id` and `categories`:
    /// who should get a new version's data key.
    func readers(of patient: Hash32, shadow id: Hash32, categories: [String]) async throws -> [PublicKey] {
        let grants: GrantsResponse = try await client.get("v1/patients/\(patient.hex)/grants?active=true")
        var keys: [PublicKey] = []
        for grant in grants.grants where grant.actions.contains("read") {
            guard let granteeHex = grant.granteeKeyID, let grantee = Hash32(hex: granteeHex) else { continue }
            let covers = grant.shadows.contains(id.hex)
                || categories.allSatisfy { needed in grant.categories.contains { category($0, covers: needed) } }
            guard covers, !keys.contains(where: { $0.keyID == grantee }) else { continue }
            keys.append(try await publicKey(of: grantee))
        }
        return keys
    }
}
