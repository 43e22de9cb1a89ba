import ArgumentParser
import Foundation
import Encoding
import Node
import KeyValue
import Ledger
import Storage
import TwinCrypto

/// Tools for tests and operators, hidden from the main help.
struct DebugCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug", abstract: "Tools for tests and diagnosis.", shouldDisplay: false,
        subcommands: [StorageWriter.self, ChainWriter.self, VerifyLoop.self, LedgerLoop.self, SyncLoop.self, DamageBlob.self, CheckBlobs.self]
    )

    /// Writes numbered batches forever (or `--batches` of them) so a test can kill the process mid-write and check
    /// that every batch is all-or-nothing and every acknowledged batch survived.
    ///
    /// Batch i sets keys `k/0000`…`k/NNNN` and `counter` to the decimal i, in one LevelDB write batch, then prints
    /// "committed i". After a crash, all those keys must hold one and the same number, at least the last printed.
    struct StorageWriter: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "storage-writer")

        @Option var path: String
        @Option var keys = 200
        @Option var batches = Int.max
        @Option var valueBytes = 512
        @Flag var sync = false

        func run() throws {
            let store = try LevelDBStore(path: path)
            let padding = [UInt8](repeating: UInt8(ascii: "."), count: max(0, valueBytes))
            var i = 0
            while i < batches {
                i += 1
                let value = Array(String(i).utf8) + [0] + padding
                var batch = WriteBatch()
                for k in 0..<keys { batch.put(Array(String(format: "k/%04d", k).utf8), value) }
                batch.put(Array("counter".utf8), value)
                try store.write(batch, sync: sync)
                print("committed \(i)")
                fflush(nil)
            }
        }
    }
}

/// Produces blocks of consent transactions on a LevelDB chain until killed (or `--blocks` are done), printing
/// "committed HEIGHT STATE_ROOT" after each durable commit. Keys derive from `--seed`, so a restarted writer finds
/// its genesis, patients and nonces again and continues the same chain. Used by the crash-recovery tests.
struct ChainWriter: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "chain-writer")

    @Option var path: String
    @Option var seed: UInt64 = 1
    @Option var blocks = Int.max
    @Option var blockSize = 50

    func key(_ label: String) throws -> SecretKey {
        try SecretKey(bytes: Hashing.sha3(Array("chain-writer \(seed) \(label)".utf8)).bytes)
    }

    func run() throws {
        let chainID = "twinledger-crash-test"
        let organization = try key("organization")
        let store = try LevelDBStore(path: path)
        let chain = try Chain(store: store, genesis: LedgerGenesis(
            chainID: chainID, organizations: [Organization(name: "HOSP_A", key: organization.publicKey)]
        ))
        let patients = try (0..<20).map { try key("patient \($0)") }
        let practitioner = try key("practitioner")
        var nonces: [Hash32: UInt64] = [:]
        func next(_ signer: SecretKey) throws -> UInt64 {
            let id = signer.publicKey.keyID
            if nonces[id] == nil {
                nonces[id] = try store.get(StateKey.nonce(id)).map { try Canonical.decode(UInt64.self, from: $0) } ?? 0
            }
            nonces[id, default: 0] += 1
            return nonces[id, default: 0]
        }
        func sign(_ signer: SecretKey, _ payload: Payload) throws -> VerifiedTransaction {
            let body = TransactionBody(chainID: chainID, signer: signer.publicKey, nonce: try next(signer), payload: payload)
            return try VerifiedTransaction(try SignedTransaction(signing: body, with: signer), chainID: chainID)
        }
        if chain.head.height == 0 {
            let enrolls = try (patients + [practitioner]).map { participant in
                try sign(organization, .enroll(Enroll(
                    key: participant.publicKey, role: participant === practitioner ? .practitioner : .patient,
                    organization: "HOSP_A"
                )))
            }
            let (block, execution) = try chain.propose(enrolls, timeMillis: 1_800_000_000_000, proposer: organization.publicKey)
            try chain.commit(block, execution)
            print("committed \(chain.head.height) \(chain.head.stateRoot.hex)")
        }
        var produced = 0
        while produced < blocks {
            produced += 1
            let transactions = try (0..<blockSize).map { i in
                let patient = patients[(Int(chain.head.height) + i) % patients.count]
                return try sign(patient, .consentGrant(ConsentGrant(
                    patient: patientID(for: patient.publicKey), grantee: .participant(practitioner.publicKey.keyID),
                    actions: .read, scope: Scope(categories: ["neuro"]), purpose: .treatment,
                    validFrom: 1_800_000_000, validUntil: nil
                )))
            }
            let time = chain.head.timeMillis + 1_000
            let (block, execution) = try chain.propose(transactions, timeMillis: time, proposer: organization.publicKey)
            try chain.commit(block, execution)
            print("committed \(chain.head.height) \(chain.head.stateRoot.hex)")
            fflush(nil)
        }
    }
}

/// Verifies BIP340 signatures for `--millis` and prints how many: the cluster benchmark runs one per validator at
/// once to measure the machine's verification ceiling (Docs/performance.md, "Consortium").
struct VerifyLoop: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "verify-loop")

    @Option var millis = 3_000

    func run() throws {
        let key = try SecretKey()
        let messages = (0..<64).map { i in Hashing.sha3(Array("message \(i)".utf8)).bytes }
        let signatures = try messages.map { try key.sign($0) }
        var count = 0
        let clock = ContinuousClock()
        let end = clock.now + .milliseconds(millis)
        while clock.now < end {
            for (message, signature) in zip(messages, signatures) where key.publicKey.verify(signature, for: message) {
                count += 1
            }
        }
        print("verified \(count)")
    }
}

/// A validator's per-transaction work without the network: decodes and verifies pre-signed consent grants, executes
/// them in blocks on a LevelDB ledger (with the node's state cache) and commits each block durably, then prints
/// "transactions N seconds S". The cluster benchmark runs one per validator at once, next to the verification
/// ceiling: what a validator could commit if the API, gossip and consensus cost nothing (Docs/performance.md).
struct LedgerLoop: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ledger-loop")

    @Option(help: "A directory for the ledger (created, and removed afterwards).") var path: String
    @Option var transactions = 30_000
    @Option var patients = 400
    @Option var blockSize = 2_000
    @Flag(help: "Keep the ledger afterwards (tests read it).") var keep = false

    func run() throws {
        let chainID = "twinledger-ledger-loop"
        let organization = try SecretKey()
        let level = try LevelDBStore(path: path)
        defer {
            level.close()
            if !keep { try? FileManager.default.removeItem(atPath: path) }
        }
        let store = CachedStore(base: level, capacityBytes: NodeConfig.defaultStateCacheMB << 20)
        let chain = try Chain(store: store, genesis: LedgerGenesis(
            chainID: chainID, organizations: [Organization(name: "HOSP_A", key: organization.publicKey)]
        ))
        let keys = try (0..<patients).map { _ in try SecretKey() }
        let practitioner = try SecretKey()
        var enrollments: [VerifiedTransaction] = []
        for (index, key) in (keys + [practitioner]).enumerated() {
            let body = TransactionBody(chainID: chainID, signer: organization.publicKey, nonce: UInt64(index + 1), payload: .enroll(
                Enroll(key: key.publicKey, role: key === practitioner ? .practitioner : .patient, organization: "HOSP_A")))
            enrollments.append(try VerifiedTransaction(try SignedTransaction(signing: body, with: organization), chainID: chainID))
        }
        let (first, firstExecution) = try chain.propose(enrollments, timeMillis: 1_800_000_000_000, proposer: organization.publicKey)
        try chain.commit(first, firstExecution)
        // The same grants the cluster benchmark sends, signed before the clock starts.
        var nonces = [UInt64](repeating: 0, count: keys.count)
        let signed = try (0..<transactions).map { i -> [UInt8] in
            let p = i % keys.count
            nonces[p] += 1
            let body = TransactionBody(chainID: chainID, signer: keys[p].publicKey, nonce: nonces[p], payload: .consentGrant(ConsentGrant(
                patient: patientID(for: keys[p].publicKey), grantee: .participant(practitioner.publicKey.keyID), actions: .read,
                scope: Scope(categories: ["cardio"]), purpose: .treatment, validFrom: 1_700_000_000, validUntil: nil)))
            return try SignedTransaction(signing: body, with: keys[p]).bytes
        }
        let clock = ContinuousClock()
        let start = clock.now
        var index = 0
        while index < signed.count {
            let block = try signed[index..<min(signed.count, index + blockSize)].map {
                try VerifiedTransaction(bytes: $0, chainID: chainID)
            }
            index += block.count
            let (next, execution) = try chain.propose(block, timeMillis: chain.head.timeMillis + 1_000, proposer: organization.publicKey)
            try chain.commit(next, execution)
        }
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print("transactions \(signed.count) seconds \(seconds)")
    }
}

/// LevelDB's synced batch write rate for a validator's commits, alone: for `--millis`, batches of what `--transactions`
/// committed grants write (per grant three authenticated entries, the grant, the patient's history head and the
/// signer's nonce, and three local indexes: six puts of 38-byte keys in hash order and 100-byte values), each batch
/// one synced LevelDB write, as a block's commit is. Prints "batches B transactions T seconds S". The cluster
/// benchmark runs one per validator at once, beside the verification ceiling (Docs/performance.md, "Consortium").
struct SyncLoop: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sync-loop")

    @Option(help: "A directory for the store (created, and removed afterwards).") var path: String
    @Option var millis = 3_000
    @Option(help: "Transactions per batch (a block).") var transactions = 2_000

    func run() throws {
        let store = try LevelDBStore(path: path)
        defer {
            store.close()
            try? FileManager.default.removeItem(atPath: path)
        }
        let value = [UInt8](repeating: 0x5A, count: 100)
        var counter: UInt64 = 0, batches = 0
        let clock = ContinuousClock()
        let start = clock.now, end = start + .milliseconds(millis)
        while clock.now < end {
            var batch = WriteBatch()
            for _ in 0..<(transactions * 6) {
                // 32 bytes spread like hashes (splitmix64), without paying for SHA3 in a storage figure.
                var key = Array("grant/".utf8)
                for _ in 0..<4 {
                    counter &+= 0x9E37_79B9_7F4A_7C15
                    var z = counter
                    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                    withUnsafeBytes(of: (z ^ (z >> 31)).bigEndian) { key += $0 }
                }
                batch.put(key, value)
            }
            try store.write(batch, sync: true)
            batches += 1
        }
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print("batches \(batches) transactions \(batches * transactions) seconds \(seconds)")
    }
}

/// Flips one byte of a stored blob in a stopped node's blob store, as a failing disk would (tests of detection and
/// repair). Exits 1 if the blob is not there.
struct DamageBlob: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "damage-blob")
    @Option(help: "The node's data/blobs directory (the node must be stopped).") var path: String
    @Option var address: String

    func run() throws {
        guard let address = Hash32(hex: address) else { throw ValidationError("--address must be 64 hex digits") }
        let store = try LevelDBStore(path: path)
        defer { store.close() }
        guard var bytes = try store.get([0x01] + address.bytes), !bytes.isEmpty else { throw ExitCode(1) }
        bytes[bytes.count / 2] ^= 0x5A
        try store.put([0x01] + address.bytes, bytes, sync: true)
        print("damaged \(address.hex)")
    }
}

/// Re-hashes every blob of a stopped node's blob store: prints "blobs N damaged M quarantined Q" (tests of crash safety:
/// no blob may ever be stored under an address its bytes do not hash to).
struct CheckBlobs: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check-blobs")
    @Option(help: "The node's data/blobs directory (the node must be stopped).") var path: String

    func run() throws {
        let store = try LevelDBStore(path: path)
        defer { store.close() }
        var count = 0, damaged = 0
        try store.forEach(prefix: [0x01], start: nil) { entry in
            count += 1
            if Hashing.sha3(entry.value).bytes != Array(entry.key.dropFirst()) { damaged += 1 }
            return true
        }
        let quarantined = try store.scan(prefix: [0x02]).count
        print("blobs \(count) damaged \(damaged) quarantined \(quarantined)")
    }
}
