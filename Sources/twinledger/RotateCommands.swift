import API
import ArgumentParser
import Encoding
import Foundation
import Ledger
import Node
import TwinCrypto

extension KeysCommand {
    /// `key.rotate`: a patient moves its enrolment to a new key (Docs/transactions.md, "Key rotation").
    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rotate a patient's key: the old key signs the new one onto the ledger; grants, shadows and history stay.",
            discussion: """
                Writes the new key to --out first (with the same passphrase source, if any), then submits key.rotate signed \
                with the old key and waits for its block. From then on the old key signs nothing; keep its file to read \
                shadows whose key envelopes were made for it (shadow get --previous-keys OLD.key).
                """
        )
        @OptionGroup var signer: SignerOptions
        @Option(help: "Where to write the new key (must not exist).") var out: String
        @OptionGroup var wallet: WalletOptions

        func run() async throws {
            let old = try signer.load()
            let client = try wallet.client()
            let account: AccountResponse = try await client.get("v1/accounts/\(old.publicKey.keyID.hex)")
            guard let participant = account.participant, participant.role == Role.patient.name,
                let patient = participant.patientID.flatMap({ Hash32(hex: $0) })
            else { throw WalletError("\(signer.keyFile) is not an enrolled patient's current key") }
            guard !FileManager.default.fileExists(atPath: out) else { throw ValidationError("\(out) exists; the new key needs a new file") }
            let health: HealthResponse = try await client.get("health")
            let new = try SecretKey()
            try KeyFile.save(new, to: out, passphrase: try signer.passphrase.passphrase(), role: Role.patient.name)
            let payload = Payload.keyRotate(try KeyRotate.signed(chainID: health.chainID, patient: patient, oldKey: old.publicKey, newKey: new))
            do {
                try await submitAndReport(payload, key: old, wallet: wallet)
            } catch {
                try? FileManager.default.removeItem(atPath: out)  // the ledger did not take it: the new key is useless
                throw error
            }
            if !wallet.json {
                print("  patient \(patient.hex) now signs with \(out) (key id \(new.publicKey.keyID.hex))")
                print("  keep \(signer.keyFile): shadow get --previous-keys \(signer.keyFile) opens envelopes made for it")
            }
        }
    }
}

/// `twinledger validator …`: a validator operator's commands.
struct ValidatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validator", abstract: "Operate a validator: rotate its consensus key.",
        subcommands: [RotateKey.self]
    )

    /// `validator.rotate` (Docs/consensus.md, "Consensus key rotation").
    struct RotateKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-key",
            abstract: "Replace this validator's consensus key: the current key signs the new one onto the ledger.",
            discussion: """
                Writes a new key to HOME/keys/consensus-<key id>.key, then submits validator.rotate signed with the key \
                the latest validator set names, and waits for its block. The new key votes from two heights after that \
                block; the running node picks it up from its home at that height (no restart). The node's identity \
                (validator.key, its TLS certificate) does not change.
                """
        )
        @Option(help: "The validator's node home.") var home: String
        @OptionGroup var wallet: WalletOptions

        func run() async throws {
            let paths = NodeHome(home)
            let held = paths.consensusKeys()
            let client = try wallet.client()
            let consortium: ConsortiumResponse = try await client.get("v1/consortium")
            guard let latest = consortium.validatorSets.max(by: { $0.version < $1.version }) else {
                throw WalletError("the node reports no validator set")
            }
            guard latest.effectiveHeight <= consortium.height + 1 else {
                throw WalletError("a validator change is pending until height \(latest.effectiveHeight); rotate after it")
            }
            let members = Set(latest.validators.map(\.keyID))
            guard let current = held.first(where: { members.contains($0.publicKey.keyID.hex) }) else {
                throw WalletError("\(home) holds no key of the latest validator set (version \(latest.version))")
            }
            let new = try SecretKey()
            let path = paths.consensusKey(new.publicKey.keyID)
            try KeyFile.save(new, to: path, role: "validator")
            let payload = Payload.validatorRotate(try ValidatorRotate.signed(
                chainID: consortium.chainID, basis: latest.version, oldKey: current.publicKey, newKey: new))
            let (id, response) = try await client.submit(payload, key: current)
            let code = response.code ?? ""
            guard response.status == "committed", code.isEmpty, let height = response.height else {
                if response.status == "committed" { try? FileManager.default.removeItem(atPath: path) }
                throw WalletError(response.status == "committed"
                    ? "validator.rotate \(id.hex) REJECTED: \(code) — \(explain(code))"
                    : "validator.rotate \(id.hex) submitted, not yet committed (check with: twinledger tx status \(id.hex)); keep \(path)")
            }
            if wallet.json {
                let object: [String: Any] = ["id": id.hex, "height": height, "effective_height": height + 2,
                                             "old_key_id": current.publicKey.keyID.hex, "new_key_id": new.publicKey.keyID.hex, "key_file": path]
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            } else {
                print("validator.rotate accepted in block \(height)")
                print("  transaction \(id.hex)")
                print("  the new key \(new.publicKey.keyID.hex.prefix(16))… (\(path)) votes from height \(height + 2)")
                print("  keep the home's keys: the node loads the new key at that height")
            }
        }
    }
}
