import Encoding
import TwinCrypto

/// Timeouts per round: `base + round * delta` milliseconds, never above `max` (a round's wait must stay bounded; a
/// network that heals must not find validators asleep for hours).
public struct TimeoutSchedule: Sendable, Hashable {
    public var base: UInt64
    public var delta: UInt64
    public var max: UInt64

    public init(base: UInt64, delta: UInt64, max: UInt64) {
        (self.base, self.delta, self.max) = (base, delta, max)
    }

    public func duration(round: Int) -> UInt64 {
        let grown = delta.multipliedReportingOverflow(by: UInt64(round))
        guard !grown.overflow else { return max }
        let total = base.addingReportingOverflow(grown.partialValue)
        return total.overflow ? max : Swift.min(total.partialValue, max)
    }
}

/// What a consensus instance needs to know that is not state.
public struct ConsensusConfig: Sendable, Hashable {
    public var chainID: String
    public var propose = TimeoutSchedule(base: 3_000, delta: 500, max: 60_000)
    public var prevote = TimeoutSchedule(base: 1_000, delta: 500, max: 60_000)
    public var precommit = TimeoutSchedule(base: 1_000, delta: 500, max: 60_000)
    /// Messages for rounds more than this above the current one are refused (each validator can fill at most two
    /// votes and one proposal per round, so this bounds the messages kept per height).
    public var roundsAheadMax = 64
    /// Messages for the next heights kept until the instance gets there.
    public var futureMessagesMax = 4_096
    /// A deliberately broken rule, for the simulator's self-test only (it must find the safety violation this
    /// causes). Never set in a node: the node's configuration has no way to set it.
    public var mutation: Mutation?

    public enum Mutation: String, Sendable, Hashable, CaseIterable {
        /// Quorums of 2f (at least 2/3 of the power minus one validator's share) instead of 2f+1.
        case quorumOfTwoF
        /// L23 and L29 ignore the lock.
        case noLock
    }

    public init(chainID: String) { self.chainID = chainID }
}

/// The step of the current round; `decided` once L49 has fired for the height, until the next height starts.
public enum Step: Int, Sendable, Hashable, Comparable, CustomStringConvertible {
    case propose = 0
    case prevote = 1
    case precommit = 2
    case decided = 3

    public static func < (a: Step, b: Step) -> Bool { a.rawValue < b.rawValue }
    public var description: String { ["propose", "prevote", "precommit", "decided"][rawValue] }
}

/// A timeout of the paper (OnTimeoutPropose, OnTimeoutPrevote, OnTimeoutPrecommit) for one height and round.
public struct Timeout: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Int, Sendable, Hashable {
        case propose, prevote, precommit
    }

    public var kind: Kind
    public var height: UInt64
    public var round: Int

    public init(kind: Kind, height: UInt64, round: Int) {
        (self.kind, self.height, self.round) = (kind, height, round)
    }

    public var description: String { "timeout \(kind) h\(height) r\(round)" }
}

/// A Tendermint consensus instance: Algorithm 1 of Buchman, Kwon, Milosevic, "The latest gossip on BFT consensus"
/// (2018), as restated with its line numbers in TENDERMINT.md; each rule below cites its lines.
///
/// Pure: it is fed events (`on`) and returns directives for its shell to carry out. It holds no key, clock, socket
/// or disk: it asks the shell to sign and send its votes and proposals (through the safety rules), to validate
/// proposed values (valid(v): execute the block), to get a value to propose (getValue), and to wake it at a time;
/// time itself comes in as `tick` events. Messages are checked here (chain, height, round bounds, validator,
/// signature); a refused message throws `ConsensusError` and changes nothing.
///
/// After a decision (L49) the instance waits in step `decided` until the shell, having committed the block, calls
/// `startHeight` with the next height's validator set: the paper's h_p ← h_p + 1 and StartRound(0) (L54), split so
/// that the validator set can change with the committed state.
public struct Tendermint<Value: ConsensusValue>: Sendable {
    /// What the instance asks its shell to do, in order.
    public enum Directive: Sendable, Hashable {
        /// L18: get a new value to propose at (height, round), then feed it back with `.value`.
        case getValue(height: UInt64, round: Int)
        /// L19: sign (through the safety rules) and broadcast this proposal, and feed it back with `.proposal`.
        case propose(Proposal, Value)
        /// L24, L26, L30, L32, L40, L45, L58, L62: sign (through the safety rules) and broadcast this vote, and feed
        /// it back with `.vote`.
        case vote(Vote)
        /// Decide valid(v) (execute the block, check every header field) and answer with `.validated`.
        case validate(Value)
        /// Feed a `tick` at or after this time (Unix milliseconds, the shell's clock).
        case scheduleTimeout(Timeout, atMillis: UInt64)
        /// L49–L51: the value is decided at the height; commit it with its certificate, then call `startHeight`.
        case decide(height: UInt64, value: Value, certificate: CommitCertificate)
        /// One validator signed two different votes for one (height, round, type): evidence for the ledger.
        case evidence(SignedVote, SignedVote)
    }

    /// An input.
    public enum Event: Sendable, Hashable {
        /// Time passed (every event carries the time; this one carries nothing else): due timeouts fire.
        case tick
        case proposal(SignedProposal<Value>)
        case vote(SignedVote)
        /// The answer to `.validate`.
        case validated(block: Hash32, valid: Bool)
        /// The answer to `.getValue`.
        case value(height: UInt64, round: Int, Value)
    }

    public let config: ConsensusConfig
    /// This node's validator key id; nil for a node that follows without voting.
    public private(set) var me: Hash32?
    public private(set) var validators: ValidatorSet

    // The paper's state of process p.
    public private(set) var height: UInt64
    public private(set) var round = 0
    public private(set) var step = Step.propose
    public private(set) var lockedValue: Value?
    public private(set) var lockedRound = -1
    public private(set) var validValue: Value?
    public private(set) var validRound = -1

    /// The latest time seen.
    public private(set) var nowMillis: UInt64
    /// Timeouts waiting for their time, with their deadlines.
    var timeouts: [Timeout: UInt64] = [:]

    // The message log of the current height.
    /// The proposals of each round from that round's proposer, distinct values in arrival order. An honest proposer
    /// sends one; an equivocating one may send several, and the one the others decide may not be the first to arrive,
    /// so up to `proposalsPerRoundMax` are kept.
    var proposals: [Int: [SignedProposal<Value>]] = [:]
    var prevotes: [Int: RoundVotes] = [:]
    var precommits: [Int: RoundVotes] = [:]
    /// Validators heard from in each round (proposals and votes), with their total power: L55.
    var senders: [Int: (ids: Set<Hash32>, power: UInt64)] = [:]
    /// valid(v) by value id, once the shell has answered; ids asked about and not yet answered.
    var validity: [Hash32: Bool] = [:]
    var validating: Set<Hash32> = []
    /// "For the first time" rules already fired, by rule line and round (L34, L36, L47).
    var fired: Set<Fired> = []
    /// The round in which this node asked for a value or proposed (so it proposes once per round).
    var proposedRound = -1
    /// Messages for later heights, replayed by `startHeight`.
    var future: [Event] = []

    struct Fired: Hashable {
        let line: Int
        let round: Int
    }

    /// The votes of one type in one round. As in the paper, which counts messages, a validator that signed votes for
    /// two blocks counts toward each (it cannot make two blocks reach more than 2/3: two such sets share more than
    /// 1/3 of the power, so an honest validator would have voted twice); "any votes" counts each validator once.
    struct RoundVotes: Sendable {
        /// Each validator's distinct votes, first received first (more than one only from a Byzantine validator).
        var byValidator: [Hash32: [SignedVote]] = [:]
        var powerByBlock: [Hash32?: UInt64] = [:]
        var power: UInt64 = 0
    }

    /// An instance at `height` (not started: call `start`).
    public init(config: ConsensusConfig, me: Hash32?, height: UInt64, validators: ValidatorSet, nowMillis: UInt64) {
        self.config = config
        self.me = me
        self.height = height
        self.validators = validators
        self.nowMillis = nowMillis
    }

    // MARK: Inputs

    /// Starts the current height at `nowMillis`: StartRound(0) (the paper's "upon start").
    public mutating func start(at nowMillis: UInt64) -> [Directive] {
        self.nowMillis = max(self.nowMillis, nowMillis)
        var out: [Directive] = []
        startRound(0, &out)
        process(&out)
        return out
    }

    /// Moves to `height` (after the shell committed the decision of the previous one) with its validators, resets
    /// the round state and message log (L54), replays buffered messages for it, and starts round 0. A height not
    /// above the current one changes nothing (heights only increase).
    public mutating func startHeight(_ height: UInt64, validators: ValidatorSet, at nowMillis: UInt64) -> [Directive] {
        startHeight(height, validators: validators, me: me, at: nowMillis)
    }

    /// `startHeight`, voting from this height as `me` (a validator whose consensus key was rotated votes with its
    /// new key from the height the rotation takes effect).
    public mutating func startHeight(_ height: UInt64, validators: ValidatorSet, me: Hash32?, at nowMillis: UInt64) -> [Directive] {
        guard height > self.height else { return [] }
        self.me = me
        self.nowMillis = max(self.nowMillis, nowMillis)
        self.height = height
        self.validators = validators
        (lockedValue, lockedRound, validValue, validRound) = (nil, -1, nil, -1)
        (proposals, prevotes, precommits, senders) = ([:], [:], [:], [:])
        (validity, validating, fired, timeouts, proposedRound) = ([:], [], [], [:], -1)
        var out: [Directive] = []
        startRound(0, &out)
        let buffered = future
        future = []
        for event in buffered { _ = try? receive(event, &out) }
        process(&out)
        return out
    }

    /// Feeds one event that happened at `nowMillis` (the shell's clock, Unix milliseconds); returns what to do.
    /// A refused message throws and changes nothing.
    ///
    /// Every input carries its time so that replaying the WAL's (time, event) records rebuilds the same state,
    /// timeouts included.
    public mutating func on(_ event: Event, at nowMillis: UInt64) throws(ConsensusError) -> [Directive] {
        var out: [Directive] = []
        // The event is checked and recorded first (a refusal changes nothing, not even the time), then the timeouts
        // due by its time fire, then the upon-rules run: the rules see both, in the order they happened.
        try receive(event, &out)
        if nowMillis > self.nowMillis {
            self.nowMillis = nowMillis
            fireDueTimeouts(&out)
        }
        process(&out)
        return out
    }

    /// Records an event in the state (without running the upon-rules).
    mutating func receive(_ event: Event, _ out: inout [Directive]) throws(ConsensusError) {
        switch event {
        case .tick:
            break  // `on` fired what was due
        case .proposal(let signed):
            try receiveProposal(signed, &out)
        case .vote(let signed):
            try receiveVote(signed, &out)
        case .validated(let block, let valid):
            validating.remove(block)
            if validity[block] == nil { validity[block] = valid }
        case .value(let height, let round, let value):
            // L19: the proposer broadcasts its new value if it still is in the round it asked for it.
            guard height == self.height, round == self.round, step == .propose, proposedRound == round,
                validValue == nil, let me, validators.proposer(height: height, round: round).id == me
            else { return }
            proposedRound = -1  // one proposal per round
            out.append(.propose(
                Proposal(chainID: config.chainID, height: height, round: round, block: value.id, validRound: -1, proposer: me),
                value
            ))
        }
    }

    mutating func receiveProposal(_ signed: SignedProposal<Value>, _ out: inout [Directive]) throws(ConsensusError) {
        let proposal = signed.proposal
        guard proposal.chainID == config.chainID else { throw ConsensusError(.wrongChain, "proposal for \(proposal.chainID)") }
        if try buffer(.proposal(signed), height: proposal.height) { return }
        guard proposal.round <= round + config.roundsAheadMax else {
            throw ConsensusError(.tooFarAhead, "proposal for round \(proposal.round), now at \(round)")
        }
        let proposer = validators.proposer(height: height, round: proposal.round)
        guard proposal.proposer == proposer.id else {
            throw ConsensusError(.wrongProposer, "\(proposal.proposer.hex.prefix(16)) does not propose round \(proposal.round)")
        }
        guard signed.verify(proposer.key) else { throw ConsensusError(.badSignature, "proposal signature or value id") }
        var list = proposals[proposal.round] ?? []
        guard !list.contains(where: { $0.value.id == signed.value.id }) else { return }  // a repeat
        guard list.count < ConsensusLimits.proposalsPerRoundMax else { return }  // an equivocating proposer's excess
        list.append(signed)
        proposals[proposal.round] = list
        heard(from: proposer, round: proposal.round)
        let id = signed.value.id
        if validity[id] == nil, !validating.contains(id) {
            validating.insert(id)
            out.append(.validate(signed.value))
        }
    }

    mutating func receiveVote(_ signed: SignedVote, _ out: inout [Directive]) throws(ConsensusError) {
        let vote = signed.vote
        guard vote.chainID == config.chainID else { throw ConsensusError(.wrongChain, "vote for \(vote.chainID)") }
        if try buffer(.vote(signed), height: vote.height) { return }
        guard vote.round <= round + config.roundsAheadMax else {
            throw ConsensusError(.tooFarAhead, "vote for round \(vote.round), now at \(round)")
        }
        guard let validator = validators.validator(vote.validator) else {
            throw ConsensusError(.unknownValidator, "\(vote.validator.hex.prefix(16)) is not a validator at \(height)")
        }
        var votes = (vote.type == .prevote ? prevotes[vote.round] : precommits[vote.round]) ?? RoundVotes()
        let earlier = votes.byValidator[vote.validator] ?? []
        // A repeat (or the same vote signed again: BIP340 signatures are randomized) adds nothing.
        if earlier.contains(where: { $0.vote.block == vote.block }) { return }
        guard signed.verify(validator.key) else { throw ConsensusError(.badSignature, "vote signature") }
        if let first = earlier.first { out.append(.evidence(first, signed)) }
        // A Byzantine validator signing many blocks is kept to a few (bounded memory); the evidence is out already.
        guard earlier.count < ConsensusLimits.votesPerValidatorMax else { return }
        votes.byValidator[vote.validator] = earlier + [signed]
        votes.powerByBlock[vote.block, default: 0] += validator.power
        if earlier.isEmpty { votes.power += validator.power }
        if vote.type == .prevote { prevotes[vote.round] = votes } else { precommits[vote.round] = votes }
        heard(from: validator, round: vote.round)
    }

    /// True if the message was for a later height and is kept for it; throws for an earlier height.
    mutating func buffer(_ event: Event, height: UInt64) throws(ConsensusError) -> Bool {
        if height < self.height { throw ConsensusError(.staleHeight, "message for height \(height), now at \(self.height)") }
        guard height > self.height else { return false }
        guard height <= self.height + 2, future.count < config.futureMessagesMax else {
            throw ConsensusError(.tooFarAhead, "message for height \(height), now at \(self.height)")
        }
        if !future.contains(event) { future.append(event) }
        return true
    }

    mutating func heard(from validator: Validator, round: Int) {
        var entry = senders[round] ?? ([], 0)
        if entry.ids.insert(validator.id).inserted { entry.power += validator.power }
        senders[round] = entry
    }

    // MARK: The rules

    /// L11–L21 StartRound(round).
    mutating func startRound(_ round: Int, _ out: inout [Directive]) {
        self.round = round  // L12
        step = .propose  // L13
        if let me, validators.proposer(height: height, round: round).id == me {  // L14
            proposedRound = round
            if let validValue {  // L15–L16
                out.append(.propose(
                    Proposal(chainID: config.chainID, height: height, round: round, block: validValue.id,
                             validRound: validRound, proposer: me),
                    validValue
                ))  // L19
            } else {
                out.append(.getValue(height: height, round: round))  // L18; L19 on `.value`
            }
        } else {
            schedule(.propose, &out)  // L21
        }
    }

    /// Runs the upon-rules until none is enabled. Each rule's guard (its step or its "first time" mark) keeps it from
    /// firing twice; the order among enabled rules does not matter for correctness (TENDERMINT.md).
    mutating func process(_ out: inout [Directive]) {
        while step != .decided, fireOneRule(&out) {}
    }

    /// Fires one enabled rule, if any.
    mutating func fireOneRule(_ out: inout [Directive]) -> Bool {
        if decideIfPossible(&out) { return true }  // L49
        if let next = roundToSkipTo() {  // L55
            startRound(next, &out)
            return true
        }
        let roundProposals = proposals[round] ?? []
        if step == .propose, let fired = prevoteOnProposal(roundProposals, &out) { return fired }
        if step == .prevote, isQuorum(prevotes[round]?.power), fired.insert(Fired(line: 34, round: round)).inserted {  // L34
            schedule(.prevote, &out)  // L35
            return true
        }
        if step >= .prevote, !fired.contains(Fired(line: 36, round: round)), let proposal = roundProposals.first(where: {
            validity[$0.value.id] == true && hasQuorum(.prevote, round, for: $0.value.id)
        }) {  // L36
            fired.insert(Fired(line: 36, round: round))
            let v = proposal.value
            if step == .prevote {  // L37
                lockedValue = v  // L38
                lockedRound = round  // L39
                castVote(.precommit, v.id, &out)  // L40
                step = .precommit  // L41
            }
            validValue = v  // L42
            validRound = round  // L43
            return true
        }
        if step == .prevote, hasQuorum(.prevote, round, for: nil) {  // L44
            castVote(.precommit, nil, &out)  // L45
            step = .precommit  // L46
            return true
        }
        if isQuorum(precommits[round]?.power), fired.insert(Fired(line: 47, round: round)).inserted {  // L47
            schedule(.precommit, &out)  // L48
            return true
        }
        return false
    }

    /// L22–L33 in step propose, for the first of the round's proposals that enables either rule; nil if none does.
    mutating func prevoteOnProposal(_ roundProposals: [SignedProposal<Value>], _ out: inout [Directive]) -> Bool? {
        for proposal in roundProposals {
            let v = proposal.value
            let vr = proposal.proposal.validRound
            if vr == -1, let valid = validity[v.id] {  // L22
                let accept = valid && (lockedRound == -1 || lockedValue?.id == v.id || config.mutation == .noLock)  // L23
                castVote(.prevote, accept ? v.id : nil, &out)  // L24 / L26
                step = .prevote  // L27
                return true
            }
            if vr >= 0, vr < round, hasQuorum(.prevote, vr, for: v.id), let valid = validity[v.id] {  // L28
                let accept = valid && (lockedRound <= vr || lockedValue?.id == v.id || config.mutation == .noLock)  // L29
                castVote(.prevote, accept ? v.id : nil, &out)  // L30 / L32
                step = .prevote  // L33
                return true
            }
        }
        return nil
    }

    /// L49–L54: a proposal of any round r of this height with precommits for it from more than 2/3 of the power,
    /// and valid: decide it. Asks for validation if valid(v) is not known yet.
    mutating func decideIfPossible(_ out: inout [Directive]) -> Bool {
        for (r, list) in proposals.sorted(by: { $0.key < $1.key }) {
            guard let proposal = list.first(where: { hasQuorum(.precommit, r, for: $0.value.id) && validity[$0.value.id] == true })
            else { continue }  // L49, L50
            let id = proposal.value.id
            let precommitsForIt = precommits[r]?.byValidator.values.compactMap { $0.first { $0.vote.block == id } } ?? []
            let certificate = CommitCertificate(
                chainID: config.chainID, height: height, round: r, block: id, precommits: Array(precommitsForIt)
            )
            step = .decided  // L51: decision_p[h_p] = v; L52–L54 happen in `startHeight`
            timeouts = [:]
            out.append(.decide(height: height, value: proposal.value, certificate: certificate))
            return true
        }
        return false
    }

    /// L55: the highest round above the current one from which validators with more than 1/3 of the power sent
    /// messages.
    func roundToSkipTo() -> Int? {
        senders.filter { $0.key > round && validators.isOneThird($0.value.power) }.keys.max()
    }

    /// L57–L66: timeouts whose time has come, in deadline order.
    mutating func fireDueTimeouts(_ out: inout [Directive]) {
        let due = timeouts.filter { $0.value <= nowMillis }.sorted {
            ($0.value, $0.key.round, $0.key.kind.rawValue) < ($1.value, $1.key.round, $1.key.kind.rawValue)
        }
        for (timeout, _) in due {
            timeouts[timeout] = nil
            guard timeout.height == height, timeout.round == round, step != .decided else { continue }
            switch timeout.kind {
            case .propose where step == .propose:  // L57
                castVote(.prevote, nil, &out)  // L59
                step = .prevote  // L60
            case .prevote where step == .prevote:  // L61
                castVote(.precommit, nil, &out)  // L63
                step = .precommit  // L64
            case .precommit:  // L65
                startRound(round + 1, &out)  // L66
            default:
                break
            }
            process(&out)
        }
    }

    // MARK: Helpers

    mutating func castVote(_ type: VoteType, _ block: Hash32?, _ out: inout [Directive]) {
        guard let me else { return }
        out.append(.vote(Vote(chainID: config.chainID, height: height, round: round, type: type, block: block, validator: me)))
    }

    mutating func schedule(_ kind: Timeout.Kind, _ out: inout [Directive]) {
        let schedule = switch kind {
        case .propose: config.propose
        case .prevote: config.prevote
        case .precommit: config.precommit
        }
        let timeout = Timeout(kind: kind, height: height, round: round)
        let deadline = nowMillis + schedule.duration(round: round)
        timeouts[timeout] = deadline
        out.append(.scheduleTimeout(timeout, atMillis: deadline))
    }

    /// More than 2/3 of the power (or, under the test-only mutation, 2f).
    func isQuorum(_ power: UInt64?) -> Bool {
        let power = power ?? 0
        if config.mutation == .quorumOfTwoF { return 3 * power >= 2 * (validators.totalPower - 1) }
        return validators.isQuorum(power)
    }

    func hasQuorum(_ type: VoteType, _ round: Int, for block: Hash32?) -> Bool {
        let votes = type == .prevote ? prevotes[round] : precommits[round]
        return isQuorum(votes?.powerByBlock[block])
    }

    /// The earliest deadline of a waiting timeout, for a shell that sleeps until then.
    public var nextDeadline: UInt64? { timeouts.values.min() }

    /// The votes of a type in a round, for tests, block sync and evidence.
    public func votes(_ type: VoteType, round: Int) -> [SignedVote] {
        let votes = type == .prevote ? prevotes[round] : precommits[round]
        return votes.map { $0.byValidator.values.flatMap { $0 } } ?? []
    }

    /// The proposals received for a round of this height, in arrival order.
    public func proposals(round: Int) -> [SignedProposal<Value>] { proposals[round] ?? [] }
}
