import ABE
import API
import ArgumentParser
import Encoding
import Foundation
import Ledger
import TwinCrypto

/// The wallet's side of attribute-based encryption (Docs/abe.md): authority records read from the ledger with their
/// state proofs checked, ABE key files, and wrapping or unwrapping a data key under a policy.
struct ABEWallet {
    let client: NodeClient

    /// An authority's record and RW15 public key from the ledger. The node's answer carries a proof of the record
    /// under the state root of a block; the proof is checked, and so is that block's header holding that root.
    func authority(_ name: String) async throws -> (record: Authority, publicKey: ABE.AuthorityPublicKey) {
        let key = StateKey.authority(name)
        let state: StateResponse = try await client.get("v1/state/\(Hex.encode(key))")
        guard let root = Hash32(hex: state.stateRoot), let proof = state.proof.decoded else {
            throw WalletError("the node's proof for authority \(name) does not parse")
        }
        let value = state.value.flatMap(Hex.decode)
        guard proof.verify(root: root, key: key, value: value) else {
            throw WalletError("the node's proof for authority \(name) does not verify against its state root")
        }
        let block: BlockResponse = try await client.get("v1/blocks/\(state.height)")
        guard block.header.stateRoot == state.stateRoot else {
            throw WalletError("the state root the node proved against is not block \(state.height)'s")
        }
        guard let value else { throw WalletError.refused("not_found", "authority \(name) has not published on this chain") }
        guard let record = try? Canonical.decode(Authority.self, from: value) else {
            throw WalletError("the authority record of \(name) does not decode")
        }
        do {
            return (record, try ABE.AuthorityPublicKey(bytes: record.publicKey))
        } catch {
            throw WalletError("authority \(name)'s published key does not decode: \(error)")
        }
    }

    /// Wraps `dataKey` under `policy` with the authorities' current keys and attribute versions from the ledger.
    func seal(_ dataKey: [UInt8], policy: ABE.Policy) async throws -> (envelope: ABEEnvelope, epochs: [String: UInt64]) {
        var keys: [String: ABE.AuthorityPublicKey] = [:], versions: [ABE.AttributeName: UInt64] = [:]
        for name in Set(policy.attributes.map(\.authority)).sorted() {
            let (record, publicKey) = try await authority(name)
            keys[name] = publicKey
            for attribute in policy.attributes where attribute.authority == name {
                guard let version = record.version(of: attribute.name) else {
                    throw WalletError.refused("not_found", "\(name) does not declare the attribute \(attribute.name)")
                }
                versions[attribute] = version
            }
        }
        var generator = SystemRandomNumberGenerator()
        let envelope = try ABEEnvelope.seal(dataKey, policy: policy, authorities: keys, versions: versions, using: &generator)
        return (envelope, keys.mapValues(\.epoch))
    }
}

extension StateProofJSON {
    /// The proof this JSON describes, or nil if it is malformed.
    var decoded: StateTree.Proof? {
        let hashes = siblings.compactMap { Hash32(hex: $0) }
        guard hashes.count == siblings.count else { return nil }
        switch terminal {
        case "empty": return StateTree.Proof(siblings: hashes, terminal: .empty)
        case "leaf":
            guard let key = leafKey.flatMap({ Hash32(hex: $0) }), let value = leafValue.flatMap({ Hash32(hex: $0) }) else { return nil }
            return StateTree.Proof(siblings: hashes, terminal: .leaf(key: key, value: value))
        default: return nil
        }
    }
}

/// ABE key files: a small JSON document with the key's canonical encoding (Docs/abe.md, "Encodings") in hex, written
/// with mode 0600 through a temporary file and a rename, never over an existing file.
enum ABEKeyFile {
    static let authorityFormat = "twinledger-abe-authority-key"
    static let attributeFormat = "twinledger-abe-attribute-key"

    static func write(_ bytes: [UInt8], format: String, fields: [String: Any], to path: String) throws {
        guard !FileManager.default.fileExists(atPath: path) else { throw ValidationError("\(path) exists; not overwriting it") }
        var document = fields
        document["format"] = format
        document["version"] = 1
        document["key"] = Hex.encode(bytes)
        let data = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
        let temporary = path + ".tmp-\(UUID().uuidString.prefix(8))"
        guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw ValidationError("cannot write \(temporary)")
        }
        if let handle = FileHandle(forWritingAtPath: temporary) { try handle.synchronize(); try handle.close() }
        try FileManager.default.moveItem(atPath: temporary, toPath: path)
    }

    static func read(_ path: String, format: String) throws -> [UInt8] {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        if let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue, mode & 0o077 != 0 {
            throw ValidationError("\(path) is readable by others (mode \(String(mode, radix: 8))): run chmod 600 \(path)")
        }
        guard let data = FileManager.default.contents(atPath: path),
              let document = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              document["format"] as? String == format, document["version"] as? Int == 1,
              let hex = document["key"] as? String, let bytes = Hex.decode(hex)
        else { throw ValidationError("\(path) is not a \(format) file") }
        return bytes
    }

    static func authoritySecret(_ path: String) throws -> ABE.AuthoritySecretKey {
        try ABE.AuthoritySecretKey(bytes: try read(path, format: authorityFormat))
    }

    static func attributeKey(_ path: String) throws -> ABE.AttributeKey {
        try ABE.AttributeKey(bytes: try read(path, format: attributeFormat))
    }
}
