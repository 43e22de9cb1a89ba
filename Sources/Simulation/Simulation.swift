import Consensus
import Encoding
import KeyValue
import Ledger
import TwinCrypto

/// A deterministic simulation of n validators running the real consensus instance, safety rules, WAL replay and
/// ledger (each validator proposes, validates by executing, and commits real blocks on its own store) over a
/// simulated network and clock, with Byzantine validators, crashes and partitions, all drawn from one 64-bit seed
/// (Docs/consensus.md, "Simulator"). Invariants are checked after every step; a failure names its seed and the
/// command that replays it.
public struct Simulation {
    /// What to run. Everything else (faults, timings, values) is drawn from `seed`.
    public struct Config: Sendable, Hashable {
        public var seed: UInt64
        public var validators = 4
        /// Heights every honest validator must commit (liveness).
        public var heights = 3
        /// Draw Byzantine validators, crashes, partitions, drops and duplicates from the seed.
        public var faults = true
        /// A deliberately broken instance, for the simulator's self-test.
        public var mutation: ConsensusConfig.Mutation?

        public init(seed: UInt64, validators: Int = 4, heights: Int = 3, faults: Bool = true,
                    mutation: ConsensusConfig.Mutation? = nil) {
            (self.seed, self.validators, self.heights, self.faults, self.mutation) = (seed, validators, heights, faults, mutation)
        }

        /// The command that replays this run.
        public var replay: String {
            "make sim SEED=\(seed) N=\(validators) HEIGHTS=\(heights)" + (faults ? "" : " FAULTS=0")
                + (mutation.map { " MUTATION=\($0.rawValue)" } ?? "")
        }
    }

    /// How a validator behaves.
    public enum Behavior: String, Sendable, Hashable {
        case honest
        /// Sends nothing at all.
        case silent
        /// Sends one proposal to half the validators and a different one to the others; sends each vote for a block
        /// to half the validators and a conflicting nil vote to the others.
        case equivocate
        /// Proposes invalid blocks (a wrong state root) and votes for any block, valid or not.
        case invalid
    }

    /// An invariant that broke.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public enum Kind: String, Sendable { case agreement, validity, doubleSign, liveness, guardTripped }
        public let kind: Kind
        public let message: String
        public let config: Config
        public var description: String { "\(kind.rawValue) violated (seed \(config.seed)): \(message)\n  replay: \(config.replay)" }
    }

    /// What a run did.
    public struct Report: Sendable {
        public var heightsCommitted = 0
        public var simulatedMillis: UInt64 = 0
        /// Point-to-point messages sent (a broadcast to n - 1 peers counts n - 1).
        public var messages = 0
        public var steps = 0
        public var evidence = 0
        public var crashes = 0
        public var behaviors: [Behavior] = []
        public var gstMillis: UInt64 = 0
        /// Offenses recorded on the ledger (evidence.submit accepted), as an honest validator's ledger has them.
        public var evidenceRecorded = 0
        /// True if the validator set changed under consensus (a validators.update took effect).
        public var validatorSetChanged = false
        /// True if a validator rotated its consensus key (validator.rotate in the first block) and a commit
        /// certificate of a later height carries the new key's signature.
        public var rotatedKeySigned = false
        /// The validator that rotated its key in this run, if any.
        public var rotatedValidator: Int?
    }

    enum Item {
        case deliver(to: Int, Tendermint<LedgerBlock>.Event)
        /// An event a node gives itself (its own signed message, an answer to its own directive); lost in a crash.
        case local(node: Int, generation: Int, Tendermint<LedgerBlock>.Event)
        case tick(node: Int, generation: Int)
        case crash(Int)
        case restart(Int)
    }

    final class Node {
        let index: Int
        /// The node's first key (its identity); `keys` adds the one it rotates to, if it does.
        let key: SecretKey
        var keys: [SecretKey]
        let behavior: Behavior
        var instance: Tendermint<LedgerBlock>
        var safety: SafetyRules
        let positions = MemoryPositionStore()
        /// Encoded inputs of the current height (and buffered later ones): the WAL, on the simulated disk.
        var wal: [[UInt8]] = []
        var committed: [LedgerBlock] = []
        /// The node's ledger on its simulated disk (survives a crash), and the chain over it (rebuilt on restart).
        let store = MemoryStore()
        var chain: Chain
        /// Executions of blocks this node proposed or validated at the current height, by block id.
        var executions: [Hash32: BlockExecution] = [:]
        /// `evidence.submit` transactions this node signed and will put in its proposals until they commit.
        var pendingEvidence: [VerifiedTransaction] = []
        var up = true
        var generation = 0
        var replaying = false
        var downUntil: UInt64 = 0
        /// Byzantine validators' messages this node passed on (gossip), by digest.
        var relayed: Set<Hash32> = []

        init(index: Int, key: SecretKey, behavior: Behavior, instance: Tendermint<LedgerBlock>, genesis: LedgerGenesis) throws {
            (self.index, self.key, self.behavior, self.instance) = (index, key, behavior, instance)
            keys = [key]
            safety = try SafetyRules(key: key, store: positions)
            chain = try Chain(store: store, genesis: genesis)
        }
    }

    public let config: Config
    let consensus: ConsensusConfig
    let genesis: LedgerGenesis
    /// Enrollments signed by the genesis organization, nonces 1, 2, …; block h carries `transactionsPerBlock` of
    /// them from (h - 1) × that.
    let transactions: [VerifiedTransaction]
    static let transactionsPerBlock = 4
    /// A validators.update or validator.rotate the first block carries, in some runs.
    let validatorUpdate: VerifiedTransaction?
    /// The validator that rotates its consensus key in the first block, and its new key.
    let rotation: (node: Int, key: SecretKey)?
    /// Evidence transactions a proposer adds to a block, at most.
    static let evidencePerBlockMax = 4
    static let genesisMillis: UInt64 = 1_800_000_000_000
    let validators: ValidatorSet
    var nodes: [Node] = []
    var random: SimulationRandom
    var queue = EventQueue<Item>()
    var now: UInt64 = 0
    var report = Report()
    // Network model, drawn from the seed.
    let gst: UInt64
    let delta: UInt64 = 50
    let dropChance: Double
    let duplicateChance: Double
    var partition: (start: UInt64, end: UInt64, side: Set<Int>)?
    // Invariant state.
    var decided: [UInt64: LedgerBlock] = [:]
    var signedByHonest: [String: Hash32] = [:]
    let deadline: UInt64
    let crashPlan: [(node: Int, at: UInt64, back: UInt64)]

    public init(_ config: Config) throws {
        self.config = config
        var random = SimulationRandom(seed: config.seed)
        var keys: [SecretKey] = []
        while keys.count < config.validators { keys.append(try SimulationRandom.key(&random)) }
        let set = try ValidatorSet(keys.map { Validator(key: $0.publicKey, power: 1) })
        validators = set
        keys = set.validators.map { v in keys.first { $0.publicKey == v.key } ?? keys[0] }
        let organization = try SimulationRandom.key(&random)
        let governor = try SimulationRandom.key(&random)
        genesis = LedgerGenesis(
            chainID: "twinledger-sim",
            organizations: [Organization(name: "HOSP_A", key: organization.publicKey), Organization(name: "HOSP_B", key: governor.publicKey)],
            validators: keys.map { ValidatorChange(key: $0.publicKey, power: 1) }
        )
        var transactions: [VerifiedTransaction] = []
        for nonce in 1...UInt64(Self.transactionsPerBlock * config.heights * 2) {
            let patient = try SimulationRandom.key(&random)
            let body = TransactionBody(chainID: "twinledger-sim", signer: organization.publicKey, nonce: nonce,
                                       payload: .enroll(Enroll(key: patient.publicKey, role: .patient, organization: "HOSP_A")))
            let aux = random.bytes(32)
            transactions.append(try VerifiedTransaction(
                try SignedTransaction(signing: body, with: organization, auxiliaryRandom: aux), chainID: "twinledger-sim"
            ))
        }
        self.transactions = transactions
        var consensus = ConsensusConfig(chainID: "twinledger-sim")
        consensus.propose = TimeoutSchedule(base: 1_000, delta: 500, max: 10_000)
        consensus.prevote = TimeoutSchedule(base: 500, delta: 250, max: 10_000)
        consensus.precommit = TimeoutSchedule(base: 500, delta: 250, max: 10_000)
        consensus.mutation = config.mutation
        self.consensus = consensus

        // Faults: up to f Byzantine validators, at most one crash of an honest one, a partition before GST.
        let f = (config.validators - 1) / 3
        var behaviors = [Behavior](repeating: .honest, count: config.validators)
        gst = config.faults ? UInt64(random.int(0...6_000)) : 0
        dropChance = config.faults ? [0, 0.05, 0.2][random.int(0...2)] : 0
        duplicateChance = config.faults ? [0, 0.05][random.int(0...1)] : 0
        var crashes: [(node: Int, at: UInt64, back: UInt64)] = []
        if config.faults {
            let byzantine = random.int(0...f)
            var chosen = Set<Int>()
            while chosen.count < byzantine { chosen.insert(random.int(0...(config.validators - 1))) }
            for index in chosen { behaviors[index] = [.silent, .equivocate, .invalid][random.int(0...2)] }
            if gst > 0, random.chance(0.3) {
                let start = UInt64(random.int(0...Int(gst)))
                var side: Set<Int> = []
                if random.chance(0.5) {
                    side = [set.validators.firstIndex { $0.id == set.proposer(height: 1, round: 0).id } ?? 0]
                } else {
                    side = Set(0..<(config.validators / 2))
                }
                partition = (start, UInt64(random.int(Int(start)...Int(gst))), side)
            }
            if random.chance(0.4), let honest = behaviors.indices.filter({ behaviors[$0] == .honest }).randomElement(using: &random) {
                let at = UInt64(random.int(0...Int(gst + 3_000)))
                crashes.append((honest, at, at + UInt64(random.int(100...3_000))))
            }
        }
        // In half the runs the first block carries a validators.update, approved by every validator, giving one
        // honest validator power 2 from height 3: the set changes under consensus (and the faulty keep less than a
        // third of the power).
        let honestIndices = behaviors.indices.filter { behaviors[$0] == .honest }
        if random.chance(0.5), let chosen = honestIndices.randomElement(using: &random) {
            let changes = [ValidatorChange(key: keys[chosen].publicKey, power: 2)]
            let message = ValidatorsUpdate.approvalBytes(chainID: "twinledger-sim", basis: 0, changes: changes)
            var approvals: [ValidatorApproval] = []
            for key in keys {
                approvals.append(ValidatorApproval(
                    validator: key.publicKey.keyID, signature: try key.sign(message, auxiliaryRandom: random.bytes(32))))
            }
            approvals.sort { $0.validator < $1.validator }
            let body = TransactionBody(chainID: "twinledger-sim", signer: governor.publicKey, nonce: 1,
                                       payload: .validatorsUpdate(ValidatorsUpdate(basis: 0, changes: changes, approvals: approvals)))
            validatorUpdate = try VerifiedTransaction(
                try SignedTransaction(signing: body, with: governor, auxiliaryRandom: random.bytes(32)), chainID: "twinledger-sim")
            rotation = nil
        } else if random.chance(0.5), let chosen = honestIndices.randomElement(using: &random) {
            // Otherwise, in half the runs, one honest validator rotates its consensus key in the first block: the
            // new key votes from height 3, and the old one must sign nothing there.
            let newKey = try SimulationRandom.key(&random)
            let payload = try ValidatorRotate.signed(chainID: "twinledger-sim", basis: 0, oldKey: keys[chosen].publicKey,
                                                     newKey: newKey, auxiliaryRandom: random.bytes(32))
            let body = TransactionBody(chainID: "twinledger-sim", signer: keys[chosen].publicKey, nonce: 1, payload: .validatorRotate(payload))
            validatorUpdate = try VerifiedTransaction(
                try SignedTransaction(signing: body, with: keys[chosen], auxiliaryRandom: random.bytes(32)), chainID: "twinledger-sim")
            rotation = (chosen, newKey)
            report.rotatedValidator = chosen
        } else {
            validatorUpdate = nil
            rotation = nil
        }
        report.behaviors = behaviors
        report.gstMillis = gst
        deadline = max(gst, crashes.map(\.back).max() ?? 0) + 40_000 * UInt64(config.heights)
        self.random = random
        for (index, key) in keys.enumerated() {
            let instance = Tendermint<LedgerBlock>(config: consensus, me: key.publicKey.keyID, height: 1, validators: set, nowMillis: 0)
            nodes.append(try Node(index: index, key: key, behavior: behaviors[index], instance: instance, genesis: genesis))
        }
        if let rotation {
            // The operator put the new key in the node's home before submitting: the node holds both from the start.
            nodes[rotation.node].keys.append(rotation.key)
            nodes[rotation.node].safety.add(rotation.key)
        }
        crashPlan = crashes
        byzantine = Set(nodes.filter { $0.behavior != .honest }.map { $0.key.publicKey.keyID })
        for crash in crashes {
            queue.push(crash.at, .crash(crash.node))
            queue.push(crash.back, .restart(crash.node))
            nodes[crash.node].downUntil = crash.back
        }
    }

    var honest: [Node] { nodes.filter { $0.behavior == .honest } }
    /// Key ids of the Byzantine validators (the messages honest ones relay).
    var byzantine: Set<Hash32> = []

    /// Runs until every honest validator committed `config.heights` heights; throws the first broken invariant.
    public mutating func run() throws(Failure) -> Report {
        for node in nodes where node.behavior != .silent {
            node.wal = [Canonical.encode(WALEntry<LedgerBlock>(timeMillis: 0, event: .tick))]
            try execute(node, node.instance.start(at: 0))
        }
        while let (time, item) = queue.pop() {
            now = max(now, time)
            guard now <= deadline else { break }
            report.steps += 1
            try step(item)
            if honest.allSatisfy({ $0.committed.count >= config.heights }) {
                report.simulatedMillis = now
                report.heightsCommitted = config.heights
                if let witness = honest.first {
                    report.evidenceRecorded = (try? witness.store.scan(prefix: [StateKey.evidencePrefix]).count) ?? 0
                    report.validatorSetChanged = validators(witness, at: UInt64(config.heights)).totalPower != UInt64(nodes.count)
                }
                return report
            }
        }
        let behind = honest.filter { $0.committed.count < config.heights }.map { "node \($0.index) at \($0.committed.count)" }
        throw fail(.liveness, "after \(now) ms (GST \(gst) ms) not every honest node committed \(config.heights) heights: "
            + behind.joined(separator: ", "))
    }

    func fail(_ kind: Failure.Kind, _ message: String) -> Failure {
        Failure(kind: kind, message: message + "\n  scenario: " + scenario, config: config)
    }

    /// The faults drawn from the seed, for failure reports.
    var scenario: String {
        var parts = ["validators \(report.behaviors.map(\.rawValue))", "GST \(gst) ms", "drops \(dropChance)"]
        if let partition { parts.append("partition \(partition.side.sorted()) from \(partition.start) to \(partition.end) ms") }
        parts += crashPlan.map { "node \($0.node) down \($0.at)-\($0.back) ms" }
        return parts.joined(separator: ", ")
    }

    mutating func step(_ item: Item) throws(Failure) {
        switch item {
        case .deliver(let to, let event):
            let node = nodes[to]
            guard node.behavior != .silent else { return }
            guard node.up else {
                // Gossip reaches a node that comes back: redeliver after its restart.
                queue.push(node.downUntil + UInt64(random.int(1...Int(delta))), item)
                return
            }
            try feed(node, event)
            relay(event, by: node)
        case .local(let index, let generation, let event):
            let node = nodes[index]
            guard node.up, node.generation == generation else { return }
            try feed(node, event)
        case .tick(let index, let generation):
            let node = nodes[index]
            guard node.up, node.generation == generation else { return }
            try feed(node, .tick)
        case .crash(let index):
            let node = nodes[index]
            node.up = false
            node.generation += 1
            report.crashes += 1
        case .restart(let index):
            try restart(nodes[index])
        }
    }

    /// Writes the event with the time to the node's WAL, feeds it to the instance, and carries out the directives.
    mutating func feed(_ node: Node, _ event: Tendermint<LedgerBlock>.Event, at time: UInt64? = nil) throws(Failure) {
        let time = time ?? now
        if !node.replaying { node.wal.append(Canonical.encode(WALEntry(timeMillis: time, event: event))) }
        let directives: [Tendermint<LedgerBlock>.Directive]
        do {
            directives = try node.instance.on(event, at: time)
        } catch where error.code == .tooFarAhead {
            // Gossip offers it again later, when the node may have caught up.
            queue.push(now + 500, .deliver(to: node.index, event))
            return
        } catch {
            return  // refused (stale, repeated or invalid): changes nothing
        }
        try execute(node, directives)
    }

    mutating func execute(_ node: Node, _ directives: [Tendermint<LedgerBlock>.Directive]) throws(Failure) {
        for directive in directives {
            switch directive {
            case .getValue(let height, let round):
                guard !node.replaying else { continue }  // the WAL holds the value it got, if it got one
                guard let value = makeBlock(node, tamper: node.behavior == .invalid) else { continue }
                local(node, .value(height: height, round: round, value))
            case .propose(let proposal, let value):
                try propose(node, proposal, value)
            case .vote(let vote):
                try castVote(node, vote)
            case .validate(let value):
                local(node, .validated(block: value.id, valid: node.behavior == .invalid || validate(node, value)))
            case .scheduleTimeout(_, let at):
                queue.push(max(at, now), .tick(node: node.index, generation: node.generation))
            case .decide(let height, let value, let certificate):
                try decide(node, height, value, certificate)
            case .evidence(let first, let second):
                report.evidence += 1
                if node.behavior == .honest { submitEvidence(node, first, second) }
            }
        }
    }

    /// A new block from `node`'s ledger head: the next transactions, the previous height's certificate, the
    /// simulated time. An invalid one (a Byzantine proposer's) has a wrong state root.
    mutating func makeBlock(_ node: Node, tamper: Bool, timeOffset: UInt64 = 0) -> LedgerBlock? {
        let start = Int(node.chain.head.height) * Self.transactionsPerBlock
        var batch = Array(transactions[min(start, transactions.count)..<min(start + Self.transactionsPerBlock, transactions.count)])
        if node.chain.head.height == 0, let validatorUpdate { batch.append(validatorUpdate) }
        batch += node.pendingEvidence.prefix(Self.evidencePerBlockMax)
        let lastCommit = (try? node.chain.certificate(at: node.chain.head.height)) ?? nil
        guard var (block, execution) = try? node.chain.propose(
            batch, timeMillis: Self.genesisMillis + now + timeOffset, proposer: node.key.publicKey, lastCommit: lastCommit
        ) else { return nil }
        if tamper {
            execution.tree.discard()
            block.header.stateRoot = Hashing.sha3(random.bytes(8))
            return LedgerBlock(block)
        }
        let value = LedgerBlock(block)
        node.executions[value.id] = execution
        return value
    }

    /// valid(v) on `node`'s ledger: the block executes on its head to exactly its header, and carries a commit
    /// certificate for the head's block that verifies against the validators (none at height 1).
    func validate(_ node: Node, _ value: LedgerBlock) -> Bool {
        if node.executions[value.id] != nil { return true }
        let head = node.chain.head
        let set = validators(node, at: head.height)
        guard value.carriesCertificate(of: head, verify: {
            config.mutation == .quorumOfTwoF || (try? $0.verify(chainID: consensus.chainID, validators: set)) != nil
        }) else { return false }
        guard let execution = try? node.chain.validate(value.block) else { return false }
        node.executions[value.id] = execution
        return true
    }

    /// The validator set of `height` from the node's ledger (the genesis set if the ledger cannot say, which a
    /// liveness or agreement failure would then show).
    func validators(_ node: Node, at height: UInt64) -> ValidatorSet {
        ((try? node.chain.validators(at: height)) ?? nil) ?? validators
    }

    /// An honest validator turns a double vote it saw into an `evidence.submit` signed with its own key, to carry in
    /// its proposals until the ledger has it.
    mutating func submitEvidence(_ node: Node, _ first: SignedVote, _ second: SignedVote) {
        let nonceBytes = try? node.chain.store.get(StateKey.nonce(node.key.publicKey.keyID))
        let committed = nonceBytes.flatMap { try? Canonical.decode(UInt64.self, from: $0) } ?? 0
        let body = TransactionBody(
            chainID: consensus.chainID, signer: node.key.publicKey,
            nonce: committed + UInt64(node.pendingEvidence.count) + 1,
            payload: .evidenceSubmit(EvidenceSubmit(first: Canonical.encode(first), second: Canonical.encode(second)))
        )
        guard node.pendingEvidence.count < 16, let signed = try? SignedTransaction(signing: body, with: node.key),
            let transaction = try? VerifiedTransaction(signed, chainID: consensus.chainID)
        else { return }
        node.pendingEvidence.append(transaction)
    }

    mutating func local(_ node: Node, _ event: Tendermint<LedgerBlock>.Event) {
        queue.push(now, .local(node: node.index, generation: node.generation, event))
    }

    /// Sends `event` from `node` to `recipients`, with the network's latency, drops, duplicates and partition.
    mutating func send(_ event: Tendermint<LedgerBlock>.Event, from node: Node, to recipients: [Int]) {
        for to in recipients where to != node.index {
            report.messages += 1
            let copies = random.chance(duplicateChance) ? 2 : 1
            for _ in 0..<copies {
                var at: UInt64
                if now >= gst {
                    at = now + UInt64(random.int(1...Int(delta)))
                } else if random.chance(dropChance) {
                    // Lost before GST; gossip delivers it within delta of GST (the paper's partial synchrony).
                    at = gst + UInt64(random.int(1...Int(delta)))
                } else {
                    at = now + UInt64(random.int(1...1_500))
                }
                if let partition, now >= partition.start, now < partition.end,
                    partition.side.contains(node.index) != partition.side.contains(to)
                {
                    at = max(at, partition.end + UInt64(random.int(1...Int(delta))))
                }
                queue.push(at, .deliver(to: to, event))
            }
        }
    }

    var everyone: [Int] { Array(nodes.indices) }

    /// Gossip: an honest node passes on what it received from a Byzantine validator, once, so that a message sent to
    /// only some validators still reaches every honest one (the paper's assumption; honest validators already send
    /// to everyone, and the network delivers everything by GST + delta).
    mutating func relay(_ event: Tendermint<LedgerBlock>.Event, by node: Node) {
        guard node.behavior == .honest else { return }
        let signer: Hash32
        switch event {
        case .proposal(let p): signer = p.proposal.proposer
        case .vote(let v): signer = v.vote.validator
        default: return
        }
        guard byzantine.contains(signer) else { return }
        guard node.relayed.insert(Hashing.sha3(Canonical.encode(event))).inserted else { return }
        send(event, from: node, to: everyone)
    }

    mutating func propose(_ node: Node, _ proposal: Proposal, _ value: LedgerBlock) throws(Failure) {
        switch node.behavior {
        case .honest:
            guard let signed = try sign(node, proposal: proposal, value: value) else { return }
            send(.proposal(signed), from: node, to: everyone)
            local(node, .proposal(signed))
        case .equivocate:
            guard let twinValue = makeBlock(node, tamper: false, timeOffset: 1) else { return }
            var twin = proposal
            twin.block = twinValue.id
            guard let a = try? SignedProposal(signing: proposal, value: value, with: node.key),
                let b = try? SignedProposal(signing: twin, value: twinValue, with: node.key)
            else { return }
            let half = nodes.count / 2
            send(.proposal(a), from: node, to: Array(0..<half))
            send(.proposal(b), from: node, to: Array(half..<nodes.count))
            local(node, .proposal(a))
        case .invalid:
            guard let signed = try? SignedProposal(signing: proposal, value: value, with: node.key) else { return }
            send(.proposal(signed), from: node, to: everyone)
            local(node, .proposal(signed))
        case .silent:
            return
        }
    }

    mutating func castVote(_ node: Node, _ vote: Vote) throws(Failure) {
        switch node.behavior {
        case .honest:
            guard let signed = try sign(node, vote: vote) else { return }
            send(.vote(signed), from: node, to: everyone)
            local(node, .vote(signed))
        case .equivocate:
            guard let signed = try? SignedVote(signing: vote, with: node.key) else { return }
            var other = vote
            other.block = vote.block == nil ? Hashing.sha3(Array("phantom".utf8)) : nil
            guard let conflicting = try? SignedVote(signing: other, with: node.key) else { return }
            let half = nodes.count / 2
            send(.vote(signed), from: node, to: Array(0..<half))
            send(.vote(conflicting), from: node, to: Array(half..<nodes.count))
            local(node, .vote(signed))
        case .invalid:
            guard let signed = try? SignedVote(signing: vote, with: node.key) else { return }
            send(.vote(signed), from: node, to: everyone)
            local(node, .vote(signed))
        case .silent:
            return
        }
    }

    /// Signs through the node's safety rules, and checks that no honest validator ever signs two different messages
    /// at one position. A refusal during WAL replay is the guard doing its job; outside replay it means the instance
    /// tried to sign twice.
    mutating func sign(_ node: Node, vote: Vote) throws(Failure) -> SignedVote? {
        try guarded(node, "\(vote.height)/\(vote.round)/\(vote.type)", vote.signingBytes) { () throws(SafetyError) in
            try node.safety.sign(vote)
        }
    }

    mutating func sign(_ node: Node, proposal: Proposal, value: LedgerBlock) throws(Failure) -> SignedProposal<LedgerBlock>? {
        try guarded(node, "\(proposal.height)/\(proposal.round)/proposal", proposal.signingBytes) { () throws(SafetyError) in
            try node.safety.sign(proposal, value: value)
        }
    }

    /// Runs one signing through the safety rules and records what was signed at `position`.
    mutating func guarded<T>(
        _ node: Node, _ position: String, _ bytes: [UInt8], _ sign: () throws(SafetyError) -> T
    ) throws(Failure) -> T? {
        let signed: T
        do {
            signed = try sign()
        } catch {
            if node.replaying { return nil }
            throw fail(.guardTripped, "node \(node.index): \(error)")
        }
        try recordSignature(node, position, Hashing.sha3(bytes))
        return signed
    }

    mutating func recordSignature(_ node: Node, _ position: String, _ digest: Hash32) throws(Failure) {
        let key = "\(node.index)/\(position)"
        if let earlier = signedByHonest[key], earlier != digest {
            throw fail(.doubleSign, "honest node \(node.index) signed two messages at \(position)")
        }
        signedByHonest[key] = digest
    }

    mutating func decide(_ node: Node, _ height: UInt64, _ value: LedgerBlock, _ certificate: CommitCertificate) throws(Failure) {
        guard Int(height) == node.committed.count + 1 else {
            throw fail(.agreement, "node \(node.index) decided height \(height) after \(node.committed.count) commits")
        }
        // (Under the 2f-quorum mutation the broken protocol's certificates are 2f too: the self-test is about agreement.)
        if config.mutation != .quorumOfTwoF {
            do { try certificate.verify(chainID: consensus.chainID, validators: validators(node, at: height)) } catch {
                throw fail(.validity, "node \(node.index)'s certificate for height \(height) does not verify: \(error)")
            }
        }
        // Commit the block on the node's ledger: its own proposal or a block it validated, or validated now.
        var execution = node.executions[value.id]
        if execution == nil, let validated = try? node.chain.validate(value.block) { execution = validated }
        if node.behavior == .honest {
            guard let execution else {
                throw fail(.validity, "honest node \(node.index) decided \(value), which does not validate on its ledger")
            }
            if let first = decided[height], first != value {
                throw fail(.agreement, "height \(height): node \(node.index) decided \(value), another honest node \(first)")
            }
            decided[height] = value
            do { try node.chain.commit(value.block, execution, certificate: Canonical.encode(certificate)) } catch {
                throw fail(.validity, "honest node \(node.index) could not commit \(value): \(error)")
            }
        } else if let execution {
            try? node.chain.commit(value.block, execution, certificate: Canonical.encode(certificate))
        }
        node.executions = [:]
        node.committed.append(value)
        report.heightsCommitted = max(report.heightsCommitted, node.committed.count)
        // The WAL starts the next height with its start time, and keeps what was buffered for later heights.
        node.wal = [Canonical.encode(WALEntry<LedgerBlock>(timeMillis: now, event: .tick))]
            + node.wal.filter { Self.height(of: $0).map { $0 > height } ?? false }
        node.pendingEvidence.removeAll { (try? node.chain.location(of: $0.id)) != nil }
        if let rotation, rotation.node == node.index, node.behavior == .honest {
            let signers = Set(certificate.signatures.map(\.validator))
            if signers.contains(rotation.key.publicKey.keyID) { report.rotatedKeySigned = true }
        }
        let next = validators(node, at: height + 1)
        let directives = node.instance.startHeight(height + 1, validators: next, me: Self.member(node, of: next), at: now)
        try execute(node, directives)
    }

    /// The height an encoded WAL event is about (nil for ticks and answers, which belong to the height they came in).
    static func height(of record: [UInt8]) -> UInt64? {
        guard let entry = try? Canonical.decode(WALEntry<LedgerBlock>.self, from: record) else { return nil }
        switch entry.event {
        case .proposal(let p): return p.proposal.height
        case .vote(let v): return v.vote.height
        case .value(let height, _, _): return height
        case .tick, .validated: return nil
        }
    }

    /// Which of `node`'s keys votes in `set` (its first key until a rotation takes effect, then the new one).
    static func member(_ node: Node, of set: ValidatorSet) -> Hash32? {
        node.keys.map(\.publicKey.keyID).first { id in set.validators.contains { $0.id == id } }
    }

    /// Restarts a crashed node from what survived on its simulated disk: committed heights, safety record, WAL.
    mutating func restart(_ node: Node) throws(Failure) {
        node.up = true
        node.generation += 1
        do {
            node.safety = try SafetyRules(keys: node.keys, store: node.positions)
            node.chain = try Chain(store: node.store, genesis: genesis)
        } catch {
            throw fail(.guardTripped, "node \(node.index) cannot reopen its safety record or ledger: \(error)")
        }
        node.executions = [:]
        var entries: [WALEntry<LedgerBlock>] = []
        for record in node.wal {
            guard let entry = try? Canonical.decode(WALEntry<LedgerBlock>.self, from: record) else {
                throw fail(.guardTripped, "node \(node.index): a WAL record does not decode")
            }
            entries.append(entry)
        }
        // The height's first record is its start: the instance starts at that time, then every input is fed again
        // at its own time, so the timeouts come out as they did.
        let start = entries.first?.timeMillis ?? now
        let set = validators(node, at: UInt64(node.committed.count + 1))
        node.instance = Tendermint<LedgerBlock>(
            config: consensus, me: Self.member(node, of: set), height: UInt64(node.committed.count + 1),
            validators: set, nowMillis: start
        )
        node.replaying = true
        try execute(node, node.instance.start(at: start))
        for entry in entries { try feed(node, entry.event, at: entry.timeMillis) }
        node.replaying = false
        // The clock moved on while it was down: due timeouts fire now.
        try feed(node, .tick)
    }
}

extension Array {
    func randomElement(using random: inout SimulationRandom) -> Element? {
        isEmpty ? nil : self[random.int(0...(count - 1))]
    }
}
