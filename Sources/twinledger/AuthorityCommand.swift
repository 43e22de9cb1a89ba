import ABE
import API
import ArgumentParser
import Encoding
import Foundation
import Ledger
import TwinCrypto

/// An attribute authority's commands (Docs/abe.md, "On the ledger"): publish its RW15 key and attributes, rotate to a
/// new epoch, add or raise attributes, and issue attribute keys to users, each recorded on the ledger.
struct AuthorityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "authority", abstract: "Attribute authorities: publish and rotate ABE keys, manage attributes, issue keys.",
        subcommands: [Init.self, Rotate.self, Attributes.self, IssueKey.self, Show.self]
    )

    /// The signing key, the node's client, and the authority name the key was enrolled for.
    static func signing(_ signer: SignerOptions, _ wallet: WalletOptions) async throws -> (SecretKey, NodeClient, String) {
        let key = try signer.load()
        let client = try wallet.client()
        return (key, client, try await name(of: key, client))
    }

    /// The authority name of a signing key: the organization it was enrolled in with role authority.
    static func name(of key: SecretKey, _ client: NodeClient) async throws -> String {
        let account: AccountResponse = try await client.get("v1/accounts/\(key.publicKey.keyID.hex)")
        guard let participant = account.participant, participant.role == "authority" else {
            throw ValidationError("the signing key is not enrolled with role authority")
        }
        return participant.organization
    }

    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the authority's ABE master key (epoch 1), keep it in a file, and publish its public key."
        )
        @OptionGroup var signer: SignerOptions
        @Option(help: "Comma-separated attributes the authority issues, e.g. cardiologist,staff.") var attributes: String
        @Option(help: "Where to write the ABE master secret (mode 0600; keep it offline).") var out: String
        @OptionGroup var secretPassphrase: SecretPassphraseOptions
        @OptionGroup var wallet: WalletOptions

        func run() async throws {
            let (key, client, name) = try await AuthorityCommand.signing(signer, wallet)
            let declared = list(attributes).map { AttributeVersion(name: $0, version: 1) }
            guard !declared.isEmpty else { throw ValidationError("--attributes: name at least one attribute") }
            var generator = SystemRandomNumberGenerator()
            let secret = try AuthoritySecretKey.generate(authority: name, epoch: 1, using: &generator)
            try ABEKeyFile.write(secret.bytes, .init(format: ABEKeyFile.authorityFormat, version: 1, authority: name, epoch: 1),
                                 passphrase: try secretPassphrase.passphrase(), to: out)
            try await submitAndReport(.authorityPublish(AuthorityKeys(epoch: 1, key: secret.publicKey.bytes, attributes: declared)),
                                      key: key, wallet: wallet)
            if !wallet.json { print("  authority \(name), epoch 1, \(declared.count) attribute(s); master secret in \(out)") }
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start a new epoch: a new ABE master key, published; keys of the old epoch no longer open new envelopes."
        )
        @OptionGroup var signer: SignerOptions
        @Option(help: "Where to write the new epoch's master secret.") var out: String
        @OptionGroup var secretPassphrase: SecretPassphraseOptions
        @OptionGroup var wallet: WalletOptions

        func run() async throws {
            let (key, client, name) = try await AuthorityCommand.signing(signer, wallet)
            let (record, _) = try await ABEWallet(client: client).authority(name)
            var generator = SystemRandomNumberGenerator()
            let secret = try AuthoritySecretKey.generate(authority: name, epoch: record.epoch + 1, using: &generator)
            try ABEKeyFile.write(secret.bytes, .init(format: ABEKeyFile.authorityFormat, version: 1, authority: name, epoch: secret.epoch),
                                 passphrase: try secretPassphrase.passphrase(), to: out)
            try await submitAndReport(
                .authorityRotate(AuthorityKeys(epoch: secret.epoch, key: secret.publicKey.bytes, attributes: record.attributes)),
                key: key, wallet: wallet)
            if !wallet.json {
                print("  authority \(name) now at epoch \(secret.epoch); re-issue keys to its users (authority issue-key)")
            }
        }
    }

    struct Attributes: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add attributes, or raise their versions (which takes them from holders not re-issued)."
        )
        @OptionGroup var signer: SignerOptions
        @Option(help: "Comma-separated new attributes.") var add: String?
        @Option(help: "Comma-separated attributes whose version to raise by one.") var raise: String?
        @OptionGroup var wallet: WalletOptions

        func run() async throws {
            let (key, client, name) = try await AuthorityCommand.signing(signer, wallet)
            let (record, _) = try await ABEWallet(client: client).authority(name)
            var changes = list(add).map { AttributeVersion(name: $0, version: 1) }
            for attribute in list(raise) {
                guard let version = record.version(of: attribute) else {
                    throw ValidationError("--raise: \(name) declares no attribute \(attribute)")
                }
                changes.append(AttributeVersion(name: attribute, version: version + 1))
            }
            guard !changes.isEmpty else { throw ValidationError("give --add or --raise") }
            try await submitAndReport(.authorityAttributes(AuthorityAttributes(attributes: changes)), key: key, wallet: wallet)
        }
    }

    struct IssueKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "issue-key",
            abstract: "Issue a user the key of one attribute (to a file for them) and record its digest on the ledger."
        )
        @OptionGroup var signer: SignerOptions
        @Option(help: "The authority's ABE master secret of the current epoch.") var secret: String
        @OptionGroup var secretPassphrase: SecretPassphraseOptions
        @Option(help: "The user's key id.") var user: String?
        @Option(help: "Or: the user's key file (its public part is read).") var userKeyFile: String?
        @Option(name: .customLong("attr"), help: "The attribute (of this authority).") var attribute: String
        @Option(help: "Where to write the user's attribute key (mode 0600; give it to the user).") var out: String
        @OptionGroup var wallet: WalletOptions

        func run() async throws {
            let (key, client, name) = try await AuthorityCommand.signing(signer, wallet)
            let master = try ABEKeyFile.authoritySecret(secret, passphrase: try secretPassphrase.passphrase())
            let (record, _) = try await ABEWallet(client: client).authority(name)
            guard master.authority == name, master.epoch == record.epoch else {
                throw ValidationError("\(secret) is \(master.authority)'s epoch \(master.epoch); \(name) is at epoch \(record.epoch)")
            }
            guard let version = record.version(of: attribute) else {
                throw ValidationError("--attr: \(name) declares no attribute \(attribute)")
            }
            let userID = try keyID(user, file: userKeyFile, "the user")
            let account: AccountResponse = try await client.get("v1/accounts/\(userID.hex)")
            guard let hex = account.participant?.publicKey, let gid = Hex.decode(hex), gid.count == 32 else {
                throw ValidationError("the user \(userID.hex.prefix(16))… is not an enrolled participant")
            }
            let issued = try issue(master, gid: gid, authority: name, version: version, user: userID)
            try await submitAndReport(.attributeIssue(AttributeIssue(
                user: userID, attribute: attribute, version: version, epoch: master.epoch, digest: Hashing.sha3(issued))),
                key: key, wallet: wallet)
            if !wallet.json { print("  \(name).\(attribute)#\(version) (epoch \(master.epoch)) for \(userID.hex.prefix(16))…: \(out)") }
        }

        /// Issues the key and writes the user's key file; its bytes. Kept out of the async `run`: Swift 6.3.1's
        /// release build crashed splitting that coroutine with this inlined into it.
        @inline(never)
        func issue(_ master: ABE.AuthoritySecretKey, gid: [UInt8], authority name: String, version: UInt64, user: Hash32) throws -> [UInt8] {
            var generator = SystemRandomNumberGenerator()
            let issued = try master.issue(gid: gid, attribute: try AttributeName(authority: name, name: attribute), version: version,
                                          using: &generator)
            try ABEKeyFile.write(issued.bytes, .init(format: ABEKeyFile.attributeFormat, version: 1, authority: name,
                                                     epoch: master.epoch, attribute: attribute, attributeVersion: version,
                                                     user: user.hex), passphrase: nil, to: out)
            return issued.bytes
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "An authority's epoch and attributes, as the ledger proves them.")
        @Argument(help: "The authority (organization) name.") var name: String
        @OptionGroup var wallet: WalletOptions

        func run() async throws {
            let (record, _) = try await ABEWallet(client: try wallet.client()).authority(name)
            if wallet.json {
                let object: [String: Any] = [
                    "authority": record.name, "epoch": record.epoch, "height": record.height,
                    "attributes": Dictionary(uniqueKeysWithValues: record.attributes.map { ($0.name, $0.version) }),
                ]
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
                return
            }
            print("authority \(record.name): epoch \(record.epoch), changed at height \(record.height) (proof checked)")
            for attribute in record.attributes { print("  \(record.name).\(attribute.name)#\(attribute.version)") }
        }
    }
}
