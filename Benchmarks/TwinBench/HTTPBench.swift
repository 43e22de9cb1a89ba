import API
import Encoding
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hummingbird
import KeyValue
import Ledger
import Node
import Storage
import TwinCrypto

/// End to end over HTTP on one node: `clients` enrolled patients' signed consent grants, pre-signed, sent by up to 16
/// concurrent submitters without waiting. Reported: committed tx/s from the first submission to the last block, and
/// the p50/p99 of submit-to-block latency (HTTP, admission with signature verification, mempool, blocks of up to
/// 1,000 on a 200 ms interval, execution). The load generator shares the machine's one core of compute with the node.
@MainActor
func runHTTPBenchmark(clients: Int, perClient: Int) async throws {
    let chainID = "twinledger-http-bench"
    let directory = NSTemporaryDirectory() + "twinbench-http-\(getpid())"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    // The storage stack `node start` uses: LevelDB behind the state cache at its default size.
    let level = try LevelDBStore(path: directory + "/state")
    defer { level.close() }
    let store = CachedStore(base: level, capacityBytes: 256 << 20)
    let organization = try SecretKey()
    var settings = LedgerNode.Settings()
    settings.blockInterval = .milliseconds(200)
    settings.blockTransactionsMax = 1_000
    let node = try LedgerNode(
        store: store,
        genesis: LedgerGenesis(chainID: chainID, organizations: [Organization(name: "HOSP_A", key: organization.publicKey)]),
        proposer: organization.publicKey, settings: settings
    )
    // Enroll the patients and a practitioner directly through the node.
    let patients = try (0..<clients).map { _ in try SecretKey() }
    let practitioner = try SecretKey()
    var orgNonce: UInt64 = 0
    for key in patients + [practitioner] {
        orgNonce += 1
        let role: Role = key === practitioner ? .practitioner : .patient
        let body = TransactionBody(chainID: chainID, signer: organization.publicKey, nonce: orgNonce,
                                   payload: .enroll(Enroll(key: key.publicKey, role: role, organization: "HOSP_A")))
        _ = try await node.submit(try SignedTransaction(signing: body, with: organization).bytes)
        if orgNonce % 1_000 == 0 { _ = try await node.produceBlock() }
    }
    while try await node.produceBlock() != nil {}

    // Pre-sign every request so the clients measure the node, not their own signing.
    let requests: [[Data]] = try patients.map { patient in
        try (1...perClient).map { nonce in
            let grant = ConsentGrant(
                patient: patientID(for: patient.publicKey), grantee: .participant(practitioner.publicKey.keyID),
                actions: .read, scope: Scope(categories: ["neuro"]), purpose: .treatment, validFrom: 1_700_000_000,
                validUntil: nil
            )
            let body = TransactionBody(chainID: chainID, signer: patient.publicKey, nonce: UInt64(nonce), payload: .consentGrant(grant))
            let bytes = try SignedTransaction(signing: body, with: patient).bytes
            return Data(#"{"transaction":"\#(Hex.encode(bytes))"}"#.utf8)
        }
    }

    let port = 28_000 + Int(getpid() % 1_000)
    let app = Application(
        router: makeRouter(node: node), configuration: .init(address: .hostname("127.0.0.1", port: port))
    )
    let server = Task { try await app.runService() }
    let producer = Task { await node.runProducer() }
    defer {
        server.cancel()
        producer.cancel()
    }
    let configuration = URLSessionConfiguration.ephemeral
    configuration.httpMaximumConnectionsPerHost = clients
    configuration.timeoutIntervalForRequest = 60
    let session = URLSession(configuration: configuration)
    guard let url = URL(string: "http://127.0.0.1:\(port)/v1/transactions?wait=commit&timeout_ms=30000") else { return }
    for _ in 0..<100 {
        if let (_, response) = try? await session.data(from: URL(string: "http://127.0.0.1:\(port)/health")!),
           (response as? HTTPURLResponse)?.statusCode == 200 { break }
        try await Task.sleep(for: .milliseconds(50))
    }

    // Submitters send without waiting (each keeps one request in flight); a transaction's latency is its block's
    // time minus the wall-clock time it was submitted, both read from this machine's clock.
    guard let submitURL = URL(string: "http://127.0.0.1:\(port)/v1/transactions") else { return }
    let submitters = min(16, clients)
    let firstHeight = await node.head.height
    let startMillis = LedgerNode.wallClockMillis()
    let submitted = try await withThrowingTaskGroup(of: [(String, UInt64)].self) { group in
        for submitter in 0..<submitters {
            // Each submitter owns some patients and sends their transactions in nonce order.
            let mine = stride(from: submitter, to: clients, by: submitters).map { requests[$0] }
            group.addTask {
                var local: [(String, UInt64)] = []
                for round in 0..<perClient {
                    for bodies in mine {
                        var request = URLRequest(url: submitURL)
                        request.httpMethod = "POST"
                        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
                        request.httpBody = bodies[round]
                        let sentAt = LedgerNode.wallClockMillis()
                        let (data, _) = try await session.data(for: request)
                        guard let answer = try? JSONDecoder().decode(SubmitResponse.self, from: data) else {
                            throw NodeError("submission refused: \(String(decoding: data, as: UTF8.self))")
                        }
                        local.append((answer.id, sentAt))
                    }
                }
                return local
            }
        }
        var all: [(String, UInt64)] = []
        for try await part in group { all.append(contentsOf: part) }
        return all
    }
    // Wait for the mempool to drain, then read each transaction's block time.
    while await node.mempoolCount > 0 { try await Task.sleep(for: .milliseconds(50)) }
    let lastHeight = await node.head.height
    var blockTime: [String: UInt64] = [:]
    var accepted = 0
    for height in (firstHeight + 1)...max(firstHeight + 1, lastHeight) {
        guard let block = try await node.block(at: height), let outcomes = try await node.outcomes(at: height) else { continue }
        for outcome in outcomes {
            blockTime[outcome.transaction.hex] = block.header.timeMillis
            if outcome.accepted { accepted += 1 }
        }
    }
    let latencies = submitted.compactMap { id, sentAt in blockTime[id].map { Double($0) - Double(sentAt) } }
    let endMillis = blockTime.values.max() ?? startMillis
    let elapsed = Double(endMillis - startMillis) / 1_000
    let sorted = latencies.sorted()
    func percentile(_ p: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] / 1_000 }
    precondition(accepted == submitted.count, "every benchmark grant must be accepted (\(accepted) of \(submitted.count))")
    let rate = Double(latencies.count) / elapsed
    rows.append(Row(name: "HTTP end to end, \(submitters) submitters, committed", value: rate, unit: "tx/s", runs: [rate]))
    rows.append(Row(name: "HTTP end to end, submit-to-block p50", value: percentile(0.5) * 1000, unit: "ms", runs: []))
    rows.append(Row(name: "HTTP end to end, submit-to-block p99", value: percentile(0.99) * 1000, unit: "ms", runs: []))
    printRow("HTTP end to end (\(submitters) submitters, \(latencies.count) grants)", rate, "tx/s")
    printRow("  submit-to-block latency p50", percentile(0.5) * 1000, "ms", decimals: 1)
    printRow("  submit-to-block latency p99", percentile(0.99) * 1000, "ms", decimals: 1)
    printRow("  blocks for the measured grants", Double(lastHeight - firstHeight), "")
}
