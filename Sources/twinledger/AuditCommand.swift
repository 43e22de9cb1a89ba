import API
import ArgumentParser
import Consensus
import Encoding
import Foundation
import Ledger
import Node
import TwinCrypto

/// `twinledger audit verify` (Docs/audit.md): an auditor's light client. It trusts the genesis file alone, verifies
/// each node's chain from genesis, the patient's history chain and the access records, cross-checks the nodes and
/// names any that lied, and prints the patient's timeline with a verdict.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Verify a patient's history from the genesis file alone.", subcommands: [Verify.self]
    )

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify a patient's complete history against one or more nodes, trusting only the genesis file.",
            discussion: """
                Exit status: 0 when every node served the same verified history; 2 when the history verified on at least \
                one node but another node was caught serving something false (or could not be reached); 3 when no node's \
                history could be verified, or two nodes served conflicting certified chains.
                """
        )
        @Option(help: "The consortium's genesis file: the only thing trusted.") var genesis: String
        @Option(help: "The patient's id (64 hex digits).") var patient: String?
        @Option(help: "The patient's key file, instead of --patient (public part only is read).") var patientKey: String?
        @Option(name: .customLong("node"), help: "A node's API URL; repeat to cross-check several nodes.") var nodes: [String] = []
        @Option(name: .customLong("key"), help: "The patient's or an enrolled auditor's key file, to list and verify accesses.")
        var keyFile: String?
        @OptionGroup var passphrase: KeysCommand.PassphraseOptions
        @Flag(help: "Print the report as JSON.") var json = false

        func run() async throws {
            guard !nodes.isEmpty else { throw ValidationError("name at least one --node") }
            let genesisFile: GenesisFile
            let ledgerGenesis: LedgerGenesis
            do {
                genesisFile = try GenesisFile.load(genesis)
                ledgerGenesis = try genesisFile.ledgerGenesis()
            } catch { throw WalletError("the genesis file \(genesis): \(error)") }
            let patientID: Hash32
            if let patient { patientID = try hash(patient, "--patient") } else if let patientKey {
                patientID = Ledger.patientID(for: try KeyFile.loadPublicKey(from: patientKey))
            } else { throw ValidationError("give --patient or --patient-key") }
            let key = try keyFile.map { try KeyFile.load(from: $0, passphrase: try passphrase.passphrase()) }

            var audits: [NodeAudit] = []
            for url in nodes {
                audits.append(await NodeAudit.run(url: url, genesis: ledgerGenesis, patient: patientID, key: key))
            }
            let report = AuditReport(patient: patientID, genesis: genesisFile, audits: audits)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            } else {
                report.printText()
            }
            if report.exitStatus != 0 { throw ExitCode(report.exitStatus) }
        }
    }
}

/// One node's audit: its chain walked and verified from genesis, then its account of the patient's history and
/// accesses checked against that chain. A node that serves anything false stops at its first finding.
struct NodeAudit {
    let url: String
    var client: LightClient?
    var finding: AuditFinding?
    var history: [LocatedTransaction] = []
    var accesses: [VerifiedAccess] = []
    /// Why accesses were not listed (no key given, or the node refused the key).
    var accessNote: String?

    struct VerifiedAccess {
        let record: AccessRecord
        let anchor: LocatedTransaction?
    }

    /// Blocks asked for at once while walking the chain.
    static let window = 16

    static func run(url: String, genesis: LedgerGenesis, patient: Hash32, key: SecretKey?) async -> NodeAudit {
        var audit = NodeAudit(url: url)
        do {
            var light = try LightClient(genesis: genesis, patient: patient)
            let node = try NodeClient(url)
            do {
                let tip = try await latestHeight(node)
                try await walk(&light, node: node, to: tip)
                let served: HistoryResponse = try await node.get("v1/patients/\(patient.hex)/history")
                if served.height > light.height { try await walk(&light, node: node, to: served.height) }
                audit.history = try verify(served, with: light)
                audit.client = light
                if let key {
                    (audit.accesses, audit.accessNote) = try await accesses(node, light: light, patient: patient, key: key)
                } else {
                    audit.accessNote = "not listed: give --key (the patient's or an enrolled auditor's) to list and verify accesses"
                }
            } catch let finding as AuditFinding {
                audit.finding = finding
                audit.client = light
            }
        } catch let finding as AuditFinding {
            audit.finding = finding
        } catch {
            audit.finding = AuditFinding(.unreachable, "\(error)")
        }
        return audit
    }

    static func latestHeight(_ node: NodeClient) async throws -> UInt64 {
        let health: HealthResponse = try await node.get("health")
        return health.height
    }

    /// Fetches blocks `light.height + 1 ... tip`, `window` at a time, and feeds them to the light client in order.
    static func walk(_ light: inout LightClient, node: NodeClient, to tip: UInt64) async throws {
        while light.height < tip {
            let first = light.height + 1
            let last = min(tip, first + UInt64(window) - 1)
            let fetched = try await withThrowingTaskGroup(of: (UInt64, RawBlockResponse).self) { group in
                for h in first...last { group.addTask { (h, try await node.get("v1/blocks/\(h)/raw") as RawBlockResponse) } }
                var result: [UInt64: RawBlockResponse] = [:]
                for try await (h, raw) in group { result[h] = raw }
                return result
            }
            for h in first...last {
                guard let raw = fetched[h], raw.height == h, let bytes = Hex.decode(raw.block),
                    let block = try? Canonical.decode(Block.self, from: bytes)
                else { throw AuditFinding(.malformed, height: h, "block \(h) as served does not decode") }
                var outcomes: [TransactionOutcome] = []
                for outcome in raw.outcomes {
                    guard let id = Hash32(hex: outcome.transaction) else { throw AuditFinding(.malformed, height: h, "an outcome names no transaction") }
                    outcomes.append(TransactionOutcome(transaction: id, code: outcome.code))
                }
                var certificate: [UInt8]?
                if let text = raw.certificate {
                    guard let decoded = Hex.decode(text) else { throw AuditFinding(.malformed, height: h, "the certificate is not hex") }
                    certificate = decoded
                }
                try light.append(block, outcomes: outcomes, certificate: certificate)
            }
        }
    }

    static func verify(_ served: HistoryResponse, with light: LightClient) throws -> [LocatedTransaction] {
        guard let head = Hash32(hex: served.head), let root = Hash32(hex: served.stateRoot), let proof = served.proof.decoded else {
            throw AuditFinding(.malformed, height: served.height, "the history's head, root or proof does not parse")
        }
        let entries = served.entries.compactMap { Hash32(hex: $0.transaction) }
        guard entries.count == served.entries.count else { throw AuditFinding(.malformed, height: served.height, "a history entry is not a hash") }
        return try light.verifyHistory(count: served.count, head: head, entries: entries, height: served.height, stateRoot: root, proof: proof)
    }

    static func accesses(_ node: NodeClient, light: LightClient, patient: Hash32, key: SecretKey) async throws -> ([VerifiedAccess], String?) {
        let request = AccessListRequest(chainID: light.chainID, requester: key.publicKey, patient: patient,
                                        timeMillis: UInt64(Date().timeIntervalSince1970 * 1_000), nonce: SecureRandom.bytes(16))
        let header = try SignedAccessListRequest(signing: request, with: key).headerValue
        let list: AccessListResponse
        do {
            list = try await node.send(node.request("v1/patients/\(patient.hex)/accesses", headers: ["TwinLedger-Accesses": header]))
        } catch let error as WalletError {
            return ([], "not listed: the node refused: \(error.description)")
        }
        var verified: [VerifiedAccess] = []
        for access in list.accesses {
            guard let bytes = Hex.decode(access.record), let record = try? Canonical.decode(AccessRecord.self, from: bytes) else {
                throw AuditFinding(.malformed, "access record \(access.sequence) does not decode")
            }
            guard let first = access.batchFirst, let count = access.batchCount, let root = access.batchRoot.flatMap({ Hash32(hex: $0) }),
                let proof = access.proof
            else {
                verified.append(VerifiedAccess(record: record, anchor: nil))
                continue
            }
            let path = MerkleProof(index: proof.index, count: proof.count, path: proof.path.compactMap { Hash32(hex: $0) })
            guard path.path.count == proof.path.count else { throw AuditFinding(.malformed, "access record \(access.sequence)'s path is not hashes") }
            let anchor = try light.verifyAccess(record, batchFirst: first, batchCount: count, batchRoot: root, proof: path)
            verified.append(VerifiedAccess(record: record, anchor: anchor))
        }
        return (verified, nil)
    }
}

/// The audit's report: each node's verdict, the cross-check between them, and, from the verified node that reached
/// furthest, the patient's timeline, grants, validator sets and recorded double-signs.
struct AuditReport: Encodable {
    struct NodeVerdict: Encodable {
        let url: String
        /// `verified`, `caught` (served something false), `unreachable`, or `conflicting` (a certified fork).
        var status: String
        let height: UInt64
        let block: String?
        var finding: FindingJSON?
    }

    struct FindingJSON: Encodable {
        let code: String
        let height: UInt64?
        let message: String
        init(_ f: AuditFinding) { (code, height, message) = (f.code.rawValue, f.height, f.message) }
    }

    struct Event: Encodable {
        let height: UInt64?
        let timeMs: UInt64
        let kind: String
        let transaction: String?
        let actor: String
        let summary: String
        /// `verified` (in a verified block, on the proven history chain, or an access record under its anchor),
        /// or `unanchored` (an access record whose batch is not yet on the ledger).
        let status: String
        enum CodingKeys: String, CodingKey {
            case height, kind, transaction, actor, summary, status
            case timeMs = "time_ms"
        }
    }

    struct GrantJSON: Encodable {
        let id: String
        let grantee: String
        let purpose: String
        let actions: [String]
        let categories: [String]
        let shadows: [String]
        let from: UInt64
        let until: UInt64?
        let grantor: String
        let breakGlass: String?
        let revokedHeight: UInt64?
        let revokedBy: String?
        enum CodingKeys: String, CodingKey {
            case id, grantee, purpose, actions, categories, shadows, from, until, grantor
            case breakGlass = "break_glass", revokedHeight = "revoked_height", revokedBy = "revoked_by"
        }
    }

    struct EvidenceJSON: Encodable {
        let validator: String
        let height: UInt64
        let round: Int
        let type: String
        let blocks: [String]
        let recordedHeight: UInt64
        enum CodingKeys: String, CodingKey {
            case validator, height, round, type, blocks
            case recordedHeight = "recorded_height"
        }
    }

    struct ValidatorSetJSON: Encodable {
        let version: UInt64
        let effectiveHeight: UInt64
        let validators: [String]
        enum CodingKeys: String, CodingKey {
            case version, validators
            case effectiveHeight = "effective_height"
        }
    }

    let patient: String
    let chainID: String
    let genesis: String
    var verdict: String
    var nodes: [NodeVerdict]
    var verifiedHeight: UInt64 = 0
    var historyEntries = 0
    var accessesVerified = 0
    var accessesUnanchored = 0
    var accessNote: String?
    var grants: [GrantJSON] = []
    var timeline: [Event] = []
    var evidence: [EvidenceJSON] = []
    var validatorSets: [ValidatorSetJSON] = []
    var exitStatus: Int32 = 0

    enum CodingKeys: String, CodingKey {
        case patient, genesis, verdict, nodes, grants, timeline, evidence
        case chainID = "chain_id", verifiedHeight = "verified_height", historyEntries = "history_entries"
        case accessesVerified = "accesses_verified", accessesUnanchored = "accesses_unanchored", accessNote = "access_note"
        case validatorSets = "validator_sets"
    }

    init(patient: Hash32, genesis: GenesisFile, audits: [NodeAudit]) {
        self.patient = patient.hex
        chainID = genesis.chainID
        self.genesis = genesis.fingerprint.hex
        nodes = audits.map { a in
            let status = a.finding == nil ? "verified" : (a.finding?.code == .unreachable ? "unreachable" : "caught")
            return NodeVerdict(url: a.url, status: status, height: a.client?.height ?? 0,
                               block: a.client?.headers.last?.hash.hex, finding: a.finding.map(FindingJSON.init))
        }
        // Cross-check: every header a light client took is certified, so two nodes must agree on every height both
        // reached, whatever else they got wrong later; a disagreement is a fork signed by more than a third.
        let verified = audits.indices.filter { audits[$0].finding == nil }
        let walked = audits.indices.filter { audits[$0].client != nil }
        var conflict = false
        for (i, a) in walked.enumerated() {
            for b in walked[(i + 1)...] {
                guard let ca = audits[a].client, let cb = audits[b].client else { continue }
                for h in stride(from: 1, through: min(ca.height, cb.height), by: 1) where ca.header(at: h) != cb.header(at: h) {
                    let message = "\(audits[a].url) and \(audits[b].url) both serve a certified block \(h), but different ones "
                        + "(\(ca.header(at: h)?.hash.hex.prefix(16) ?? "")… and \(cb.header(at: h)?.hash.hex.prefix(16) ?? "")…): "
                        + "more than a third of the validators signed both"
                    for index in [a, b] {
                        nodes[index].status = "conflicting"
                        nodes[index].finding = FindingJSON(AuditFinding(.conflictingHeader, height: h, message))
                    }
                    conflict = true
                    break
                }
            }
        }
        guard !conflict, let best = verified.max(by: { (audits[$0].client?.height ?? 0) < (audits[$1].client?.height ?? 0) }),
            let light = audits[best].client
        else {
            verdict = conflict ? "NOT VERIFIED: nodes serve conflicting certified chains" : "NOT VERIFIED: no node served a history that verifies"
            exitStatus = 3
            return
        }
        verifiedHeight = light.height
        historyEntries = audits[best].history.count
        let names = ActorNames(light: light)
        grants = Self.grants(audits[best].history, names: names)
        timeline = audits[best].history.map { Self.event($0, names: names, light: light) }
        // Accesses: each node keeps its own log; every verified node's records are listed once.
        var seen: Set<[UInt8]> = []
        var notes: [String] = []
        for index in verified {
            if let note = audits[index].accessNote { notes.append("\(audits[index].url): \(note)") }
            for access in audits[index].accesses where seen.insert(access.record.leaf).inserted {
                let r = access.record
                let who = r.grant.map { "under grant \($0.hex.prefix(16))…" } ?? "as the patient"
                timeline.append(Event(
                    height: access.anchor?.height, timeMs: r.timeMillis, kind: "access", transaction: access.anchor?.id.hex,
                    actor: names.name(r.requester),
                    summary: "read blob \(r.blob.hex.prefix(16))… of shadow \(r.shadow.hex.prefix(16))… for \(r.purpose.rawValue) \(who), served by \(names.name(r.node)) (record #\(r.sequence))",
                    status: access.anchor == nil ? "unanchored" : "verified"))
                if access.anchor == nil { accessesUnanchored += 1 } else { accessesVerified += 1 }
            }
        }
        accessNote = notes.isEmpty ? nil : notes.joined(separator: "; ")
        timeline.sort { ($0.timeMs, $0.height ?? .max) < ($1.timeMs, $1.height ?? .max) }
        evidence = light.evidence.compactMap { t in
            guard case .evidenceSubmit(let p) = t.transaction.body.payload,
                let a = try? Canonical.decode(SignedVote.self, from: p.first), let b = try? Canonical.decode(SignedVote.self, from: p.second)
            else { return nil }
            return EvidenceJSON(validator: a.vote.validator.hex, height: a.vote.height, round: a.vote.round, type: "\(a.vote.type)",
                                blocks: [a.vote.block?.hex ?? "nil", b.vote.block?.hex ?? "nil"], recordedHeight: t.height)
        }
        validatorSets = light.schedule.entries.map {
            ValidatorSetJSON(version: $0.version, effectiveHeight: $0.effectiveHeight, validators: $0.validators.map { "\($0.key.keyID.hex):\($0.power)" })
        }
        let caught = nodes.filter { $0.status != "verified" }
        verdict = caught.isEmpty
            ? "VERIFIED: \(historyEntries) history entries to height \(verifiedHeight), the same on all \(nodes.count) node(s)"
            : "VERIFIED on \(nodes.count - caught.count) of \(nodes.count) nodes; CAUGHT: " + caught.map { "\($0.url) (\($0.finding?.code ?? $0.status))" }.joined(separator: ", ")
        exitStatus = caught.isEmpty ? 0 : 2
    }

    static func grants(_ history: [LocatedTransaction], names: ActorNames) -> [GrantJSON] {
        var grants: [GrantJSON] = []
        var index: [Hash32: Int] = [:]
        for t in history {
            switch t.transaction.body.payload {
            case .consentGrant(let p):
                index[t.id] = grants.count
                grants.append(GrantJSON(
                    id: t.id.hex, grantee: names.grantee(p.grantee), purpose: p.purpose.rawValue, actions: p.actions.names,
                    categories: p.scope.categories, shadows: p.scope.shadows.map(\.hex), from: p.validFrom, until: p.validUntil,
                    grantor: names.name(t.signerID), breakGlass: nil, revokedHeight: nil, revokedBy: nil))
            case .breakGlass(let p):
                index[t.id] = grants.count
                let start = t.timeMillis / 1_000
                grants.append(GrantJSON(
                    id: t.id.hex, grantee: names.name(t.signerID), purpose: Purpose.emergencyTreatment.rawValue, actions: Actions.read.names,
                    categories: names.emergencyCategories, shadows: [], from: start, until: start + names.breakGlassSeconds,
                    grantor: names.name(t.signerID), breakGlass: p.reason, revokedHeight: nil, revokedBy: nil))
            case .consentRevoke(let p):
                if let i = index[p.grant] {
                    let g = grants[i]
                    grants[i] = GrantJSON(id: g.id, grantee: g.grantee, purpose: g.purpose, actions: g.actions, categories: g.categories,
                                          shadows: g.shadows, from: g.from, until: g.until, grantor: g.grantor, breakGlass: g.breakGlass,
                                          revokedHeight: t.height, revokedBy: names.name(t.signerID))
                }
            default: break
            }
        }
        return grants
    }

    static func event(_ t: LocatedTransaction, names: ActorNames, light: LightClient) -> Event {
        let summary: String
        switch t.transaction.body.payload {
        case .enroll(let p): summary = "enrolled as a patient of \(p.organization)"
        case .consentGrant(let p):
            let scope = (p.scope.categories + p.scope.shadows.map { "shadow \($0.hex.prefix(16))…" }).joined(separator: ", ")
            summary = "granted \(p.actions.names.joined(separator: "+")) of \(scope) to \(names.grantee(p.grantee)) for \(p.purpose.rawValue), "
                + "from \(isoDate(p.validFrom)) until \(p.validUntil.map(isoDate) ?? "revoked")"
        case .consentRevoke(let p): summary = "revoked grant \(p.grant.hex.prefix(16))…"
        case .delegationGrant(let p):
            summary = "delegated \(powers(p.powers)) over \(p.categories.isEmpty ? "all categories" : p.categories.joined(separator: ", ")) "
                + "to \(names.name(p.delegate))\(p.validUntil.map { " until \(isoDate($0))" } ?? "")"
        case .delegationRevoke(let p): summary = "revoked delegation \(p.delegation.hex.prefix(16))…"
        case .breakGlass(let p):
            summary = "BREAK-GLASS (ETREAT) for \(names.emergencyCategories.joined(separator: ", ")) until "
                + "\(isoDate(t.timeMillis / 1_000 + names.breakGlassSeconds)): \"\(p.reason)\""
        case .shadowRegister(let p):
            summary = "registered shadow \(p.shadow.hex.prefix(16))… version \(p.version) (\(p.categories.joined(separator: ", ")), \(p.size) bytes)"
                + (p.policy.map { " under policy \($0.policy)" } ?? "")
        case .shadowRewrap(let p): summary = "re-wrapped shadow \(p.shadow.hex.prefix(16))… version \(p.version) under the current epochs"
        case .shadowErase(let p): summary = "erased shadow \(p.shadow.hex.prefix(16))…"
        case .keyRotate(let p): summary = "rotated the patient's key to \(p.newKey.keyID.hex.prefix(16))… (grants and history kept)"
        default: summary = t.transaction.body.payload.kind
        }
        return Event(height: t.height, timeMs: t.timeMillis, kind: t.transaction.body.payload.kind, transaction: t.id.hex,
                     actor: names.name(t.signerID), summary: summary, status: "verified")
    }

    static func powers(_ p: DelegatedPowers) -> String {
        [(DelegatedPowers.grant, "grant"), (.revoke, "revoke"), (.erase, "erase"), (.register, "register")]
            .filter { p.contains($0.0) }.map(\.1).joined(separator: "+")
    }

    func printText() {
        print("audit of patient \(patient) on chain \(chainID)")
        print("trusting only the genesis \(genesis.prefix(16))…")
        print("nodes:")
        for node in nodes {
            let detail = node.finding.map { "\($0.code)\($0.height.map { " at height \($0)" } ?? ""): \($0.message)" }
            print("  \(node.url): \(node.status.uppercased())" + (node.status == "verified" ? " to height \(node.height) (block \(node.block?.prefix(16) ?? "")…)" : "; \(detail ?? "")"))
        }
        guard exitStatus != 3 else {
            print("verdict: \(verdict)")
            return
        }
        print("validator sets:")
        for set in validatorSets { print("  version \(set.version) from height \(set.effectiveHeight): \(set.validators.count) validators") }
        print("grants (\(grants.count)):")
        for g in grants {
            let end = g.revokedHeight.map { "; revoked at height \($0) by \(g.revokedBy ?? "")" } ?? ""
            let what = (g.categories + g.shadows.map { "shadow \($0.prefix(16))…" }).joined(separator: ", ")
            print("  \(g.id.prefix(16))… \(g.breakGlass == nil ? "" : "BREAK-GLASS ")to \(g.grantee): \(g.actions.joined(separator: "+")) of \(what) for \(g.purpose), "
                  + "from \(isoDate(g.from)) until \(g.until.map(isoDate) ?? "revoked"), granted by \(g.grantor)\(end)")
        }
        print("timeline (\(timeline.count) events):")
        for e in timeline {
            let at = e.height.map { "h\($0)" } ?? "h?"
            print("  \(isoDate(e.timeMs / 1_000)) \(at) \(e.kind) by \(e.actor): \(e.summary) [\(e.status)]")
        }
        if let accessNote { print("accesses: \(accessNote)") }
        print("double-signing evidence on the ledger: " + (evidence.isEmpty ? "none" : "\(evidence.count)"))
        for e in evidence {
            print("  validator \(e.validator.prefix(16))… signed two \(e.type)s at height \(e.height) round \(e.round) "
                  + "(blocks \(e.blocks.map { String($0.prefix(16)) + "…" }.joined(separator: " and "))), recorded at height \(e.recordedHeight)")
        }
        print("verdict: \(verdict)")
    }
}

/// Names for key ids in the report: the patient, an enrolled participant's role and organization, an organization.
struct ActorNames {
    let patient: Hash32
    let participants: [Hash32: Enroll]
    let rotatedPatientKeys: [Hash32: Hash32]
    let organizations: [Hash32: String]
    let emergencyCategories: [String]
    let breakGlassSeconds: UInt64

    init(light: LightClient) {
        patient = light.patient
        participants = light.participants
        rotatedPatientKeys = light.rotatedPatientKeys
        organizations = light.organizations
        emergencyCategories = light.parameters.emergencyCategories
        breakGlassSeconds = light.parameters.breakGlassSeconds
    }

    func name(_ id: Hash32) -> String {
        if let p = participants[id] {
            if p.role == .patient && (patientID(for: p.key) == patient || rotatedPatientKeys[id] == patient) { return "the patient" }
            return "\(p.role.name) of \(p.organization) (\(id.hex.prefix(12))…)"
        }
        if let org = organizations[id] { return "organization \(org)" }
        return "key \(id.hex.prefix(12))…"
    }

    func grantee(_ g: Grantee) -> String {
        switch g {
        case .participant(let id): name(id)
        case .policy(let text): "whoever satisfies \(text)"
        }
    }
}

func isoDate(_ seconds: UInt64) -> String {
    ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(seconds)))
}
