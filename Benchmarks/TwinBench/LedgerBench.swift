import Encoding
import Foundation
import KeyValue
import Ledger
import Storage
import TwinCrypto

/// Apply + commit throughput of signed consent grants on one node, with `grantCount` grants already in state.
///
/// Setup: genesis with one organization, `patients` patients and `practitioners` practitioners enrolled through real
/// transactions, then `grantCount` grant records (with their state-tree leaves) loaded directly in batches of
/// 100,000. Measured: blocks of `blockSize` pre-verified `consent.grant` transactions, each executed (rules, indexes,
/// history chain), its state tree updated and the whole batch written to LevelDB with sync, one block at a time.
@MainActor
func runLedgerBenchmark(grantCount: Int, blocks: Int, blockSize: Int) throws {
    let chainID = "twinledger-bench"
    let directory = NSTemporaryDirectory() + "twinbench-ledger-\(getpid())"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let store = try LevelDBStore(path: directory + "/state")
    defer { store.close() }
    let machine = StateMachine(chainID: chainID)
    let organization = try SecretKey()
    let genesis = try StateMachine.genesis(LedgerGenesis(
        chainID: chainID, organizations: [Organization(name: "HOSP_A", key: organization.publicKey)]
    ))
    try store.write(genesis.batch, sync: true)

    var height: UInt64 = 0
    var time: UInt64 = 1_800_000_000
    var nonces: [Hash32: UInt64] = [:]
    func signed(_ key: SecretKey, _ payload: Payload) throws -> VerifiedTransaction {
        let id = key.publicKey.keyID
        let nonce = (nonces[id] ?? 0) + 1
        nonces[id] = nonce
        let body = TransactionBody(chainID: chainID, signer: key.publicKey, nonce: nonce, payload: payload)
        return try VerifiedTransaction(try SignedTransaction(signing: body, with: key), chainID: chainID)
    }
    func commit(_ transactions: [VerifiedTransaction]) throws -> BlockExecution {
        height += 1
        time += 1
        let execution = try machine.execute(transactions, on: store, context: BlockContext(height: height, time: time))
        try store.write(execution.batch, sync: true)
        return execution
    }

    let patientCount = 1_000
    let patients = try (0..<patientCount).map { _ in try SecretKey() }
    let practitioners = try (0..<200).map { _ in try SecretKey() }
    for chunk in stride(from: 0, to: patients.count + practitioners.count, by: 1_000) {
        let enrolls = try (chunk..<min(chunk + 1_000, patients.count + practitioners.count)).map { i in
            let key = i < patients.count ? patients[i] : practitioners[i - patients.count]
            return try signed(organization, .enroll(Enroll(
                key: key.publicKey, role: i < patients.count ? .patient : .practitioner, organization: "HOSP_A"
            )))
        }
        _ = try commit(enrolls)
    }

    // Preload grant records and their tree leaves.
    let loadStart = ContinuousClock.now
    var loaded = 0
    while loaded < grantCount {
        let count = min(100_000, grantCount - loaded)
        var batch = WriteBatch()
        var changes: [StateTree.Change] = []
        changes.reserveCapacity(count)
        for i in loaded..<loaded + count {
            let id = Hashing.sha3(withUnsafeBytes(of: UInt64(i).bigEndian) { Array($0) })
            let patient = patientID(for: patients[i % patientCount].publicKey)
            let grant = Canonical.encode(ConsentGrant(
                patient: patient, grantee: .participant(practitioners[i % practitioners.count].publicKey.keyID),
                actions: .read, scope: Scope(categories: ["neuro"]), purpose: .treatment, validFrom: time,
                validUntil: time + 86_400
            ))
            batch.put(StateKey.grant(id), grant)
            changes.append(.init(key: StateKey.grant(id), value: grant))
        }
        let (_, tree) = try StateTree.update(store, changes)
        batch.append(tree)
        try store.write(batch, sync: false)
        loaded += count
    }
    let loadSeconds = (ContinuousClock.now - loadStart).seconds
    print("  (preloaded \(grantCount) grants with their tree leaves in \(String(format: "%.1f", loadSeconds)) s)")

    // Sign and verify the measured blocks up front: the figure is apply + commit only.
    var pending: [[VerifiedTransaction]] = []
    var verifySeconds = 0.0
    for _ in 0..<blocks {
        var block: [VerifiedTransaction] = []
        for j in 0..<blockSize {
            let patient = patients[j % patientCount]
            let grant = ConsentGrant(
                patient: patientID(for: patient.publicKey),
                grantee: .participant(practitioners[(j * 7) % practitioners.count].publicKey.keyID),
                actions: .read, scope: Scope(categories: ["neuro.mri"]), purpose: .treatment, validFrom: time,
                validUntil: time + 86_400 * 30
            )
            let body = TransactionBody(
                chainID: chainID, signer: patient.publicKey,
                nonce: { () -> UInt64 in
                    let id = patient.publicKey.keyID
                    nonces[id] = (nonces[id] ?? 0) + 1
                    return nonces[id] ?? 0
                }(), payload: .consentGrant(grant)
            )
            let bytes = try SignedTransaction(signing: body, with: patient).bytes
            let start = ContinuousClock.now
            block.append(try VerifiedTransaction(bytes: bytes, chainID: chainID))
            verifySeconds += (ContinuousClock.now - start).seconds
        }
        pending.append(block)
    }
    let admissionRate = Double(blocks * blockSize) / verifySeconds

    var rates: [Double] = []
    var executeShare: [Double] = []
    for block in pending {
        let start = ContinuousClock.now
        height += 1
        time += 1
        let execution = try machine.execute(block, on: store, context: BlockContext(height: height, time: time))
        let executed = ContinuousClock.now
        try store.write(execution.batch, sync: true)
        let total = (ContinuousClock.now - start).seconds
        rates.append(Double(block.count) / total)
        executeShare.append((executed - start).seconds / total)
        let accepted = execution.results.filter { if case .accepted = $0 { true } else { false } }.count
        precondition(accepted == block.count, "benchmark grants must all be accepted")
    }
    let applyRate = median(rates)
    rows.append(Row(name: "ledger apply+commit, \(grantCount / 1000)k grants, \(blockSize)-tx blocks, sync",
                    value: applyRate, unit: "tx/s", runs: rates))
    printRow("ledger apply+commit (\(grantCount / 1000)k grants in state)", applyRate, "tx/s")
    rows.append(Row(name: "transaction admission (decode + verify), same transactions", value: admissionRate,
                    unit: "tx/s", runs: [admissionRate]))
    printRow("transaction admission (decode + Schnorr verify)", admissionRate, "tx/s")
    printRow("apply+commit / admission ratio", applyRate / admissionRate, "x", decimals: 2)
    printRow("  share of block time in execution (rules + state tree)", median(executeShare) * 100, "%")
    printRow("  share of block time in the synced LevelDB batch write", (1 - median(executeShare)) * 100, "%")
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
