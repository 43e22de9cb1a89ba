import API
import ArgumentParser
import Encoding
import Foundation
import Ledger
import TwinCrypto

/// Options every wallet command shares.
struct WalletOptions: ParsableArguments {
    @Option(help: "The node's API URL (default: $TWINLEDGER_NODE or http://127.0.0.1:26657).")
    var node = ProcessInfo.processInfo.environment["TWINLEDGER_NODE"] ?? "http://127.0.0.1:26657"

    @Flag(help: "Print JSON for scripts.") var json = false

    func client() throws -> NodeClient { try NodeClient(node) }
}

/// The signing key of a wallet command.
struct SignerOptions: ParsableArguments {
    @Option(name: .customLong("key"), help: "Key file of the signer.") var keyFile: String
    @OptionGroup var passphrase: KeysCommand.PassphraseOptions

    func load() throws -> SecretKey { try KeyFile.load(from: keyFile, passphrase: try passphrase.passphrase()) }
}

/// Submits, waits for the block, and reports; a rejection exits with status 2 after its explanation.
func submitAndReport(_ payload: Payload, key: SecretKey, wallet: WalletOptions) async throws {
    let client = try wallet.client()
    let (id, response) = try await client.submit(payload, key: key)
    let code = response.code ?? ""
    if wallet.json {
        let object: [String: Any] = [
            "id": id.hex, "status": response.status, "height": response.height ?? 0, "accepted": code.isEmpty,
            "code": code, "kind": payload.kind,
        ]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    } else if response.status != "committed" {
        print("\(payload.kind) \(id.hex): submitted, not yet committed (check with: twinledger tx status \(id.hex))")
    } else if code.isEmpty {
        print("\(payload.kind) accepted in block \(response.height ?? 0)")
        print("  transaction \(id.hex)")
    } else {
        print("\(payload.kind) REJECTED in block \(response.height ?? 0): \(code) — \(explain(code))")
        print("  transaction \(id.hex)")
    }
    if response.status == "committed" && !code.isEmpty { throw ExitCode(2) }
}

/// `--patient` if given, else the signer's own patient id as the ledger has it (a rotated key keeps the first's).
func patientOrOwn(_ patient: String?, _ key: SecretKey, _ wallet: WalletOptions) async throws -> Hash32 {
    if let patient { return try hash(patient, "--patient") }
    return try await wallet.client().patientID(of: key.publicKey)
}

func hash(_ text: String, _ what: String) throws -> Hash32 {
    guard let value = Hash32(hex: text) else { throw ValidationError("\(what) must be 64 hex digits") }
    return value
}

func list(_ text: String?) -> [String] {
    (text ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
}

/// A key id given directly, or read from someone's key file (public part only).
func keyID(_ hex: String?, file: String?, _ what: String) throws -> Hash32 {
    if let hex { return try hash(hex, what) }
    if let file { return try KeyFile.loadPublicKey(from: file).keyID }
    throw ValidationError("give \(what) as a key id or a key file")
}

struct EnrollCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enroll", abstract: "Enroll a key with a role (signed by an organization key)."
    )
    @OptionGroup var signer: SignerOptions
    @Option(help: "Public key (hex) to enroll.") var publicKey: String?
    @Option(help: "Or: the key file whose public key to enroll.") var keyFileToEnroll: String?
    @Option(help: "patient, practitioner, researcher, caregiver, auditor, authority, emergency, node") var role: String
    @Option(help: "Organization name (default: the signing organization's).") var organization: String?
    @OptionGroup var wallet: WalletOptions

    func run() async throws {
        guard let role = Role(name: role) else { throw ValidationError("unknown role \(role)") }
        let key: PublicKey
        if let publicKey, let bytes = Hex.decode(publicKey) {
            key = try PublicKey(bytes: bytes)
        } else if let keyFileToEnroll {
            key = try KeyFile.loadPublicKey(from: keyFileToEnroll)
        } else {
            throw ValidationError("give --public-key or --key-file-to-enroll")
        }
        let signingKey = try signer.load()
        var name = organization
        if name == nil {
            let account: AccountResponse = try await wallet.client().get("v1/accounts/\(signingKey.publicKey.keyID.hex)")
            name = account.organization
        }
        guard let name else { throw ValidationError("the signing key is not a genesis organization; give --organization") }
        try await submitAndReport(.enroll(Enroll(key: key, role: role, organization: name)), key: signingKey, wallet: wallet)
        if role == .patient && !wallet.json { print("  patient id \(patientID(for: key).hex)") }
    }
}

struct ConsentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consent", abstract: "Grant, revoke, list and import consent.",
        subcommands: [Grant.self, Revoke.self, List.self, ImportFHIR.self]
    )

    struct Grant: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Grant a participant or an ABE policy access.")
        @OptionGroup var signer: SignerOptions
        @Option(help: "Patient id (default: the signer's own, if the signer is the patient).") var patient: String?
        @Option(help: "Grantee key id.") var to: String?
        @Option(help: "Or: the grantee's key file.") var toKeyFile: String?
        @Option(help: "Or: an ABE policy expression as grantee.") var policy: String?
        @Option(help: "Comma-separated: read, write, share.") var actions = "read"
        @Option(help: "Comma-separated categories (e.g. neuro.mri).") var categories: String?
        @Option(help: "Comma-separated shadow ids.") var shadows: String?
        @Option(help: "TREAT, ETREAT, CAREMGT, HRESCH, PUBHLTH, PATRQT") var purpose = "TREAT"
        @Option(help: "Valid for this many days (0: open-ended).") var days = 30
        @Flag(help: "Do not wrap the covered shadows' data keys for the grantee (by default a read grant to a participant carries them).")
        var withoutKeys = false
        @OptionGroup var wallet: WalletOptions

        func run() async throws {
            let key = try signer.load()
            let grantee: Grantee
            if let policy { grantee = .policy(policy) } else { grantee = .participant(try keyID(to, file: toKeyFile, "the grantee")) }
            var actionSet: Actions = []
            for name in list(actions) {
                switch name {
                case "read": actionSet.insert(.read)
                case "write": actionSet.insert(.write)
                case "share": actionSet.insert(.share)
                default: throw ValidationError("unknown action \(name)")
                }
            }
            guard let purposeValue = Purpose(rawValue: purpose) else { throw ValidationError("unknown purpose \(purpose)") }
            let now = UInt64(Date().timeIntervalSince1970)
            var grant = ConsentGrant(
                patient: try await patientOrOwn(patient, key, wallet), grantee: grantee,
                actions: actionSet,
                scope: Scope(shadows: try list(shadows).map { try hash($0, "shadow id") }, categories: list(categories)),
                purpose: purposeValue, validFrom: now - 60, validUntil: days > 0 ? now + UInt64(days) * 86_400 : nil
            )
            if case .participant(let granteeID) = grantee, actionSet.contains(.read), !withoutKeys {
                grant.envelopes = try await wrapKeys(grant, for: granteeID, key: key)
            }
            try await submitAndReport(.consentGrant(grant), key: key, wallet: wallet)
        }

        /// A key envelope for the grantee of every covered shadow whose data key the signer can open (Docs/shadows.md,
        /// "Key envelopes for grantees"); a shadow whose key the signer holds no envelope for is named and skipped.
        func wrapKeys(_ grant: ConsentGrant, for granteeID: Hash32, key: SecretKey) async throws -> [ShadowEnvelope] {
            let client = try wallet.client()
            let health: HealthResponse = try await client.get("health")
            let keys = ShadowKeys(client: client, chainID: health.chainID, key: key)
            let granteeKey: PublicKey
            if let toKeyFile { granteeKey = try KeyFile.loadPublicKey(from: toKeyFile) } else { granteeKey = try await keys.publicKey(of: granteeID) }
            var envelopes: [ShadowEnvelope] = []
            for record in try await keys.shadows(of: grant.patient, coveredBy: grant.scope).prefix(Limits.envelopesMax) {
                let registration = record.registration
                let dataKey: [UInt8]
                do { dataKey = try await keys.dataKey(of: record, purpose: grant.purpose) } catch {
                    let note = "shadow \(registration.shadow.hex.prefix(16))…: its data key is not wrapped for the grantee (\(error))\n"
                    FileHandle.standardError.write(Data(note.utf8))
                    continue
                }
                let address = try await keys.uploadEnvelope(dataKey, for: granteeKey, patient: grant.patient)
                envelopes.append(ShadowEnvelope(shadow: registration.shadow, version: registration.version, address: address))
            }
            if !wallet.json && !envelopes.isEmpty {
                print("  data keys of \(envelopes.count) shadow(s) wrapped for the grantee")
            }
            return envelopes
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a grant.")
        @OptionGroup var signer: SignerOptions
        @Option(help: "Grant id (the id of the transaction that granted it).") var grant: String
        @OptionGroup var wallet: WalletOptions

        func run() async throws {
            try await submitAndReport(.consentRevoke(ConsentRevoke(grant: try hash(grant, "--grant"))),
                                      key: try signer.load(), wallet: wallet)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a patient's grants.")
        @Option(help: "Patient id.") var patient: String
        @Flag(help: "Only grants active now.") var active = false
        @OptionGroup var wallet: WalletOptions

        func run() async throws {
            let id = try hash(patient, "--patient")
            let response: GrantsResponse = try await wallet.client()
                .get("v1/patients/\(id.hex)/grants" + (active ? "?active=true" : ""))
            if wallet.json { return printJSON(response) }
            print("grants of patient \(id.hex.prefix(16))… at height \(response.height): \(response.grants.count)")
            for g in response.grants {
                let who = g.granteeKeyID.map { "key \($0.prefix(16))…" } ?? "policy \(g.granteePolicy ?? "")"
                let state = g.revokedHeight.map { "revoked at \($0)" } ?? (g.active ? "active" : "inactive")
                print("- \(g.id.prefix(16))… \(state): \(who) may \(g.actions.joined(separator: "+")) "
                    + "\((g.categories + g.shadows.map { "shadow:\($0.prefix(8))" }).joined(separator: ",")) for \(g.purpose)"
                    + (g.breakGlassReason.map { " BREAK-GLASS: \($0)" } ?? ""))
            }
        }
    }
}

struct DelegateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delegate", abstract: "Delegate consent management (patients only).", subcommands: [Grant.self, Revoke.self]
    )

    struct Grant: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Let a delegate act for you within categories.")
        @OptionGroup var signer: SignerOptions
        @Option(help: "Patient id (default: the signer's own; only the patient may delegate).") var patient: String?
        @Option(help: "Delegate key id.") var to: String?
        @Option(help: "Or: the delegate's key file.") var toKeyFile: String?
        @Option(help: "Comma-separated: grant, revoke, erase, register.") var powers = "grant,revoke"
        @Option(help: "Comma-separated categories (default: all).") var categories: String?
        @Option(help: "Valid for this many days (0: open-ended).") var days = 0
        @OptionGroup var wallet: WalletOptions

        func run() async throws {
            let key = try signer.load()
            var set: DelegatedPowers = []
            for name in list(powers) {
                switch name {
                case "grant": set.insert(.grant)
                case "revoke": set.insert(.revoke)
                case "erase": set.insert(.erase)
                case "register": set.insert(.register)
                default: throw ValidationError("unknown power \(name)")
                }
            }
            let now = UInt64(Date().timeIntervalSince1970)
            let delegation = DelegationGrant(
                patient: try await patientOrOwn(patient, key, wallet),
                delegate: try keyID(to, file: toKeyFile, "the delegate"),
                powers: set, categories: list(categories), validUntil: days > 0 ? now + UInt64(days) * 86_400 : nil
            )
            try await submitAndReport(.delegationGrant(delegation), key: key, wallet: wallet)
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "End a delegation.")
        @OptionGroup var signer: SignerOptions
        @Option(help: "Delegation id.") var delegation: String
        @OptionGroup var wallet: WalletOptions

        func run() async throws {
            try await submitAndReport(.delegationRevoke(DelegationRevoke(delegation: try hash(delegation, "--delegation"))),
                                      key: try signer.load(), wallet: wallet)
        }
    }
}

struct ShadowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shadow", abstract: "Put, get, register, re-wrap or erase shadows.",
        subcommands: [Put.self, Get.self, Register.self, Rewrap.self, Erase.self]
    )

    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a shadow version (its encrypted manifest is stored off-chain by a later release)."
        )
        @OptionGroup var signer: SignerOptions
        @Option(help: "Patient id (default: the signer's own).") var patient: String?
        @Option(help: "Shadow id (default: a new random id).") var shadow: String?
        @Option(help: "Version (1 for a new shadow).") var version: UInt64 = 1
        @Option(help: "Comma-separated categories.") var categories: String
        @Option(help: "Content address (SHA3-256 hex) of the encrypted manifest.") var manifest: String
        @Option(help: "Size in bytes.") var size: UInt64
        @OptionGroup var wallet: WalletOptions

        func run() async throws {
            let key = try signer.load()
            let id = try shadow.map { try hash($0, "--shadow") } ?? Hashing.sha3(SecureRandom.bytes(32))
            let register = ShadowRegister(
                shadow: id, patient: try await patientOrOwn(patient, key, wallet),
                version: version, categories: list(categories), manifest: try hash(manifest, "--manifest"), size: size
            )
            try await submitAndReport(.shadowRegister(register), key: key, wallet: wallet)
            if !wallet.json { print("  shadow id \(id.hex)") }
        }
    }

    struct Erase: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Erase a shadow for ever (right to erasure).")
        @OptionGroup var signer: SignerOptions
        @Option(help: "Shadow id.") var shadow: String
        @OptionGroup var wallet: WalletOptions

        func run() async throws {
            try await submitAndReport(.shadowErase(ShadowErase(shadow: try hash(shadow, "--shadow"))),
                                      key: try signer.load(), wallet: wallet)
        }
    }
}

struct BreakGlassCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "break-glass", abstract: "Emergency read access (emergency role only; loudly audited)."
    )
    @OptionGroup var signer: SignerOptions
    @Option(help: "Patient id.") var patient: String
    @Option(help: "The emergency.") var reason: String
    @OptionGroup var wallet: WalletOptions

    func run() async throws {
        try await submitAndReport(.breakGlass(BreakGlass(patient: try hash(patient, "--patient"), reason: reason)),
                                  key: try signer.load(), wallet: wallet)
    }
}

struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history", abstract: "A patient's consent history, with its hash chain checked."
    )
    @Option(help: "Patient id.") var patient: String
    @OptionGroup var wallet: WalletOptions

    func run() async throws {
        let id = try hash(patient, "--patient")
        let response: HistoryResponse = try await wallet.client().get("v1/patients/\(id.hex)/history")
        // Recompute the chain from the listed entries: an omitted or reordered entry would not match the head.
        var head = HistoryHead.empty
        for entry in response.entries { head = head.appending(try hash(entry.transaction, "entry")) }
        let chainOK = head.head.hex == response.head && head.count == response.count
        if wallet.json { return printJSON(response) }
        print("history of patient \(id.hex.prefix(16))…: \(response.count) entries, head \(response.head.prefix(16))…")
        for entry in response.entries {
            print("  \(entry.index). \(entry.kind ?? "?") in block \(entry.height.map(String.init) ?? "?") by \(entry.signer?.prefix(16) ?? "?")… tx \(entry.transaction.prefix(16))…")
        }
        print(chainOK ? "hash chain: verified (entries reproduce the head)" : "hash chain: MISMATCH — entries do not reproduce the head")
        if !chainOK { throw ExitCode(3) }
    }
}

struct TxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tx", abstract: "Transactions.", subcommands: [Status.self])

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A transaction's status, with its proofs checked.")
        @Argument(help: "Transaction id.") var id: String
        @OptionGroup var wallet: WalletOptions

        func run() async throws {
            let txID = try hash(id, "id")
            let response: TransactionStatusResponse = try await wallet.client().get("v1/transactions/\(txID.hex)")
            if wallet.json { return printJSON(response) }
            guard response.status == "committed", let header = response.header, let height = response.height else {
                print("\(txID.hex): \(response.status)")
                return
            }
            let verified = verifyInclusion(response)
            print("\(response.kind ?? "transaction") \(txID.hex.prefix(16))… committed in block \(height)")
            print("  outcome: \((response.code ?? "").isEmpty ? "accepted" : "rejected, \(response.code ?? "") — \(explain(response.code ?? ""))")")
            print("  block \(header.hash.prefix(16))…, state root \(header.stateRoot.prefix(16))…")
            print("  inclusion and outcome proofs: \(verified ? "verified against the header" : "DO NOT VERIFY")")
            if !verified { throw ExitCode(3) }
        }
    }
}

/// Checks a status response's Merkle proofs against its header's roots.
func verifyInclusion(_ r: TransactionStatusResponse) -> Bool {
    guard let header = r.header, let txHex = r.transaction, let tx = Hex.decode(txHex),
        let tp = r.transactionProof, let op = r.outcomeProof,
        let txRoot = Hash32(hex: header.transactionsRoot), let resultsRoot = Hash32(hex: header.resultsRoot),
        let id = Hash32(hex: r.id), Hashing.sha3(tx) == id
    else { return false }
    let txProof = MerkleProof(index: tp.index, count: header.transactionCount, path: tp.path.compactMap { Hash32(hex: $0) })
    let outcome = TransactionOutcome(transaction: id, code: r.code ?? "")
    let outcomeProof = MerkleProof(index: op.index, count: header.transactionCount, path: op.path.compactMap { Hash32(hex: $0) })
    return txProof.verify(leaf: id.bytes, root: txRoot) && outcomeProof.verify(leaf: Canonical.encode(outcome), root: resultsRoot)
}

func printJSON<T: Encodable>(_ value: T) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    if let data = try? encoder.encode(value) { print(String(decoding: data, as: UTF8.self)) }
}
