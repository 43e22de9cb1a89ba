// The Tendermint instance against the branches of Algorithm 1 (TENDERMINT.md line numbers):
// StartRound as proposer and not (L11-L21); L22 with valid, invalid, locked-elsewhere and locked-same values; L28 with
// the lock at or above the valid round; L34 and L47 fire once; L36 locks and precommits in prevote, only updates the
// valid value in precommit; L44; L49 in an earlier round, not without validity; L55 round skip; the three timeouts
// and stale ones; message refusals that change nothing; equivocation becomes evidence; future heights are buffered;
// an equivocating proposer's second proposal still decides when the precommits are for it.
import Consensus
import Encoding
import TestSupport
import Testing
import TwinCrypto

struct TestValue: ConsensusValue {
    let text: String
    var id: Hash32 { Hashing.sha3(Array(text.utf8)) }
}

typealias Instance = Tendermint<TestValue>

/// Four validators of power 1 (n = 4, f = 1) and an instance run by one of them.
struct Harness {
    let chainID = "consensus-test"
    let keys: [SecretKey]
    let validators: ValidatorSet
    var node: Instance
    /// The clock every fed event carries.
    var now: UInt64 = 1_000

    /// `meIndex` picks this node among the validators in key id order.
    init(meIndex: Int = 0, height: UInt64 = 1, powers: [UInt64] = [1, 1, 1, 1]) throws {
        var rng = SeededRandom(seed: 0xC0FFEE)
        var keys: [SecretKey] = []
        while keys.count < powers.count {
            if let key = try? SecretKey(bytes: rng.bytes(32)) { keys.append(key) }
        }
        let set = try ValidatorSet(zip(keys, powers).map { Validator(key: $0.publicKey, power: $1) })
        // Order keys as the set orders validators.
        self.keys = set.validators.map { v in keys.first { $0.publicKey == v.key }! }
        validators = set
        var config = ConsensusConfig(chainID: chainID)
        config.roundsAheadMax = 16
        node = Instance(config: config, me: set.validators[meIndex].id, height: height, validators: set, nowMillis: 1_000)
    }

    func id(_ index: Int) -> Hash32 { validators.validators[index].id }

    /// The index of the proposer of `round` at the node's height.
    func proposer(_ round: Int) -> Int {
        let p = validators.proposer(height: node.height, round: round)
        return validators.validators.firstIndex(of: p)!
    }

    func vote(_ from: Int, _ type: VoteType, round: Int, _ value: TestValue?, height: UInt64? = nil) throws -> Instance.Event {
        let vote = Vote(chainID: chainID, height: height ?? node.height, round: round, type: type, block: value?.id, validator: id(from))
        return .vote(try SignedVote(signing: vote, with: keys[from]))
    }

    func proposal(_ value: TestValue, round: Int, validRound: Int = -1, from: Int? = nil) throws -> Instance.Event {
        let proposer = from ?? proposer(round)
        let proposal = Proposal(chainID: chainID, height: node.height, round: round, block: value.id, validRound: validRound, proposer: id(proposer))
        return .proposal(try SignedProposal(signing: proposal, value: value, with: keys[proposer]))
    }

    /// Feeds events; returns all directives. Like a node's shell, it signs this node's own votes and feeds them
    /// back (proposals are left to the test).
    @discardableResult
    mutating func feed(_ events: Instance.Event...) throws -> [Instance.Directive] {
        var out: [Instance.Directive] = []
        var queue = events
        while !queue.isEmpty {
            let directives = try node.on(queue.removeFirst(), at: now)
            out += directives
            for case .vote(let vote) in directives { queue.append(.vote(try SignedVote(signing: vote, with: myKey))) }
        }
        return out
    }

    /// Moves the clock to `time` and tells the node (due timeouts fire).
    @discardableResult
    mutating func advance(to time: UInt64) throws -> [Instance.Directive] {
        now = time
        return try feed(.tick)
    }

    /// Starts the node, feeding back its own votes.
    @discardableResult
    mutating func start() throws -> [Instance.Directive] {
        let out = node.start(at: now)
        for case .vote(let vote) in out { try feed(.vote(try SignedVote(signing: vote, with: myKey))) }
        return out
    }

    var myIndex: Int { validators.validators.firstIndex { $0.id == node.me }! }
    var myKey: SecretKey { keys[myIndex] }

    /// A node index that does not propose `round` (and is not `except`).
    func nonProposer(_ round: Int, except: Int = -1) -> Int {
        (0..<4).first { $0 != proposer(round) && $0 != except }!
    }
}

func votes(_ out: [Instance.Directive]) -> [Vote] {
    out.compactMap { if case .vote(let v) = $0 { v } else { nil } }
}

func timeouts(_ out: [Instance.Directive]) -> [Timeout] {
    out.compactMap { if case .scheduleTimeout(let t, _) = $0 { t } else { nil } }
}

/// A harness whose node proposes none of rounds 0, 1 and 2 at height 1 (it proposes round 3).
func follower() throws -> Harness {
    let probe = try Harness()
    return try Harness(meIndex: probe.proposer(3))
}

@Suite("Tendermint instance")
struct TendermintTests {
    let v = TestValue(text: "block A")
    let w = TestValue(text: "block B")

    @Test("L11-L21: the proposer asks for a value and proposes it with valid round -1; others schedule timeoutPropose")
    func startRound() throws {
        let probe = try Harness()
        var proposer = try Harness(meIndex: probe.proposer(0))
        #expect(proposer.node.start(at: 1_000) == [.getValue(height: 1, round: 0)])
        let out = try proposer.feed(.value(height: 1, round: 0, v))
        guard case .propose(let p, let value)? = out.first else { Issue.record("no proposal: \(out)"); return }
        #expect(p.validRound == -1 && p.block == v.id && value == v && p.round == 0)
        // A second value for the same round is not proposed again (one proposal per round).
        #expect(try proposer.feed(.value(height: 1, round: 0, w)).isEmpty)

        var other = try follower()
        let start = other.node.start(at: 1_000)
        #expect(start == [.scheduleTimeout(Timeout(kind: .propose, height: 1, round: 0), atMillis: 1_000 + 3_000)])
        #expect(other.node.step == .propose)
    }

    @Test("L22-L27: prevote the proposal if valid and not locked elsewhere, else nil")
    func prevoteOnProposal() throws {
        for (valid, expected) in [(true, v.id), (false, nil)] as [(Bool, Hash32?)] {
            var h = try follower()
            try h.start()
            let out = try h.feed(h.proposal(v, round: 0))
            #expect(out == [.validate(v)], "validation is asked for first")
            let after = try h.feed(.validated(block: v.id, valid: valid))
            #expect(votes(after).map(\.block) == [expected] && votes(after).first?.type == .prevote)
            #expect(h.node.step == .prevote)
        }
    }

    /// A follower locked on `value` in round 0 (proposal, 2f+1 prevotes, so it precommitted), now in round 1.
    func lockedFollower(on value: TestValue) throws -> Harness {
        var h = try follower()
        try h.start()
        try h.feed(h.proposal(value, round: 0), .validated(block: value.id, valid: true))
        let others = (0..<4).filter { h.id($0) != h.node.me }
        for i in others.prefix(2) { try h.feed(h.vote(i, .prevote, round: 0, value)) }
        #expect(h.node.lockedRound == 0 && h.node.lockedValue == value && h.node.step == .precommit)
        // Round 0 ends without a decision: 2f+1 precommits for nil, then the precommit timeout.
        for i in others { try h.feed(h.vote(i, .precommit, round: 0, nil)) }
        try h.advance(to: 1_000_000)
        #expect(h.node.round == 1 && h.node.step == .propose && h.node.lockedValue == value)
        return h
    }

    @Test("L22-L26: a locked node prevotes nil for another value and the locked value itself")
    func lockedPrevote() throws {
        var h = try lockedFollower(on: v)
        guard h.proposer(1) != h.validators.validators.firstIndex(where: { $0.id == h.node.me }) else { return }
        try h.feed(h.proposal(w, round: 1))
        let out = try h.feed(.validated(block: w.id, valid: true))
        #expect(votes(out).map(\.block) == [nil], "locked on A, a new B proposal gets nil")

        var same = try lockedFollower(on: v)
        let outSame = try same.feed(same.proposal(v, round: 1))
        #expect(votes(outSame).map(\.block) == [v.id], "the locked value itself gets a prevote (already valid)")
    }

    @Test("L28-L33: a proposal with valid round vr and 2f+1 prevotes at vr: prevote if lockedRound <= vr, else nil")
    func prevoteOnValidRound() throws {
        for valid in [true, false] {
            // Locked on A at round 0; in round 1 the others prevote B; round 2's proposer re-proposes B with vr = 1.
            var h = try lockedFollower(on: v)
            let others = (0..<4).filter { h.id($0) != h.node.me }
            for i in others { try h.feed(h.vote(i, .prevote, round: 1, w)) }
            try h.feed(h.vote(others[0], .precommit, round: 2, nil), h.vote(others[1], .precommit, round: 2, nil))
            #expect(h.node.round == 2 && h.node.step == .propose)
            try h.feed(h.proposal(w, round: 2, validRound: 1))
            let out = try h.feed(.validated(block: w.id, valid: valid))
            // lockedRound 0 <= vr 1: the lock on A does not stop a prevote for B (L29); an invalid B gets nil (L32).
            #expect(votes(out).first.map { $0.type == .prevote && $0.block == (valid ? w.id : nil) } == true)
            #expect(h.node.step == .prevote)
        }
        // Without 2f+1 prevotes at vr the rule waits.
        var waiting = try lockedFollower(on: v)
        let others = (0..<4).filter { waiting.id($0) != waiting.node.me }
        try waiting.feed(waiting.vote(others[0], .precommit, round: 2, nil), waiting.vote(others[1], .precommit, round: 2, nil))
        try waiting.feed(waiting.proposal(w, round: 2, validRound: 1), .validated(block: w.id, valid: true))
        #expect(waiting.node.step == .propose)
    }

    @Test("L34 and L47 schedule their timeouts once per round; L44 precommits nil on 2f+1 nil prevotes")
    func anyQuorums() throws {
        var h = try follower()
        try h.start()
        try h.advance(to: 5_000)  // timeoutPropose: prevote nil (L57)
        #expect(h.node.step == .prevote)
        let others = (0..<4).filter { h.id($0) != h.node.me }
        var out = try h.feed(h.vote(others[0], .prevote, round: 0, v))
        #expect(timeouts(out).isEmpty, "two prevotes are not 2f+1 of 4")
        out = try h.feed(h.vote(others[1], .prevote, round: 0, nil))
        #expect(timeouts(out) == [Timeout(kind: .prevote, height: 1, round: 0)], "L34 on 2f+1 prevotes of any kind")
        #expect(h.node.step == .prevote, "two nil prevotes are not 2f+1")
        out = try h.feed(h.vote(others[2], .prevote, round: 0, nil))
        #expect(votes(out).map(\.block) == [nil] && votes(out).first?.type == .precommit, "L44: 3 nil prevotes")
        #expect(timeouts(out).isEmpty, "L34 does not fire twice")
        var precommitTimeouts: [Timeout] = []
        for i in others { precommitTimeouts += timeouts(try h.feed(h.vote(i, .precommit, round: 0, i == others[0] ? v : nil))) }
        #expect(precommitTimeouts == [Timeout(kind: .precommit, height: 1, round: 0)], "L47 once")
    }

    @Test("L36-L43: 2f+1 prevotes for a valid proposal lock and precommit in prevote; in precommit only set the valid value")
    func lockAndValid() throws {
        var h = try follower()
        try h.start()
        try h.feed(h.proposal(v, round: 0), .validated(block: v.id, valid: true))
        let others = (0..<4).filter { h.id($0) != h.node.me }
        let out = try h.feed(h.vote(others[0], .prevote, round: 0, v), h.vote(others[1], .prevote, round: 0, v))
        #expect(votes(out).map(\.block) == [v.id] && votes(out).first?.type == .precommit)
        #expect(h.node.lockedValue == v && h.node.lockedRound == 0 && h.node.validValue == v && h.node.validRound == 0)

        // Already in precommit (precommitted nil after the prevote timeout): no vote, no lock, but the valid value.
        var late = try follower()
        try late.start()
        try late.advance(to: 5_000)  // timeoutPropose: prevote nil (L57)
        let lateOthers = (0..<4).filter { late.id($0) != late.node.me }
        let l34 = try late.feed(late.vote(lateOthers[0], .prevote, round: 0, v), late.vote(lateOthers[1], .prevote, round: 0, v))
        #expect(timeouts(l34).map(\.kind) == [.prevote])
        try late.advance(to: 10_000)  // timeoutPrevote: precommit nil (L61)
        #expect(late.node.step == .precommit)
        let outLate = try late.feed(
            late.vote(lateOthers[2], .prevote, round: 0, v), late.proposal(v, round: 0), .validated(block: v.id, valid: true)
        )
        #expect(votes(outLate).isEmpty, "no second precommit")
        #expect(late.node.lockedRound == -1 && late.node.lockedValue == nil)
        #expect(late.node.validRound == 0 && late.node.validValue == v)
    }

    @Test("L49-L54: a proposal of an earlier round with 2f+1 precommits decides, with a certificate that verifies")
    func decideEarlierRound() throws {
        var h = try follower()
        try h.start()
        let others = (0..<4).filter { h.id($0) != h.node.me }
        // Move to round 2 by f+1 messages (L55), then receive round 0's proposal and precommits.
        try h.feed(h.vote(others[0], .prevote, round: 2, nil), h.vote(others[1], .prevote, round: 2, nil))
        #expect(h.node.round == 2)
        try h.feed(h.proposal(v, round: 0))
        var out: [Instance.Directive] = []
        for i in others { out += try h.feed(h.vote(i, .precommit, round: 0, v)) }
        #expect(!out.contains { if case .decide = $0 { true } else { false } }, "not before valid(v) is known")
        out = try h.feed(.validated(block: v.id, valid: true))
        guard case .decide(let height, let value, let certificate)? = out.last else { Issue.record("no decision: \(out)"); return }
        #expect(height == 1 && value == v && certificate.round == 0 && certificate.signatures.count == 3)
        try certificate.verify(chainID: h.chainID, validators: h.validators)
        #expect(h.node.step == .decided)
        #expect(try h.feed(h.vote(others[2], .prevote, round: 2, v)).isEmpty, "nothing fires after the decision")

        // An invalid value is never decided.
        var bad = try follower()
        try bad.start()
        try bad.feed(bad.proposal(v, round: 0))
        for i in (0..<4).filter({ bad.id($0) != bad.node.me }) { try bad.feed(bad.vote(i, .precommit, round: 0, v)) }
        _ = try bad.feed(.validated(block: v.id, valid: false))
        #expect(bad.node.step != .decided)
    }

    @Test("L49 with an equivocating proposer: the proposal the precommits are for decides, even if it came second")
    func equivocatingProposer() throws {
        var h = try follower()
        try h.start()
        try h.feed(h.proposal(w, round: 0), .validated(block: w.id, valid: true))
        try h.feed(h.proposal(v, round: 0), .validated(block: v.id, valid: true))
        #expect(h.node.proposals(round: 0).map(\.value) == [w, v])
        var out: [Instance.Directive] = []
        for i in (0..<4).filter({ h.id($0) != h.node.me }) { out += try h.feed(h.vote(i, .precommit, round: 0, v)) }
        guard case .decide(_, let value, let certificate)? = out.last else { Issue.record("no decision: \(out)"); return }
        #expect(value == v && certificate.block == v.id)
    }

    @Test("L55: f+1 messages from a higher round start it; f messages do not")
    func roundSkip() throws {
        var h = try follower()
        try h.start()
        let others = (0..<4).filter { h.id($0) != h.node.me }
        try h.feed(h.vote(others[0], .precommit, round: 5, nil))
        #expect(h.node.round == 0, "one of four is not more than a third")
        try h.feed(h.vote(others[0], .prevote, round: 5, nil))
        #expect(h.node.round == 0, "the same validator twice is still one")
        try h.feed(h.vote(others[1], .prevote, round: 5, nil))
        #expect(h.node.round == 5 && h.node.step == .propose)
    }

    @Test("L57-L66: timeouts fire at their time, only for the current height, round and step")
    func timeoutRules() throws {
        var h = try follower()
        try h.start()
        #expect(try h.advance(to: 3_999).isEmpty, "not due yet")
        var out = try h.advance(to: 4_000)
        #expect(votes(out).map(\.block) == [nil] && votes(out).first?.type == .prevote)  // L57-L60
        let me = h.validators.validators.firstIndex { $0.id == h.node.me }!
        let others = (0..<4).filter { $0 != me }
        try h.feed(h.vote(me, .prevote, round: 0, nil), h.vote(others[0], .prevote, round: 0, v), h.vote(others[1], .prevote, round: 0, w))
        out = try h.advance(to: 4_000 + 1_000)
        #expect(votes(out).map(\.block) == [nil] && votes(out).first?.type == .precommit)  // L61-L64
        for i in [me, others[0], others[1]] { try h.feed(h.vote(i, .precommit, round: 0, nil)) }
        out = try h.advance(to: 6_000)
        #expect(h.node.round == 1 && h.node.step == .propose)  // L65-L66
        // Round 1's timeouts are longer: base + delta.
        let next = out.compactMap { if case .scheduleTimeout(let t, let at) = $0, t.round == 1 { at } else { nil } }
        #expect(next == [6_000 + 3_500] || h.proposer(1) == me)
    }

    @Test("timeouts grow per round and stop at the maximum, without overflow")
    func timeoutGrowth() {
        let schedule = TimeoutSchedule(base: 1_000, delta: 500, max: 60_000)
        #expect(schedule.duration(round: 0) == 1_000 && schedule.duration(round: 4) == 3_000)
        #expect(schedule.duration(round: 118) == 60_000 && schedule.duration(round: 1_000_000) == 60_000)
        #expect(TimeoutSchedule(base: .max - 1, delta: .max, max: 7).duration(round: Int.max) == 7)
    }

    @Test("refused messages throw their code and change nothing; equivocation is evidence")
    func refusals() throws {
        var h = try follower()
        try h.start()
        let others = (0..<4).filter { h.id($0) != h.node.me }
        let stranger = try SecretKey()
        func code(_ event: Instance.Event) -> ConsensusError.Code? {
            do { _ = try h.node.on(event, at: h.now) } catch { return error.code }
            return nil
        }
        var wrongChain = Vote(chainID: "other", height: 1, round: 0, type: .prevote, block: v.id, validator: h.id(others[0]))
        #expect(code(.vote(try SignedVote(signing: wrongChain, with: h.keys[others[0]]))) == .wrongChain)
        wrongChain.chainID = h.chainID
        wrongChain.validator = stranger.publicKey.keyID
        #expect(code(.vote(try SignedVote(signing: wrongChain, with: stranger))) == .unknownValidator)
        let forged = Vote(chainID: h.chainID, height: 1, round: 0, type: .prevote, block: v.id, validator: h.id(others[0]))
        #expect(code(.vote(try SignedVote(signing: forged, with: h.keys[others[1]]))) == .badSignature)
        #expect(code(try h.proposal(v, round: 0, from: h.nonProposer(0))) == .wrongProposer)
        #expect(code(try h.vote(others[0], .prevote, round: 17, v)) == .tooFarAhead)
        #expect(code(try h.vote(others[0], .prevote, round: 0, v, height: 9)) == .tooFarAhead)
        // A proposal whose value is not the one it names.
        let p = Proposal(chainID: h.chainID, height: 1, round: 0, block: w.id, validRound: -1, proposer: h.id(h.proposer(0)))
        #expect(code(.proposal(try SignedProposal(signing: p, value: v, with: h.keys[h.proposer(0)]))) == .badSignature)
        #expect(h.node.votes(.prevote, round: 0).isEmpty && h.node.proposals(round: 0).isEmpty && h.node.round == 0)

        let first = try h.vote(others[0], .prevote, round: 0, v)
        try h.feed(first)
        #expect(try h.feed(first).isEmpty, "a repeat is ignored")
        let out = try h.feed(h.vote(others[0], .prevote, round: 0, w))
        #expect(out.contains { if case .evidence(let a, let b) = $0 { a.vote.block == v.id && b.vote.block == w.id } else { false } })
        // Both count, as the paper counts messages: toward v and toward w, once each (the validator once for "any").
        #expect(h.node.votes(.prevote, round: 0).count == 2)

        // Old heights are refused once the instance moved on.
        var later = try Harness(meIndex: h.nonProposer(0), height: 5)
        try later.start()
        #expect(throws: ConsensusError.self) { try later.node.on(try later.vote(0, .prevote, round: 0, v, height: 4), at: later.now) }
    }

    @Test("messages for the next height wait for it, and count once it starts")
    func futureHeights() throws {
        var h = try follower()
        try h.start()
        let others = (0..<4).filter { h.id($0) != h.node.me }
        for i in others.prefix(2) { try h.feed(h.vote(i, .prevote, round: 3, nil, height: 2)) }
        #expect(h.node.round == 0 && h.node.height == 1)
        _ = h.node.startHeight(2, validators: h.validators, at: h.now)
        #expect(h.node.height == 2 && h.node.round == 3, "buffered f+1 round-3 votes skip the new height to round 3 (L55)")
    }

    @Test("the proposer schedule gives each validator its power's share of every cycle, spread out")
    func proposerWeights() throws {
        let h = try Harness(powers: [1, 2, 3, 4])
        var counts: [Hash32: Int] = [:]
        var longestRun = 0, run = 0
        var last: Hash32?
        for slot in 0..<10 {
            let p = h.validators.proposer(height: UInt64(slot), round: 0).id
            counts[p, default: 0] += 1
            run = p == last ? run + 1 : 1
            longestRun = max(longestRun, run)
            last = p
        }
        #expect(h.validators.validators.allSatisfy { counts[$0.id] == Int($0.power) })
        #expect(longestRun <= 2, "the heaviest validator (4 of 10) never proposes three slots in a row")
        // Rounds advance the schedule too: round r at height h is slot h + r.
        #expect(h.validators.proposer(height: 3, round: 2) == h.validators.proposer(height: 5, round: 0))
        #expect(throws: ValidatorSetError.self) { try ValidatorSet([]) }
        #expect(throws: ValidatorSetError.self) { try ValidatorSet([h.validators.validators[0], h.validators.validators[0]]) }
    }
}
