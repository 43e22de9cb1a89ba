// The HTTP API through Hummingbird's router test client, over a real LedgerNode on an in-memory store.
//
// Covers: Docs/openapi.yaml lists exactly the routes the router serves; submit (JSON and raw bytes) with
// wait=commit; every refusal's code and HTTP status (malformed, wrong_chain, bad_signature, duplicate, stale_nonce,
// mempool_full); transaction status with proofs that verify; blocks; state values with proofs; accounts; a patient's
// grants, delegations and history; /health and /metrics.
import API
import Consensus
import Encoding
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeyValue
import Ledger
import Node
import NIOCore
import TestSupport
import Testing
import TwinCrypto

/// A node with one organization, and helpers to sign transactions for it.
struct APIFixture {
    let organization: SecretKey
    let node: LedgerNode
    let chainID = "twinledger-api-test"
    let clock = TestClock()

    init(mempool: Mempool.Limits = .init()) throws {
        organization = try SecretKey()
        var settings = LedgerNode.Settings()
        settings.mempool = mempool
        let clock = self.clock
        node = try LedgerNode(
            store: CachedStore(base: MemoryStore(), capacityBytes: 1 << 20),
            genesis: LedgerGenesis(chainID: chainID, organizations: [Organization(name: "HOSP_A", key: organization.publicKey)]),
            proposer: organization.publicKey, settings: settings, now: { clock.millis }
        )
    }

    func signed(_ key: SecretKey, _ nonce: UInt64, _ payload: Payload, chain: String? = nil) throws -> SignedTransaction {
        try SignedTransaction(
            signing: TransactionBody(chainID: chain ?? chainID, signer: key.publicKey, nonce: nonce, payload: payload), with: key
        )
    }

    var app: some ApplicationProtocol { Application(router: makeRouter(node: node)) }
}

final class TestClock: @unchecked Sendable {
    var millis: UInt64 = 1_800_000_000_000
}

func json(_ response: TestResponse) throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any] ?? [:]
}

func submitBody(_ tx: SignedTransaction) -> ByteBuffer {
    ByteBuffer(string: #"{"transaction":"\#(Hex.encode(tx.bytes))"}"#)
}

@Suite("HTTP API")
struct APITests {
    @Test("Docs/openapi.yaml documents exactly the routes the router serves")
    func openAPIMatchesRouter() throws {
        let text = try String(contentsOfFile: vectorPath("../../Docs/openapi.yaml"), encoding: .utf8)
        var documented: Set<String> = []
        var inPaths = false
        var currentPath: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "paths:" { inPaths = true; continue }
            if inPaths, let first = line.first, first != " " { break }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), line.hasSuffix(":"), !line.hasPrefix("   ") {
                currentPath = String(line.dropFirst(2).dropLast())
            } else if let path = currentPath, line.hasPrefix("    "), !line.hasPrefix("     "),
                      let method = ["get:", "post:", "put:", "delete:", "patch:"].first(where: { line.dropFirst(4) == $0 }) {
                documented.insert("\(method.dropLast().uppercased()) \(path)")
            }
        }
        let served = Set(APIRoutes.table.map { "\($0.method) \($0.path)" })
        #expect(documented == served, "only in the document: \(documented.subtracting(served)); only served: \(served.subtracting(documented))")
        #expect(served.count == APIRoutes.table.count)
    }

    @Test("submit, wait for commit, status with verified proofs, block, state, account")
    func submitAndQuery() async throws {
        let fixture = try APIFixture()
        let patient = try SecretKey()
        let enroll = try fixture.signed(fixture.organization, 1, .enroll(Enroll(key: patient.publicKey, role: .patient, organization: "HOSP_A")))
        let producer = Task { await fixture.node.runProducer() }
        defer { producer.cancel() }
        try await fixture.app.test(.router) { client in
            try await client.execute(uri: "/v1/transactions?wait=commit", method: .post, body: submitBody(enroll)) { response in
                #expect(response.status == .ok)
                let body = try json(response)
                #expect(body["status"] as? String == "committed" && body["code"] as? String == "")
                #expect(body["id"] as? String == Hashing.sha3(enroll.bytes).hex)
            }
            try await client.execute(uri: "/v1/transactions/\(Hashing.sha3(enroll.bytes).hex)", method: .get) { response in
                #expect(response.status == .ok)
                let status = try JSONDecoder().decode(TransactionStatusResponse.self, from: Data(buffer: response.body))
                #expect(status.status == "committed" && status.accepted == true && status.kind == "enroll")
                // Verify the returned proofs independently of the server's own check.
                let header = try #require(status.header)
                let proof = MerkleProof(index: try #require(status.transactionProof).index, count: header.transactionCount,
                                        path: status.transactionProof?.path.compactMap { Hash32(hex: $0) } ?? [])
                #expect(proof.verify(leaf: Hashing.sha3(enroll.bytes).bytes, root: try #require(Hash32(hex: header.transactionsRoot))))
            }
            try await client.execute(uri: "/v1/blocks/latest", method: .get) { response in
                let block = try JSONDecoder().decode(BlockResponse.self, from: Data(buffer: response.body))
                #expect(block.header.height == 1 && block.transactions.first?.kind == "enroll")
            }
            // The raw block verifies on its own: its header hashes to the block's hash, the transactions and the
            // outcomes to the header's roots.
            var headerHash = ""
            try await client.execute(uri: "/v1/blocks/1", method: .get) { response in
                headerHash = try JSONDecoder().decode(BlockResponse.self, from: Data(buffer: response.body)).header.hash
            }
            try await client.execute(uri: "/v1/blocks/1/raw", method: .get) { response in
                #expect(response.status == .ok)
                let raw = try JSONDecoder().decode(RawBlockResponse.self, from: Data(buffer: response.body))
                let block = try Canonical.decode(Block.self, from: try #require(Hex.decode(raw.block)))
                #expect(block.header.hash.hex == headerHash && raw.height == 1)
                #expect(MerkleTree.root(block.transactions.map { Hashing.sha3($0).bytes }) == block.header.transactionsRoot)
                let outcomes = try raw.outcomes.map { TransactionOutcome(transaction: try #require(Hash32(hex: $0.transaction)), code: $0.code) }
                #expect(outcomes.count == block.transactions.count && outcomes.allSatisfy { $0.code.isEmpty })
                #expect(MerkleTree.root(outcomes.map { Canonical.encode($0) }) == block.header.resultsRoot)
                if let certificate = raw.certificate {
                    let decoded = try Canonical.decode(CommitCertificate.self, from: try #require(Hex.decode(certificate)))
                    #expect(decoded.height == 1 && decoded.block == block.header.hash)
                }
            }
            try await client.execute(uri: "/v1/blocks/9/raw", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/v1/blocks/9", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/v1/blocks/x", method: .get) { #expect($0.status == .badRequest) }
            let key = StateKey.participant(patient.publicKey.keyID)
            try await client.execute(uri: "/v1/state/\(Hex.encode(key))", method: .get) { response in
                let state = try JSONDecoder().decode(StateResponse.self, from: Data(buffer: response.body))
                #expect(state.exists)
                let root = try #require(Hash32(hex: state.stateRoot))
                let proof = StateTree.Proof(
                    siblings: state.proof.siblings.compactMap { Hash32(hex: $0) },
                    terminal: state.proof.terminal == "leaf"
                        ? .leaf(key: try #require(Hash32(hex: state.proof.leafKey ?? "")), value: try #require(Hash32(hex: state.proof.leafValue ?? "")))
                        : .empty
                )
                #expect(proof.verify(root: root, key: key, value: Hex.decode(state.value ?? "")))
            }
            try await client.execute(uri: "/v1/accounts/\(fixture.organization.publicKey.keyID.hex)", method: .get) { response in
                let account = try JSONDecoder().decode(AccountResponse.self, from: Data(buffer: response.body))
                #expect(account.nonce == 1 && account.organization == "HOSP_A")
            }
        }
    }

    @Test("every refusal has its code and HTTP status, as JSON {code, message}")
    func refusals() async throws {
        let fixture = try APIFixture(mempool: .init(transactionsMax: 2, bytesMax: 1 << 20, perSignerMax: 10))
        let stranger = try SecretKey()
        let good = try fixture.signed(fixture.organization, 1, .enroll(Enroll(key: stranger.publicKey, role: .patient, organization: "HOSP_A")))
        var tampered = good
        tampered.body.nonce = 9
        let forged = tampered
        let otherChain = try fixture.signed(fixture.organization, 2, .auditAnchor(AuditAnchor(root: .zero, firstSequence: 0, count: 1)), chain: "elsewhere")
        try await fixture.app.test(.router) { client in
            func expect(_ body: ByteBuffer, _ status: HTTPResponse.Status, _ code: String, contentType: String? = nil) async throws {
                var headers = HTTPFields()
                if let contentType { headers[.contentType] = contentType }
                try await client.execute(uri: "/v1/transactions", method: .post, headers: headers, body: body) { response in
                    #expect(response.status == status, "\(code)")
                    let body = try json(response)
                    if code.isEmpty {
                        #expect(body["status"] as? String == "pending")
                    } else {
                        #expect(body["code"] as? String == code)
                        #expect(body["message"] is String)
                    }
                }
            }
            try await expect(ByteBuffer(string: "{}"), .badRequest, "malformed")
            try await expect(ByteBuffer(string: #"{"transaction":"0102"}"#), .badRequest, "malformed")
            try await expect(submitBody(forged), .badRequest, "bad_signature")
            try await expect(submitBody(otherChain), .badRequest, "wrong_chain")
            try await expect(ByteBuffer(bytes: good.bytes), .ok, "", contentType: "application/octet-stream")
            try await expect(submitBody(good), .conflict, "duplicate")
            try await expect(submitBody(try fixture.signed(fixture.organization, 3, .auditAnchor(AuditAnchor(root: .zero, firstSequence: 0, count: 1)))), .ok, "")
            try await expect(submitBody(try fixture.signed(fixture.organization, 4, .auditAnchor(AuditAnchor(root: .zero, firstSequence: 0, count: 1)))), .serviceUnavailable, "mempool_full")
            _ = try await fixture.node.produceBlock()
            try await expect(submitBody(good), .conflict, "duplicate")
            try await expect(submitBody(try fixture.signed(fixture.organization, 2, .auditAnchor(AuditAnchor(root: .zero, firstSequence: 1, count: 1)))), .conflict, "stale_nonce")
            try await client.execute(uri: "/v1/transactions/\(Hash32.zero.hex)", method: .get) { response in
                let body = try json(response)
                #expect(response.status == .notFound && body["code"] as? String == "not_found")
            }
            try await client.execute(uri: "/v1/patients/xyz/grants", method: .get) { response in
                let body = try json(response)
                #expect(response.status == .badRequest && body["code"] as? String == "invalid_parameter")
            }
        }
    }

    @Test("a patient's grants, delegations and verifiable history; health and metrics")
    func patientViews() async throws {
        let fixture = try APIFixture()
        let patient = try SecretKey(), doctor = try SecretKey(), caregiver = try SecretKey()
        let pid = patientID(for: patient.publicKey)
        let transactions: [SignedTransaction] = [
            try fixture.signed(fixture.organization, 1, .enroll(Enroll(key: patient.publicKey, role: .patient, organization: "HOSP_A"))),
            try fixture.signed(fixture.organization, 2, .enroll(Enroll(key: doctor.publicKey, role: .practitioner, organization: "HOSP_A"))),
            try fixture.signed(fixture.organization, 3, .enroll(Enroll(key: caregiver.publicKey, role: .caregiver, organization: "HOSP_A"))),
            try fixture.signed(patient, 1, .consentGrant(ConsentGrant(patient: pid, grantee: .participant(doctor.publicKey.keyID), actions: .read, scope: Scope(categories: ["neuro"]), purpose: .treatment, validFrom: 1_700_000_000, validUntil: nil))),
            try fixture.signed(patient, 2, .delegationGrant(DelegationGrant(patient: pid, delegate: caregiver.publicKey.keyID, powers: .grant, categories: [], validUntil: nil))),
            try fixture.signed(doctor, 1, .consentGrant(ConsentGrant(patient: pid, grantee: .participant(doctor.publicKey.keyID), actions: .read, scope: Scope(categories: ["cardio"]), purpose: .treatment, validFrom: 1_700_000_000, validUntil: nil))),
        ]
        // Enrollments first, in their own block: the mempool interleaves signers fairly, so transactions that
        // depend on another signer's must wait for its block (as real clients do with wait=commit).
        for tx in transactions.prefix(3) { _ = try await fixture.node.submit(tx.bytes) }
        _ = try await fixture.node.produceBlock()
        for tx in transactions.dropFirst(3) { _ = try await fixture.node.submit(tx.bytes) }
        _ = try await fixture.node.produceBlock()
        try await fixture.app.test(.router) { client in
            try await client.execute(uri: "/v1/patients/\(pid.hex)/grants?active=true", method: .get) { response in
                let grants = try JSONDecoder().decode(GrantsResponse.self, from: Data(buffer: response.body))
                #expect(grants.grants.count == 1)
                let grant = try #require(grants.grants.first)
                #expect(grant.granteeKeyID == doctor.publicKey.keyID.hex && grant.actions == ["read"] && grant.active)
            }
            try await client.execute(uri: "/v1/patients/\(pid.hex)/delegations", method: .get) { response in
                let list = try JSONDecoder().decode(DelegationsResponse.self, from: Data(buffer: response.body))
                #expect(list.delegations.map(\.delegate) == [caregiver.publicKey.keyID.hex])
            }
            try await client.execute(uri: "/v1/patients/\(pid.hex)/history", method: .get) { response in
                let history = try JSONDecoder().decode(HistoryResponse.self, from: Data(buffer: response.body))
                #expect(history.count == 3 && history.entries.map(\.kind) == ["enroll", "consent.grant", "delegation.grant"])
                let head = history.entries.reduce(HistoryHead.empty) { $0.appending(Hash32(hex: $1.transaction) ?? .zero) }
                #expect(head.head.hex == history.head)
                // The head is provable against the state root.
                let proof = StateTree.Proof(siblings: history.proof.siblings.compactMap { Hash32(hex: $0) },
                                            terminal: .leaf(key: Hash32(hex: history.proof.leafKey ?? "") ?? .zero, value: Hash32(hex: history.proof.leafValue ?? "") ?? .zero))
                #expect(proof.verify(root: Hash32(hex: history.stateRoot) ?? .zero, key: StateKey.historyHead(pid), value: Canonical.encode(head)))
            }
            try await client.execute(uri: "/health", method: .get) { response in
                let body = try json(response)
                #expect(response.status == .ok && body["height"] as? Int == 2)
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(text.contains("twinledger_height 2"))
                #expect(text.contains("twinledger_transactions_accepted_total 5"))
                #expect(text.contains(#"twinledger_transactions_rejected_total{code="unauthorized"} 1"#))
                #expect(text.contains("twinledger_block_commit_seconds_count 2"))
                #expect(text.contains("twinledger_state_cache_hits_total"))
                let cacheBytes = text.split(separator: "\n").first { $0.hasPrefix("twinledger_state_cache_bytes ") }
                    .flatMap { Double($0.split(separator: " ")[1]) } ?? 0
                #expect(cacheBytes > 1_000, "two blocks should have put state in the cache")
                // The genesis state and five accepted transactions: at least a leaf (64 bytes) per entry written.
                let treeBytes = text.split(separator: "\n").first { $0.hasPrefix("twinledger_state_tree_bytes ") }
                    .flatMap { Double($0.split(separator: " ")[1]) } ?? 0
                #expect(treeBytes >= 64 * 5, "the state tree's nodes in use: \(treeBytes)")
                // Read at the scrape (not per block): a node that has served requests has handed out heap memory.
                let heapBytes = text.split(separator: "\n").first { $0.hasPrefix("twinledger_heap_in_use_bytes ") }
                    .flatMap { Double($0.split(separator: " ")[1]) } ?? 0
                // Under a sanitizer (make test-sanitize) malloc is the sanitizer's, and glibc's statistics stay empty.
                if ProcessInfo.processInfo.environment["TWINLEDGER_SANITIZER"] == nil {
                    #expect(heapBytes > 1_000_000, "the C heap in use: \(heapBytes)")
                }
            }
        }
    }
}
