// Restart from disk: a validator's inputs go to a real WAL file (Storage.WriteAheadLog) and its signatures through
// the safety rules on an AtomicFile; after a "crash" with a torn record at the WAL's end, a new instance replays the
// file and arrives at the same round, step and lock. Replay asks for the votes again: the last one signed gets the
// very same signature (it may not have reached the WAL before the crash), earlier ones are refused as below the last
// signed position (they are in the WAL already, which is how the instance learns them), and a conflicting vote is
// refused.
import Consensus
import Encoding
import Foundation
import Storage
import TestSupport
import Testing
import TwinCrypto

extension TestValue: CanonicalCodable {
    public func encode(to writer: inout CanonicalWriter) { writer.write(string: text) }
    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        self.init(text: try reader.readString(limit: 64))
    }
}

/// A validator's shell over files: WAL first, then the instance, own votes signed by the safety rules and fed back.
struct FileShell {
    var node: Instance
    let wal: WriteAheadLog
    let safety: SafetyRules
    var signed: [SignedVote] = []
    /// While replaying, a refusal means "already signed and in the WAL"; otherwise it is an error.
    var replaying = false
    var refusedInReplay: [Vote] = []

    mutating func feed(_ event: Instance.Event, at time: UInt64) throws {
        try wal.append(Canonical.encode(WALEntry<TestValue>(timeMillis: time, event: event)))
        try act(try node.on(event, at: time), at: time)
    }

    mutating func act(_ directives: [Instance.Directive], at time: UInt64) throws {
        for case .vote(let vote) in directives {
            let signature: SignedVote
            do {
                signature = try safety.sign(vote)
            } catch {
                guard replaying, error.kind == .conflict else { throw error }
                refusedInReplay.append(vote)
                continue
            }
            signed.append(signature)
            if !replaying { try feed(.vote(signature), at: time) }
        }
    }
}

@Suite("Restart from the WAL file")
struct WALRestartTests {
    @Test("replaying the WAL file rebuilds the round, step and lock, re-signs identically and refuses a conflict")
    func restart() throws {
        let dir = try makeTemporaryDirectory("wal-restart")
        defer { removeTemporaryDirectory(dir) }
        let h = try follower()
        let v = TestValue(text: "block A")
        let others = (0..<4).filter { h.id($0) != h.node.me }

        var shell = FileShell(
            node: h.node, wal: try WriteAheadLog(path: dir + "/wal"),
            safety: try SafetyRules(key: h.myKey, store: AtomicFile(path: dir + "/signed"))
        )
        try shell.wal.append(Canonical.encode(WALEntry<TestValue>(timeMillis: 1_000, event: .tick)))
        try shell.act(shell.node.start(at: 1_000), at: 1_000)
        try shell.feed(try h.proposal(v, round: 0), at: 1_200)
        try shell.feed(.validated(block: v.id, valid: true), at: 1_250)
        try shell.feed(try h.vote(others[0], .prevote, round: 0, v), at: 1_300)
        try shell.feed(try h.vote(others[1], .prevote, round: 0, v), at: 1_400)
        #expect(shell.node.step == .precommit && shell.node.lockedRound == 0)
        #expect(shell.signed.map(\.vote.type) == [.prevote, .precommit])
        let before = (shell.node.round, shell.node.step, shell.node.lockedValue, shell.node.validRound, shell.node.nextDeadline)
        let signedBefore = shell.signed

        // Crash in the middle of a write: a torn record at the end of the file.
        let handle = try #require(FileHandle(forWritingAtPath: dir + "/wal"))
        handle.seekToEndOfFile()
        handle.write(Data([0x40, 0, 0, 0, 0xAA, 0xBB]))
        handle.closeFile()

        let wal = try WriteAheadLog(path: dir + "/wal")
        #expect(wal.truncatedTail == 6)
        let entries = try wal.records.map { try Canonical.decode(WALEntry<TestValue>.self, from: $0) }
        var restarted = FileShell(
            node: Instance(config: h.node.config, me: h.node.me, height: 1, validators: h.validators, nowMillis: entries[0].timeMillis),
            wal: try WriteAheadLog(path: dir + "/replayed"),
            safety: try SafetyRules(key: h.myKey, store: AtomicFile(path: dir + "/signed"))
        )
        restarted.replaying = true
        try restarted.act(restarted.node.start(at: entries[0].timeMillis), at: entries[0].timeMillis)
        for entry in entries.dropFirst() {
            // Own votes come back from the WAL too; replay asks for them again before they arrive, so they repeat.
            try restarted.act(try restarted.node.on(entry.event, at: entry.timeMillis), at: entry.timeMillis)
        }
        let after = (restarted.node.round, restarted.node.step, restarted.node.lockedValue, restarted.node.validRound,
                     restarted.node.nextDeadline)
        #expect(before.0 == after.0 && before.1 == after.1 && before.2 == after.2 && before.3 == after.3 && before.4 == after.4)
        #expect(restarted.signed == [signedBefore[1]], "the last vote signed again, with the same signature")
        #expect(restarted.refusedInReplay == [signedBefore[0].vote], "the earlier one refused: it is in the WAL")
        let conflicting = Vote(chainID: h.chainID, height: 1, round: 0, type: .precommit, block: nil, validator: h.node.me!)
        #expect(throws: SafetyError.self) { try restarted.safety.sign(conflicting) }
    }
}
