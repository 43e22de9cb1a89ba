// The safety rules (double-sign guard) and the atomic file they persist to.
//
// Covers: positions only go up; a conflicting message at the last position and anything lower are refused; the very
// same message is re-signed with the same signature; all of it across a restart from the file; an unreadable record
// stops the rules from starting; a failing store signs nothing and does not advance; messages of another validator
// are refused; the atomic file round-trips, reports a missing file as nil and leaves no temporary behind.
import Consensus
import Encoding
import Foundation
import KeyValue
import Storage
import TestSupport
import Testing
import TwinCrypto

extension AtomicFile: SignedPositionStore {}

/// A store that fails when told to, to check that nothing is signed without a durable record.
final class FlakyStore: SignedPositionStore, @unchecked Sendable {
    var bytes: [UInt8]?
    var failing = false
    struct Failure: Error {}
    func load() throws -> [UInt8]? { bytes }
    func save(_ bytes: [UInt8]) throws {
        if failing { throw Failure() }
        self.bytes = bytes
    }
}

@Suite("Safety rules")
struct SafetyRulesTests {
    let chainID = "consensus-test"

    func vote(_ key: SecretKey, _ height: UInt64, _ round: Int, _ type: VoteType, _ block: String?) -> Vote {
        Vote(chainID: chainID, height: height, round: round, type: type,
             block: block.map { Hashing.sha3(Array($0.utf8)) }, validator: key.publicKey.keyID)
    }

    func isConflict(_ error: any Error) -> Bool { (error as? SafetyError)?.kind == .conflict }

    @Test("positions only go up; a conflict or a lower position is refused, the same message re-signed identically, across restarts")
    func noDoubleSign() throws {
        let dir = try makeTemporaryDirectory("safety")
        defer { removeTemporaryDirectory(dir) }
        let key = try SecretKey()
        let file = AtomicFile(path: dir + "/signed.bin")
        var rules = try SafetyRules(key: key, store: file)
        #expect(rules.lastSigned == nil)
        let proposal = Proposal(chainID: chainID, height: 5, round: 0, block: Hashing.sha3([1]), validRound: -1, proposer: key.publicKey.keyID)
        let signedProposal = try rules.sign(proposal, value: TestValue(text: "x"))
        #expect(signedProposal.proposal == proposal && key.publicKey.verify(signedProposal.signature, for: proposal.signingBytes))
        let prevote = try rules.sign(vote(key, 5, 0, .prevote, "A"))
        #expect(prevote.verify(key.publicKey))
        #expect(rules.lastSigned == SignedPosition(height: 5, round: 0, step: .prevote))

        for restart in [false, true] {
            if restart { rules = try SafetyRules(key: key, store: file) }
            #expect(rules.lastSigned == SignedPosition(height: 5, round: 0, step: .prevote), "restart \(restart)")
            #expect(performing: { try rules.sign(vote(key, 5, 0, .prevote, "B")) }, throws: isConflict)
            #expect(performing: { try rules.sign(vote(key, 5, 0, .prevote, nil)) }, throws: isConflict)
            #expect(performing: { try rules.sign(proposal, value: TestValue(text: "x")) }, throws: isConflict)
            #expect(performing: { try rules.sign(vote(key, 4, 9, .precommit, "A")) }, throws: isConflict)
            #expect(try rules.sign(vote(key, 5, 0, .prevote, "A")) == prevote, "the same vote gets the same signature")
        }
        // Higher positions are signed: the next step, round and height.
        _ = try rules.sign(vote(key, 5, 0, .precommit, "A"))
        _ = try rules.sign(vote(key, 5, 1, .prevote, nil))
        _ = try rules.sign(vote(key, 6, 0, .prevote, "C"))
        #expect(try SafetyRules(key: key, store: file).lastSigned == SignedPosition(height: 6, round: 0, step: .prevote))
        #expect(!FileManager.default.fileExists(atPath: file.path + ".tmp"))
    }

    @Test("an unreadable record stops the rules from starting; a failing store signs nothing and does not advance")
    func storageFailures() throws {
        let key = try SecretKey()
        let store = FlakyStore()
        store.bytes = [0xFF, 0x00, 0x13]
        #expect(performing: { try SafetyRules(key: key, store: store) }, throws: { ($0 as? SafetyError)?.kind == .storage })

        store.bytes = nil
        let rules = try SafetyRules(key: key, store: store)
        store.failing = true
        #expect(performing: { try rules.sign(vote(key, 1, 0, .prevote, "A")) }, throws: { ($0 as? SafetyError)?.kind == .storage })
        #expect(rules.lastSigned == nil && store.bytes == nil)
        store.failing = false
        // Not advanced: a different vote at the same position may still be signed (the failed one never left).
        _ = try rules.sign(vote(key, 1, 0, .prevote, "B"))
        let other = try SecretKey()
        #expect(performing: { try rules.sign(vote(other, 2, 0, .prevote, "A")) }, throws: { ($0 as? SafetyError)?.kind == .notMine })
    }

    @Test("the atomic file round-trips, a missing file loads as nil, an oversized one is refused")
    func atomicFile() throws {
        let dir = try makeTemporaryDirectory("atomic")
        defer { removeTemporaryDirectory(dir) }
        let file = AtomicFile(path: dir + "/f")
        #expect(try file.load() == nil)
        try file.save([1, 2, 3])
        try file.save(Array(repeating: 7, count: 10_000))
        #expect(try file.load() == Array(repeating: 7, count: 10_000))
        try file.save([])
        #expect(try file.load() == [])
        FileManager.default.createFile(atPath: dir + "/big", contents: Data(count: AtomicFile.sizeMax + 1))
        #expect(throws: StorageError.self) { try AtomicFile(path: dir + "/big").load() }
    }
}
