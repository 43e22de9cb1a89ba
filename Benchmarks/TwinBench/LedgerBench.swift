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
func runLedgerBenchmark(grantCount: Int, blocks: Int, blockSize: Int, stateCacheBytes: Int = 256 << 20) throws {
    let chainID = "twinledger-bench"
    let directory = NSTemporaryDirectory() + "twinbench-ledger-\(getpid())"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let level = try LevelDBStore(path: directory + "/state")
    defer { level.close() }
    var store = CachedStore(base: level, capacityBytes: 0)
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
    var tree = try StateTree.load(store)
    func commit(_ transactions: [VerifiedTransaction]) throws -> BlockExecution {
        height += 1
        time += 1
        let execution = try machine.execute(
            transactions, on: store, tree: tree, context: BlockContext(height: height, time: time)
        )
        try store.write(execution.batch, sync: true)
        try execution.tree.commit()
        tree = execution.tree
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

    // Preload grant records (the tree is rebuilt from them below, as a restarting node does).
    let loadStart = ContinuousClock.now
    var loaded = 0
    while loaded < grantCount {
        let count = min(100_000, grantCount - loaded)
        var batch = WriteBatch()
        for i in loaded..<loaded + count {
            let id = Hashing.sha3(withUnsafeBytes(of: UInt64(i).bigEndian) { Array($0) })
            let patient = patientID(for: patients[i % patientCount].publicKey)
            let grant = Canonical.encode(ConsentGrant(
                patient: patient, grantee: .participant(practitioners[i % practitioners.count].publicKey.keyID),
                actions: .read, scope: Scope(categories: ["neuro"]), purpose: .treatment, validFrom: time,
                validUntil: time + 86_400
            ))
            batch.put(StateKey.grant(id), grant)
        }
        try store.write(batch, sync: false)
        loaded += count
    }
    let loadSeconds = (ContinuousClock.now - loadStart).seconds
    print("  (preloaded \(grantCount) grants in \(String(format: "%.1f", loadSeconds)) s)")

    // Measure as a restarted node runs: the store reopened with an empty state cache, the state tree rebuilt from the
    // stored state, as `node start` does.
    level.close()
    let reopened = try LevelDBStore(path: directory + "/state")
    defer { reopened.close() }
    store = CachedStore(base: reopened, capacityBytes: stateCacheBytes)
    let rebuildStart = ContinuousClock.now
    tree = try StateTree.load(store)
    print("  (reopened; rebuilt the state tree of \(grantCount / 1000)k+ entries in "
        + "\(String(format: "%.1f", (ContinuousClock.now - rebuildStart).seconds)) s)")

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
    var (blockMillis, execMillis, treeMillis, writeMillis, leafChanges) = ([Double](), [Double](), [Double](), [Double](), [Double]())
    var releaseMillis: [Double] = []
    for block in pending {
        let start = ContinuousClock.now
        height += 1
        time += 1
        let execution = try machine.execute(block, on: store, tree: tree, context: BlockContext(height: height, time: time))
        let executed = ContinuousClock.now
        try store.write(execution.batch, sync: true)
        let written = ContinuousClock.now
        // The state tree's part of execution, timed apart: the block's authenticated changes applied once more to the
        // tree before the block (the result is discarded). It runs on nodes the block just touched, so it reads
        // warmer memory than the first time.
        let changes = execution.batch.operations.compactMap { operation -> StateTree.Change? in
            switch operation {
            case .put(let key, let value) where StateKey.isAuthenticated(key): StateTree.Change(key: key, value: value)
            case .delete(let key) where StateKey.isAuthenticated(key): StateTree.Change(key: key, value: nil)
            default: nil
            }
        }
        let treeStart = ContinuousClock.now
        let rerun = try tree.updating(changes)
        treeMillis.append((ContinuousClock.now - treeStart).seconds * 1000)
        rerun.discard()
        // Committing the block's tree frees the nodes the block replaced: part of every commit.
        let releaseStart = ContinuousClock.now
        try execution.tree.commit()
        tree = execution.tree
        let release = (ContinuousClock.now - releaseStart).seconds
        let total = (written - start).seconds + release
        rates.append(Double(block.count) / total)
        executeShare.append((executed - start).seconds / total)
        blockMillis.append(total * 1000)
        writeMillis.append((written - executed).seconds * 1000)
        releaseMillis.append(release * 1000)
        execMillis.append((executed - start).seconds * 1000)
        leafChanges.append(Double(changes.count))
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
    printRow("  share of block time in the batch write and tree release", (1 - median(executeShare)) * 100, "%")
    printRow("  per block: total", median(blockMillis), "ms", decimals: 1)
    printRow("  per block: rules (execution without the state tree)", median(execMillis) - median(treeMillis), "ms", decimals: 1)
    printRow("  per block: state tree update (\(Int(median(leafChanges))) leaf changes)", median(treeMillis), "ms", decimals: 1)
    printRow("  per block: synced batch write + cache update", median(writeMillis), "ms", decimals: 1)
    printRow("  per block: releasing the replaced tree nodes", median(releaseMillis), "ms", decimals: 1)
    let nodes = tree.liveNodes
    print("  (state tree: \(nodes.branches) branches, \(nodes.leaves) leaves, \(nodes.bytes >> 20) MiB of nodes)")
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
