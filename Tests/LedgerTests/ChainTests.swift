import ABE
// The chain: blocks link by hash and carry correct roots; inclusion proofs verify for accepted and rejected
// transactions; the head survives reopening; another genesis is refused; and a real block producer killed with
// SIGKILL at random moments always restarts at its last whole block and continues.
import Encoding
import Foundation
import KeyValue
import Ledger
import Storage
import TestSupport
import Testing
import TwinCrypto

func binary() -> String? {
    if let path = ProcessInfo.processInfo.environment["TWINLEDGER_BIN"] { return path }
    let url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("twinledger")
    return FileManager.default.isExecutableFile(atPath: url.path) ? url.path : nil
}

@Suite("Chain")
struct ChainTests {
    func genesis(_ organization: SecretKey) -> LedgerGenesis {
        LedgerGenesis(chainID: "twinledger-test", organizations: [Organization(name: "HOSP_A", key: organization.publicKey)])
    }

    @Test("blocks link, roots are right, inclusion proofs verify for accepted and rejected transactions")
    func blocksAndProofs() throws {
        let dir = try makeTemporaryDirectory("chain")
        defer { removeTemporaryDirectory(dir) }
        let organization = try SecretKey()
        var store = try LevelDBStore(path: dir + "/db")
        var chain = try Chain(store: store, genesis: genesis(organization))
        #expect(chain.head.height == 0)
        let patient = try SecretKey()
        let practitioner = try SecretKey()
        func tx(_ key: SecretKey, _ nonce: UInt64, _ payload: Payload) throws -> VerifiedTransaction {
            let body = TransactionBody(chainID: "twinledger-test", signer: key.publicKey, nonce: nonce, payload: payload)
            return try VerifiedTransaction(try SignedTransaction(signing: body, with: key), chainID: "twinledger-test")
        }
        let enroll1 = try tx(organization, 1, .enroll(Enroll(key: patient.publicKey, role: .patient, organization: "HOSP_A")))
        let enroll2 = try tx(organization, 2, .enroll(Enroll(key: practitioner.publicKey, role: .practitioner, organization: "HOSP_A")))
        let (b1, e1) = try chain.propose([enroll1, enroll2], timeMillis: 1_800_000_000_000, proposer: organization.publicKey)
        try chain.commit(b1, e1)
        let grant = try tx(patient, 1, .consentGrant(ConsentGrant(
            patient: patientID(for: patient.publicKey), grantee: .participant(practitioner.publicKey.keyID),
            actions: .read, scope: Scope(categories: ["neuro"]), purpose: .treatment, validFrom: 1_800_000_000, validUntil: nil)))
        let forbidden = try tx(practitioner, 1, .consentGrant(ConsentGrant(
            patient: patientID(for: patient.publicKey), grantee: .participant(practitioner.publicKey.keyID),
            actions: .read, scope: Scope(categories: ["neuro"]), purpose: .treatment, validFrom: 1_800_000_000, validUntil: nil)))
        let (b2, e2) = try chain.propose([grant, forbidden], timeMillis: 1_800_000_005_000, proposer: organization.publicKey)
        // A block that does not extend the head is refused.
        #expect { try chain.commit(b1, e1) } throws: { ($0 as? LedgerError)?.code == .badSequence }
        try chain.commit(b2, e2)

        #expect(chain.head.height == 2 && chain.head.blockHash == b2.header.hash)
        #expect(b2.header.previousBlock == b1.header.hash && b1.header.previousBlock == .zero)
        #expect(try StateTree.root(store) == b2.header.stateRoot)
        let accepted = try #require(try chain.inclusionProof(of: grant.id))
        #expect(accepted.verify() && accepted.outcome.accepted && accepted.header == b2.header)
        let rejected = try #require(try chain.inclusionProof(of: forbidden.id))
        #expect(rejected.verify() && rejected.outcome.code == "unauthorized")
        var tampered = accepted
        tampered.outcome.code = "unauthorized"
        #expect(!tampered.verify())
        #expect(try chain.inclusionProof(of: Hashing.sha3([1])) == nil)
        // A state value with its proof against the head.
        let grantKey = StateKey.grant(grant.id)
        let (value, proof, root) = try chain.stateValue(grantKey)
        #expect(value != nil && proof.verify(root: root, key: grantKey, value: value) && root == b2.header.stateRoot)

        // Reopen: the head is restored; another genesis is refused.
        store.close()
        store = try LevelDBStore(path: dir + "/db")
        defer { store.close() }
        chain = try Chain(store: store, genesis: genesis(organization))
        #expect(chain.head.height == 2 && chain.head.blockHash == b2.header.hash)
        #expect(try chain.block(at: 2) == b2)
        #expect { try Chain(store: store, genesis: genesis(try SecretKey())) } throws: {
            ($0 as? LedgerError)?.code == .invalidField
        }
        // A store of ledger format 1 (0.6.0 and earlier wrote no format key) is refused with the reason, untouched.
        var downgrade = WriteBatch()
        downgrade.delete([0x86])
        try store.write(downgrade, sync: true)
        #expect { try Chain(store: store, genesis: genesis(organization)) } throws: {
            ($0 as? LedgerError)?.message.contains("ledger format 1") == true
        }
        #expect(try store.get([0x86]) == nil)
        // A genesis naming other ABE global parameters than this release implements is refused.
        var otherABE = ABEGlobalParameters.standard
        otherABE.gidDomain = "SOMEONE-ELSES-GID_"
        let foreign = LedgerGenesis(chainID: "twinledger-abe", organizations: [Organization(name: "HOSP_A", key: organization.publicKey)],
                                    parameters: LedgerParameters(abe: otherABE))
        let fresh = MemoryStore()
        #expect { try Chain(store: fresh, genesis: foreign) } throws: {
            ($0 as? LedgerError)?.message.contains("ABE global parameters") == true
        }
        // So is a store of format 2 (0.7.0), whose authority records hold opaque per-attribute keys.
        var format2 = WriteBatch()
        format2.put([0x86], Canonical.encode(UInt64(2)))
        try store.write(format2, sync: true)
        #expect { try Chain(store: store, genesis: genesis(organization)) } throws: {
            ($0 as? LedgerError)?.message.contains("ledger format 2 (TwinLedger 0.7.0)") == true
        }
    }

    @Test("SIGKILL during block production: restart at the last whole block, consistent, and continue")
    func killDuringProduction() throws {
        let tool = try #require(binary(), "build the twinledger executable first (make test does)")
        let seed = testSeed()
        var rng = SeededRandom(seed: seed)
        let dir = try makeTemporaryDirectory("chaincrash")
        defer { removeTemporaryDirectory(dir) }
        let path = dir + "/db"
        var lastAcknowledged = 0
        for attempt in 0..<3 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: tool)
            process.arguments = ["debug", "chain-writer", "--path", path, "--seed", "7"]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let target = lastAcknowledged + Int.random(in: 3...15, using: &rng)
            var buffer = Data()
            while lastAcknowledged < target {
                let chunk = pipe.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                let lines = String(decoding: buffer, as: UTF8.self).split(separator: "\n")
                if let last = lines.last(where: { $0.hasPrefix("committed ") }),
                   let height = Int(last.split(separator: " ")[1]) {
                    lastAcknowledged = height
                }
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal, "attempt \(attempt)")

            // Reopen as the writer would and check the chain is whole up to its head.
            let store = try LevelDBStore(path: path)
            let organization = try SecretKey(bytes: Hashing.sha3(Array("chain-writer 7 organization".utf8)).bytes)
            let chain = try Chain(store: store, genesis: LedgerGenesis(
                chainID: "twinledger-crash-test", organizations: [Organization(name: "HOSP_A", key: organization.publicKey)]))
            #expect(Int(chain.head.height) >= lastAcknowledged, "seed \(seed): acknowledged block lost")
            #expect(try StateTree.root(store) == chain.head.stateRoot, "seed \(seed): state root differs from head")
            var previous = Hash32.zero
            for height in 1...max(chain.head.height, 1) {
                let block = try #require(try chain.block(at: height), "seed \(seed): block \(height) missing")
                #expect(block.header.previousBlock == previous)
                previous = block.header.hash
                for tx in block.transactions { #expect(try chain.location(of: Hashing.sha3(tx)) != nil) }
            }
            #expect(previous == chain.head.blockHash)
            #expect(try chain.block(at: chain.head.height + 1) == nil)
            lastAcknowledged = Int(chain.head.height)
            store.close()
        }
        // A clean run continues the same chain.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = ["debug", "chain-writer", "--path", path, "--seed", "7", "--blocks", "2"]
        process.standardOutput = Pipe()
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let store = try LevelDBStore(path: path)
        defer { store.close() }
        let head = try Canonical.decode(Chain.ChainHead.self, from: try #require(try store.get([0x80])))
        #expect(Int(head.height) == lastAcknowledged + 2)
    }

    @Test("debug ledger-loop (the cluster benchmark's floor) commits every grant it times, all accepted, one durable block each batch")
    func ledgerLoop() throws {
        let tool = try #require(binary(), "build the twinledger executable first (make test does)")
        let dir = try makeTemporaryDirectory("ledger-loop")
        defer { removeTemporaryDirectory(dir) }
        let path = dir + "/db"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = ["debug", "ledger-loop", "--path", path, "--transactions", "300", "--patients", "10", "--block-size", "100", "--keep"]
        // Output to a file, not a pipe: a chain writer spawned meanwhile by a parallel test could hold a pipe open.
        _ = FileManager.default.createFile(atPath: dir + "/out", contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: dir + "/out")
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let text = try String(contentsOfFile: dir + "/out", encoding: .utf8)
        #expect(text.hasPrefix("transactions 300 seconds "), "\(text)")
        let store = try LevelDBStore(path: path)
        defer { store.close() }
        let head = try Canonical.decode(Chain.ChainHead.self, from: try #require(try store.get([0x80])))
        #expect(head.height == 4)  // the enrollments, then three blocks of 100 grants
        for height in UInt64(2)...4 {
            var reader = try CanonicalReader(try #require(try store.get([0x83] + withUnsafeBytes(of: height.bigEndian) { Array($0) })))
            let outcomes = try reader.readList(of: TransactionOutcome.self, limit: 1_000)
            #expect(outcomes.count == 100 && outcomes.allSatisfy(\.accepted), "height \(height)")
        }
    }
}
