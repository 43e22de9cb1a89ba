import API
import ArgumentParser
import Encoding
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Ledger
import TwinCrypto

/// `twinledger access list`: the reads of the patient's shadows that a node served, each checked against the root the
/// node anchored on the ledger (Docs/shadows.md, "Access audit").
struct AccessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "access", abstract: "Who read a patient's shadows, with proofs.", subcommands: [List.self, Token.self]
    )

    /// A signed accesses request for the explorer page (Docs/explorer.md): the `TwinLedger-Accesses` header value,
    /// good for one listing within 60 s of the node's clock.
    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a one-use token (a signed request, valid 60 s) that lets the explorer page list a patient's accesses."
        )
        @OptionGroup var signer: SignerOptions
        @Option(help: "Patient id (default: the signer's own; an enrolled auditor names the patient).") var patient: String?
        @OptionGroup var wallet: WalletOptions

        func run() async throws {
            let key = try signer.load()
            let health: HealthResponse = try await wallet.client().get("health")
            let request = AccessListRequest(
                chainID: health.chainID, requester: key.publicKey, patient: try await patientOrOwn(patient, key, wallet),
                timeMillis: UInt64(Date().timeIntervalSince1970 * 1_000), nonce: SecureRandom.bytes(16))
            print(try SignedAccessListRequest(signing: request, with: key).headerValue)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the reads of your shadows a node served, each checked against its anchor on the ledger."
        )
        @OptionGroup var signer: SignerOptions
        @OptionGroup var wallet: WalletOptions

        func run() async throws {
            let key = try signer.load()
            let client = try wallet.client()
            let patient = try await client.patientID(of: key.publicKey)
            let health: HealthResponse = try await client.get("health")
            let request = AccessListRequest(chainID: health.chainID, requester: key.publicKey, patient: patient,
                                            timeMillis: UInt64(Date().timeIntervalSince1970 * 1_000), nonce: SecureRandom.bytes(16))
            let header = try SignedAccessListRequest(signing: request, with: key).headerValue
            let data = try await client.raw(client.request("v1/patients/\(patient.hex)/accesses", headers: ["TwinLedger-Accesses": header]))
            let list = try JSONDecoder().decode(AccessListResponse.self, from: data)
            var rows: [[String: Any]] = []
            var unverified = 0
            for access in list.accesses {
                let verdict = try await check(access, client: client)
                if verdict != "verified" && verdict != "not yet anchored" { unverified += 1 }
                rows.append(["sequence": access.sequence, "time_ms": access.timeMillis, "requester": access.requester,
                             "shadow": access.shadow, "blob": access.blob, "grant": access.grant ?? "", "purpose": access.purpose,
                             "anchored_height": access.anchoredHeight ?? 0, "proof": verdict])
            }
            if wallet.json {
                let object: [String: Any] = ["patient": patient.hex, "accesses": rows]
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            } else {
                print("accesses to the shadows of patient \(patient.hex.prefix(16))… served by this node: \(list.accesses.count)")
                for (access, row) in zip(list.accesses, rows) {
                    let who = access.grant.map { "under grant \($0.prefix(16))…" } ?? "the patient"
                    print("  #\(access.sequence) \(Date(timeIntervalSince1970: Double(access.timeMillis) / 1_000)) key \(access.requester.prefix(16))… "
                          + "read \(access.blob.prefix(16))… of shadow \(access.shadow.prefix(16))… for \(access.purpose), \(who): \(row["proof"] ?? "")")
                }
            }
            if unverified > 0 { throw ExitCode(2) }
        }

        /// "verified" when the record's Merkle path leads to the root the ledger's state holds for its batch (with the
        /// state proof checked against the state root), "not yet anchored" while it waits, else what failed.
        func check(_ access: AccessJSON, client: NodeClient) async throws -> String {
            guard let recordBytes = Hex.decode(access.record), let record = try? Canonical.decode(AccessRecord.self, from: recordBytes),
                record.sequence == access.sequence, record.requester.hex == access.requester, record.blob.hex == access.blob
            else { return "RECORD DOES NOT MATCH" }
            guard let first = access.batchFirst, let proof = access.proof, access.anchoredHeight != nil else { return "not yet anchored" }
            let key = StateKey.anchor(record.node, first)
            let state: StateResponse = try await client.get("v1/state/\(Hex.encode(key))")
            guard let value = state.value.flatMap(Hex.decode), let anchor = try? Canonical.decode(AnchorRecord.self, from: value),
                let root = Hash32(hex: state.stateRoot)
            else { return "ANCHOR NOT ON THE LEDGER" }
            let terminal: StateTree.Proof.Terminal
            if state.proof.terminal == "leaf", let leafKey = state.proof.leafKey.flatMap({ Hash32(hex: $0) }),
                let leafValue = state.proof.leafValue.flatMap({ Hash32(hex: $0) })
            {
                terminal = .leaf(key: leafKey, value: leafValue)
            } else {
                terminal = .empty
            }
            let stateProof = StateTree.Proof(siblings: state.proof.siblings.compactMap { Hash32(hex: $0) }, terminal: terminal)
            guard stateProof.verify(root: root, key: key, value: value) else { return "ANCHOR'S STATE PROOF DOES NOT VERIFY" }
            let path = MerkleProof(index: proof.index, count: proof.count, path: proof.path.compactMap { Hash32(hex: $0) })
            guard anchor.anchor.firstSequence == first, path.verify(leaf: record.leaf, root: anchor.anchor.root) else {
                return "PATH DOES NOT LEAD TO THE ANCHORED ROOT"
            }
            return "verified"
        }
    }
}
