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

/// ABE key files (Docs/abe.md, "Wallet commands"): a small JSON document with the key's canonical encoding in hex
/// (`key`), or sealed with a passphrase as secp256k1 key files are (`sealed`: scrypt and AES-256-GCM, the format
/// name as associated data), written with mode 0600 through a temporary file and a rename, never over an existing
/// file, and refused when group or others may read it.
enum ABEKeyFile {
    static let authorityFormat = "twinledger-abe-authority-key"
    static let attributeFormat = "twinledger-abe-attribute-key"

    struct Document: Codable {
        var format: String
        var version: Int
        var authority: String?
        var epoch: UInt64?
        var attribute: String?
        var attributeVersion: UInt64?
        var user: String?
        var key: String?
        var sealed: KeyFile.Sealed?

        enum CodingKeys: String, CodingKey {
            case format, version, authority, epoch, attribute, user, key, sealed
            case attributeVersion = "attribute_version"
        }
    }

    static func write(_ bytes: [UInt8], _ document: Document, passphrase: String?, to path: String) throws {
        var document = document
        if let passphrase {
            document.sealed = try KeyFile.seal(bytes, passphrase: passphrase, associatedData: Array(document.format.utf8))
        } else {
            document.key = Hex.encode(bytes)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try KeyFile.writePrivateFile(Array(try encoder.encode(document)) + [0x0A], to: path)
    }

    static func read(_ path: String, format: String, passphrase: String?) throws -> [UInt8] {
        let data = try KeyFile.readPrivateFile(path)
        guard let document = try? JSONDecoder().decode(Document.self, from: Data(data)), document.format == format,
              document.version == 1 else { throw ValidationError("\(path) is not a \(format) file") }
        if let sealed = document.sealed {
            guard let passphrase else { throw ValidationError("\(path) is sealed: give its passphrase") }
            return try KeyFile.unseal(sealed, passphrase: passphrase, associatedData: Array(format.utf8))
        }
        guard let bytes = document.key.flatMap(Hex.decode) else { throw ValidationError("\(path) holds no key") }
        return bytes
    }

    static func authoritySecret(_ path: String, passphrase: String?) throws -> ABE.AuthoritySecretKey {
        try ABE.AuthoritySecretKey(bytes: try read(path, format: authorityFormat, passphrase: passphrase))
    }

    static func attributeKey(_ path: String) throws -> ABE.AttributeKey {
        try ABE.AttributeKey(bytes: try read(path, format: attributeFormat, passphrase: nil))
    }
}

/// The passphrase of an authority's ABE master secret file (separate from the signing key's).
struct SecretPassphraseOptions: ParsableArguments {
    @Option(help: "Seal (or open) the ABE master secret with the passphrase in this environment variable.")
    var secretPassphraseEnv: String?
    @Option(help: "Or: with the passphrase on the first line of this file.") var secretPassphraseFile: String?

    func passphrase() throws -> String? { try readPassphrase(environment: secretPassphraseEnv, file: secretPassphraseFile) }
}
