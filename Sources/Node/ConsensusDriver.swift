import Consensus
import Encoding
import Ledger
import Logging
import P2P
import Storage
import TwinCrypto

extension AtomicFile: SignedPositionStore {}

/// A validator's consensus state inside the node: the Tendermint instance, the safety rules that hold its key, the
/// WAL of the current height's inputs, and the executions of the blocks it proposed or validated.
struct ConsensusState {
    var instance: Tendermint<LedgerBlock>
    let safety: SafetyRules
    /// Reads the consensus keys the node's home holds (its first key and those it rotated to), for when a rotation
    /// takes effect (Docs/consensus.md, "Consensus key rotation").
    let loadKeys: @Sendable () -> [SecretKey]
    let wal: WriteAheadLog
    /// The WAL's records with the height each is about (nil: a tick or an answer, which belong to their height).
    var walRecords: [(height: UInt64?, bytes: [UInt8])] = []
    var executions: [Hash32: BlockExecution] = [:]
    /// This validator's signed messages of the current height, re-sent to a peer that connects and to everyone when
    /// the height stalls (TLS connections deliver in order, but a connection that broke lost what was in flight).
    var own: [WireMessage] = []
    /// Set while the WAL is fed back after a restart: nothing is sent, signed anew or written.
    var replaying = false
    /// The instance asked for a value: propose as soon as transactions wait, or an empty block after the interval.
    var pendingValue: (height: UInt64, round: Int, since: UInt64)?
    /// Events the node gives itself (its signed messages, answers to directives), handled in order.
    var local: [Tendermint<LedgerBlock>.Event] = []
    var heightStarted: UInt64 = 0
    var lastRebroadcast: UInt64 = 0
    var stepStarted: (step: Step, round: Int, at: UInt64)?
}

/// Block sync state (every node): what peers have committed and the request in flight.
struct SyncState {
    var peerHeights: [Hash32: UInt64] = [:]
    /// Since when some peer has been ahead of this node.
    var aheadSince: UInt64?
    var request: (peer: Hash32, from: UInt64, sentAt: UInt64)?
    var blocksSynced = 0
    var reportedNetwork = PeerNetwork.Statistics()
    var validatorIDs: (height: UInt64, ids: Set<Hash32>)?
    var lastReport: UInt64 = 0
}

extension LedgerNode {
    /// How long a validator lets a peer be ahead by one height before fetching the block instead of deciding it.
    static let syncGraceMillis: UInt64 = 1_500
    static let syncRequestTimeoutMillis: UInt64 = 5_000
    static let rebroadcastMillis: UInt64 = 2_000
    /// A block response is cut at this many bytes of blocks (a frame holds 16 MiB).
    static let syncResponseBytesMax = 8 << 20
    /// Waiting transactions sent to a validator that (re)connects, at most.
    static let regossipMax = 10_000

    /// Makes this node a validator: opens its safety record and WAL, replays the WAL into a new instance at the next
    /// height, and starts consensus (Docs/consensus.md, "WAL"). Call before `attach(network:)`.
    ///
    /// `keys` are the validator's consensus keys (its first key, and any it rotated to); `loadKeys` reads them again
    /// when a height's set names none of those held (a rotation taking effect with a key added since the start).
    public func startConsensus(
        keys: [SecretKey], loadKeys: @escaping @Sendable () -> [SecretKey] = { [] }, config: ConsensusConfig,
        walPath: String, safetyPath: String
    ) throws(NodeError) {
        let safety: SafetyRules
        do { safety = try SafetyRules(keys: keys, store: AtomicFile(path: safetyPath)) } catch {
            throw NodeError("\(safetyPath): \(error)")
        }
        let wal: WriteAheadLog
        do { wal = try WriteAheadLog(path: walPath) } catch { throw NodeError("\(walPath): \(error)") }
        if wal.truncatedTail > 0 {
            log.warning("the consensus WAL had a torn tail, cut", metadata: ["bytes": "\(wal.truncatedTail)"])
        }
        var entries: [WALEntry<LedgerBlock>] = []
        for record in wal.records {
            guard let entry = try? Canonical.decode(WALEntry<LedgerBlock>.self, from: record) else {
                throw NodeError("\(walPath): a record does not decode; move the file aside to start without it")
            }
            entries.append(entry)
        }
        let height = chain.head.height + 1
        let start = entries.first?.timeMillis ?? now()
        let validators = validatorSet(at: height)
        var state = ConsensusState(
            instance: Tendermint(config: config, me: Self.member(of: validators, among: safety, loading: loadKeys, log: log),
                                 height: height, validators: validators, nowMillis: start),
            safety: safety, loadKeys: loadKeys, wal: wal
        )
        state.walRecords = zip(entries, wal.records).map { (Self.height(of: $0.event), $1) }
        state.heightStarted = now()
        if entries.isEmpty {
            let first = Canonical.encode(WALEntry<LedgerBlock>(timeMillis: start, event: .tick))
            try? wal.append(first, sync: false)
            state.walRecords = [(nil, first)]
        }
        consensus = state
        log.info("consensus starting", metadata: [
            "height": "\(height)", "wal_records": "\(entries.count)",
            "last_signed": "\(safety.lastSigned.map { "\($0)" } ?? "none")",
        ])
        // Replay: the instance starts at the height's start time and every input is fed again at its own time.
        consensus?.replaying = true
        execute(consensus?.instance.start(at: start) ?? [])
        for entry in entries {
            feed(entry.event, at: entry.timeMillis)
            if case .proposal(let p) = entry.event, safety.holds(p.proposal.proposer) { remember(.proposal(p)) }
            if case .vote(let v) = entry.event, safety.holds(v.vote.validator) { remember(.vote(v)) }
        }
        consensus?.replaying = false
        metrics.height.set(Double(chain.head.height))
        // What the node signed in replay but had not yet fed itself (a crash between signing and the WAL write):
        // fed now (the instance refuses what it already has); peers get it when they connect.
        let time = now()
        for message in consensus?.own ?? [] {
            if case .proposal(let p) = message { feed(.proposal(p), at: time) }
            if case .vote(let v) = message { feed(.vote(v), at: time) }
        }
        feed(.tick, at: time)
    }

    /// Connects the node to its peers: their messages come in through `run(network:)`.
    public func attach(network: PeerNetwork) {
        self.network = network
        network.setHeight(chain.head.height)
    }

    /// Handles the network's events until it stops.
    public nonisolated func run(events network: PeerNetwork) async {
        for await event in network.events { await handle(event) }
    }

    /// Fires due timeouts, proposes when a value is wanted, re-sends stalled messages and syncs, until cancelled.
    public nonisolated func runTimers() async {
        while !Task.isCancelled {
            let wait = await timerStep()
            try? await Task.sleep(for: .milliseconds(wait))
        }
    }

    /// One pass of the timers; returns the milliseconds until the next.
    func timerStep() -> UInt64 {
        let time = now()
        if consensus != nil {
            if let deadline = consensus?.instance.nextDeadline, deadline <= time { feed(.tick, at: time) }
            tryPropose()
            rebroadcastIfStalled(time)
        }
        maybeSync(time)
        if let network, time >= sync.lastReport + 500 {
            let statistics = network.statistics
            metrics.network(statistics, since: sync.reportedNetwork)
            sync.reportedNetwork = statistics
            sync.lastReport = time
        }
        let next = consensus?.instance.nextDeadline.map { $0 > time ? $0 - time : 1 } ?? 50
        return max(1, min(next, 20))
    }

    // MARK: Feeding the instance

    /// Feeds one event (and the events it leads the node to give itself), writing each to the WAL first.
    func feed(_ event: Tendermint<LedgerBlock>.Event, at time: UInt64) {
        guard consensus != nil else { return }
        consensus?.local.append(event)
        while let next = consensus?.local.first {
            consensus?.local.removeFirst()
            guard var state = consensus else { return }
            if !state.replaying {
                let bytes = Canonical.encode(WALEntry(timeMillis: time, event: next))
                do { try state.wal.append(bytes, sync: false) } catch {
                    log.error("consensus WAL write failed", metadata: ["error": "\(error)"])
                }
                state.walRecords.append((Self.height(of: next), bytes))
            }
            let directives: [Tendermint<LedgerBlock>.Directive]
            do {
                directives = try state.instance.on(next, at: time)
            } catch {
                consensus = state
                if case .tick = next {} else {
                    metrics.consensusRefused(error.code.rawValue)
                    if error.code == .staleHeight { metrics.lateVotes.increment() }
                }
                continue  // refused (stale, repeated, invalid, or too far ahead): changes nothing
            }
            if case .value(let height, let round, _) = next, let pending = state.pendingValue,
                pending.height == height, pending.round == round
            {
                state.pendingValue = nil
            }
            consensus = state
            noteStep(time)
            execute(directives)
        }
    }

    func execute(_ directives: [Tendermint<LedgerBlock>.Directive]) {
        for directive in directives {
            guard let state = consensus else { return }
            switch directive {
            case .getValue(let height, let round):
                // In replay the WAL may hold the value it got (feeding it clears this); if not, the node proposes
                // once replay is over.
                consensus?.pendingValue = (height, round, now())
                if !state.replaying { tryPropose() }
            case .propose(let proposal, let value):
                let signed: SignedProposal<LedgerBlock>
                do { signed = try state.safety.sign(proposal, value: value) } catch {
                    if !state.replaying { log.error("the safety rules refused a proposal", metadata: ["error": "\(error)"]) }
                    continue
                }
                remember(.proposal(signed))
                guard !state.replaying else { continue }
                network?.broadcast(.proposal(signed), to: validatorPeers())
                consensus?.local.append(.proposal(signed))
            case .vote(let vote):
                let signed: SignedVote
                do { signed = try state.safety.sign(vote) } catch {
                    if !state.replaying { log.error("the safety rules refused a vote", metadata: ["error": "\(error)"]) }
                    continue
                }
                remember(.vote(signed))
                guard !state.replaying else { continue }
                network?.broadcast(.vote(signed), to: validatorPeers())
                consensus?.local.append(.vote(signed))
            case .validate(let value):
                guard !state.replaying else { continue }  // the WAL holds the answer
                let valid = validate(value)
                consensus?.local.append(.validated(block: value.id, valid: valid))
            case .scheduleTimeout:
                break  // the timer loop reads the instance's next deadline
            case .decide(let height, let value, let certificate):
                decide(height, value, certificate)
            case .evidence(let first, let second):
                metrics.evidence.increment()
                guard !state.replaying else { continue }
                submitEvidence(first, second)
            }
        }
    }

    /// Keeps a signed message of this validator for re-sending (once).
    func remember(_ message: WireMessage) {
        guard consensus?.own.contains(message) == false else { return }
        consensus?.own.append(message)
    }

    /// Answers a pending getValue: now if transactions wait, or with an empty block once the interval has passed.
    func tryPropose() {
        guard let state = consensus, let pending = state.pendingValue else { return }
        guard pending.height == state.instance.height, pending.round == state.instance.round, state.instance.step == .propose else {
            consensus?.pendingValue = nil
            return
        }
        let time = now()
        guard mempool.count > 0 || time >= pending.since + UInt64(blockInterval.components.seconds * 1_000)
            + UInt64(blockInterval.components.attoseconds / 1_000_000_000_000_000)
        else { return }
        consensus?.pendingValue = nil
        guard let key = currentKey else { return }
        let transactions = mempool.reap(max: blockTransactionsMax)
        do {
            let lastCommit = try chain.certificate(at: chain.head.height)
            let (block, execution) = try chain.propose(
                transactions, timeMillis: max(time, chain.head.timeMillis), proposer: key.publicKey, lastCommit: lastCommit
            )
            let value = LedgerBlock(block)
            consensus?.executions[value.id] = execution
            feed(.value(height: pending.height, round: pending.round, value), at: time)
        } catch {
            log.error("could not build a block to propose", metadata: ["error": "\(error)"])
        }
    }

    /// valid(v): the block carries a certificate for the head's block that verifies against that height's
    /// validators (none at height 1), and executes on the head to exactly its header.
    func validate(_ value: LedgerBlock) -> Bool {
        if consensus?.executions[value.id] != nil { return true }
        let head = chain.head
        let validators = validatorSet(at: head.height)
        guard value.carriesCertificate(of: head, verify: {
            (try? $0.verify(chainID: chainID, validators: validators)) != nil
        }) else { return false }
        do {
            let pool = mempool
            let execution = try chain.validate(value.block, known: { pool.transaction($0) })
            consensus?.executions[value.id] = execution
            return true
        } catch {
            log.notice("an invalid block was proposed", metadata: ["block": "\(value)", "error": "\(error)"])
            return false
        }
    }

    func decide(_ height: UInt64, _ value: LedgerBlock, _ certificate: CommitCertificate) {
        guard height == chain.head.height + 1 else { return }  // block sync committed it first
        let execution: BlockExecution
        if let known = consensus?.executions[value.id] {
            execution = known
        } else {
            let pool = mempool
            do { execution = try chain.validate(value.block, known: { pool.transaction($0) }) } catch {
                log.critical("the decided block does not execute here", metadata: ["block": "\(value)", "error": "\(error)"])
                producerFailure = "decided block \(value) does not execute: \(error)"
                return
            }
        }
        let round = consensus?.instance.round ?? 0
        metrics.roundsPerHeight.record(Double(round + 1))
        if round > 0 {
            log.notice("decided after more than one round", metadata: ["rounds": "\(round + 1)", "block": "\(value)"])
        } else {
            log.debug("decided", metadata: ["block": "\(value)", "transactions": "\(value.block.transactions.count)"])
        }
        commitDecided(value.block, execution, certificate: certificate)
    }

    /// Commits a decided or synced block, then moves consensus to the next height.
    func commitDecided(_ block: Block, _ execution: BlockExecution, certificate: CommitCertificate) {
        let height = block.header.height
        do {
            try finishCommit(block, execution, certificate: Canonical.encode(certificate))
        } catch {
            log.critical("commit failed", metadata: ["height": "\(height)", "error": "\(error)"])
            producerFailure = "\(error)"
            return
        }
        network?.setHeight(height)
        network?.broadcast(.status(height: height))
        guard var state = consensus else { return }
        let time = now()
        metrics.heightSeconds.record(Double(time &- state.heightStarted) / 1_000)
        state.heightStarted = time
        state.executions = [:]
        state.own = []
        state.pendingValue = nil
        // The WAL starts the next height with its start time and keeps what was buffered for later heights.
        let kept = state.walRecords.filter { ($0.height ?? 0) > height }
        let first = Canonical.encode(WALEntry<LedgerBlock>(timeMillis: time, event: .tick))
        state.walRecords = [(nil, first)] + kept
        if !state.replaying {
            do {
                // Not fsynced, like the appends: the WAL serves liveness after a restart; what keeps a validator
                // from signing twice is the safety record, fsynced before every signature.
                try state.wal.reset(sync: false)
                for record in state.walRecords { try state.wal.append(record.bytes, sync: false) }
            } catch {
                log.error("consensus WAL reset failed", metadata: ["error": "\(error)"])
            }
        }
        consensus = state
        let next = validatorSet(at: height + 1)
        let me = Self.member(of: next, among: state.safety, loading: state.loadKeys, log: log)
        if me != state.instance.me {
            log.notice("this validator votes with another consensus key from this height", metadata: [
                "height": "\(height + 1)", "key": "\(me.map { String($0.hex.prefix(16)) } ?? "none")",
            ])
        }
        let directives = consensus?.instance.startHeight(height + 1, validators: next, me: me, at: time) ?? []
        noteStep(time)
        execute(directives)
    }

    /// Which of the validator's consensus keys is in `set`: one it holds, or one its home gained since (read through
    /// `loading` and added to the safety rules). Nil if none is: the node follows that height without voting.
    static func member(of set: ValidatorSet, among safety: SafetyRules, loading: () -> [SecretKey], log: Logger) -> Hash32? {
        if let id = set.validators.first(where: { safety.holds($0.id) })?.id { return id }
        let fresh = loading().filter { !safety.holds($0.publicKey.keyID) }
        guard !fresh.isEmpty else { return nil }
        for key in fresh { safety.add(key) }
        let id = set.validators.first(where: { safety.holds($0.id) })?.id
        if let id { log.info("loaded a rotated consensus key", metadata: ["key": "\(id.hex.prefix(16))"]) }
        return id
    }

    /// The consensus key this validator votes with at the height in progress (nil if it is not in that set).
    var currentKey: SecretKey? {
        guard let state = consensus, let me = state.instance.me else { return nil }
        return state.safety.key(me)
    }

    /// An `evidence.submit` signed with this validator's key, admitted here and sent to the validators.
    func submitEvidence(_ first: SignedVote, _ second: SignedVote) {
        guard let key = currentKey else { return }
        let signer = key.publicKey.keyID
        let pending = UInt64(mempool.pendingCount(signer: signer))
        let body = TransactionBody(
            chainID: chainID, signer: key.publicKey, nonce: committedNonce(signer) + pending + 1,
            payload: .evidenceSubmit(EvidenceSubmit(first: Canonical.encode(first), second: Canonical.encode(second)))
        )
        guard let signed = try? SignedTransaction(signing: body, with: key) else { return }
        log.warning("double vote seen: submitting evidence", metadata: ["validator": "\(first.vote.validator.hex.prefix(16))"])
        if let id = try? submit(signed.bytes) { log.info("evidence admitted", metadata: ["transaction": "\(id.hex)"]) }
    }

    /// The validator set of `height` from the ledger (the genesis set is in it from height 1).
    func validatorSet(at height: UInt64) -> ValidatorSet {
        if let set = (try? chain.validators(at: height)) ?? nil { return set }
        return genesisValidators
    }

    /// The validators of the height in progress (the peers that get transactions and consensus messages), read from
    /// the ledger once per height.
    func validatorPeers() -> Set<Hash32> {
        let height = chain.head.height + 1
        if let cached = sync.validatorIDs, cached.height == height { return cached.ids }
        // A rotated consensus key is held by the node of the key it replaced (the node's P2P identity stays).
        let ids = Set(validatorSet(at: height).validators.map { validator in
            ((try? chain.store.get(StateKey.validatorNode(validator.id))).flatMap { $0 }
                .flatMap { try? Canonical.decode(Hash32.self, from: $0) }) ?? validator.id
        })
        sync.validatorIDs = (height, ids)
        return ids
    }

    /// Records step durations and late steps for /metrics.
    func noteStep(_ time: UInt64) {
        guard let instance = consensus?.instance else { return }
        let current = (step: instance.step, round: instance.round)
        if let started = consensus?.stepStarted, started.step != current.step || started.round != current.round {
            metrics.stepSeconds(started.step, Double(time &- started.at) / 1_000)
        }
        if consensus?.stepStarted.map({ $0.step != current.step || $0.round != current.round }) ?? true {
            consensus?.stepStarted = (current.step, current.round, time)
        }
        metrics.round.set(Double(instance.round))
    }

    func rebroadcastIfStalled(_ time: UInt64) {
        guard let state = consensus, let network, !state.own.isEmpty,
            time >= state.heightStarted + Self.rebroadcastMillis, time >= state.lastRebroadcast + Self.rebroadcastMillis
        else { return }
        consensus?.lastRebroadcast = time
        let peers = validatorPeers()
        for message in state.own { network.broadcast(message, to: peers) }
        metrics.rebroadcasts.increment()
    }

    // MARK: Peers

    func handle(_ event: PeerEvent) {
        switch event {
        case .connected(let peer, let hello):
            sync.peerHeights[peer] = hello.height
            metrics.peers.set(Double(network?.connectedPeers.count ?? 0))
            network?.send(.status(height: chain.head.height), to: peer)
            if validatorPeers().contains(peer) {
                for message in consensus?.own ?? [] { network?.send(message, to: peer) }
                // What waits here may have been gossiped while that validator was away (it would otherwise only
                // learn of it from a block, and could propose a signer's later transactions without it).
                for transaction in mempool.reap(max: Self.regossipMax) { network?.send(.transaction(transaction.bytes), to: peer) }
            }
            maybeSync(now())
        case .disconnected(let peer):
            sync.peerHeights[peer] = nil
            if sync.request?.peer == peer { sync.request = nil }
            metrics.peers.set(Double(network?.connectedPeers.count ?? 0))
        case .message(let peer, let message):
            receive(message, from: peer)
        }
    }

    func receive(_ message: WireMessage, from peer: Hash32) {
        let time = now()
        switch message {
        case .hello:
            break  // the network handles hellos
        case .transaction(let bytes):
            // De-duplicated gossip: a transaction already waiting or committed is dropped by id, before the
            // signature check (a validator may have executed it in a block before its gossip arrived).
            _ = try? admit(bytes, gossip: false, fromPeer: true)
        case .proposal(let proposal):
            guard consensus != nil else { return }
            feed(.proposal(proposal), at: time)
        case .vote(let vote):
            guard consensus != nil else { return }
            feed(.vote(vote), at: time)
        case .status(let height):
            sync.peerHeights[peer] = height
            maybeSync(time)
        case .blockRequest(let from, let count):
            serveBlocks(from: from, count: count, to: peer)
        case .blockResponse(let blocks):
            applySynced(blocks, from: peer)
        case .blobRequest, .blobResponse:
            replicator?.received(message, from: peer)
        }
    }

    /// Answers a block request with committed blocks and their certificates, as many as fit.
    func serveBlocks(from: UInt64, count: UInt64, to peer: Hash32) {
        guard from >= 1, from <= chain.head.height else { return }
        var blocks: [CommittedBlock] = []
        var size = 0
        var height = from
        while height <= chain.head.height, blocks.count < Int(count), size < Self.syncResponseBytesMax {
            guard let block = try? chain.block(at: height), let bytes = try? chain.certificate(at: height),
                let certificate = try? Canonical.decode(CommitCertificate.self, from: bytes)
            else { break }
            size += block.transactions.reduce(0) { $0 + $1.count } + 1_024
            blocks.append(CommittedBlock(block: block, certificate: certificate))
            height += 1
        }
        guard !blocks.isEmpty else { return }
        network?.send(.blockResponse(blocks), to: peer)
    }

    /// Block sync: asks the peer that is furthest ahead for the next blocks. A validator waits `syncGraceMillis`
    /// when only one height behind (it is probably about to decide that height itself); a follower asks at once.
    func maybeSync(_ time: UInt64) {
        guard let network else { return }
        let head = chain.head.height
        let ahead = sync.peerHeights.filter { $0.value > head }
        guard let best = ahead.values.max() else {
            sync.aheadSince = nil
            metrics.syncing.set(Double(0))
            return
        }
        if sync.aheadSince == nil { sync.aheadSince = time }
        let behind = best - head
        guard consensus == nil || behind >= 2 || time >= (sync.aheadSince ?? time) + Self.syncGraceMillis else { return }
        if let request = sync.request, time < request.sentAt + Self.syncRequestTimeoutMillis { return }
        let candidates = ahead.keys.sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) }
        guard !candidates.isEmpty else { return }
        let peer = candidates[Int(time % UInt64(candidates.count))]
        let count = min(behind, UInt64(WireLimits.blocksPerResponseMax))
        if network.send(.blockRequest(from: head + 1, count: count), to: peer) {
            sync.request = (peer, head + 1, time)
            // A follower fetches every block: only a real gap is worth an info line.
            log.log(level: behind >= 2 ? .info : .debug, "behind: fetching blocks", metadata: [
                "from": "\(head + 1)", "count": "\(count)", "peer": "\(peer.hex.prefix(16))", "peer_height": "\(best)",
            ])
            metrics.syncing.set(Double(1))
        }
    }

    /// Verifies and applies synced blocks in order: each certificate against the validators of its height, each
    /// block by executing it to its header. A peer that sends a block that fails is disconnected.
    func applySynced(_ blocks: [CommittedBlock], from peer: Hash32) {
        if sync.request?.peer == peer { sync.request = nil }
        for committed in blocks {
            let block = committed.block
            let height = block.header.height
            if height <= chain.head.height { continue }
            guard height == chain.head.height + 1 else { break }
            let certificate = committed.certificate
            do {
                guard certificate.height == height, certificate.block == block.header.hash else {
                    throw ConsensusError(.invalidCertificate, "the certificate is for another block")
                }
                try certificate.verify(chainID: chainID, validators: validatorSet(at: height))
            } catch {
                log.warning("a synced block's certificate does not verify: disconnecting the peer",
                               metadata: ["peer": "\(peer.hex.prefix(16))", "height": "\(height)", "error": "\(error)"])
                metrics.syncRefused.increment()
                network?.disconnect(peer)
                return
            }
            let execution: BlockExecution
            let pool = mempool
            do { execution = try chain.validate(block, known: { pool.transaction($0) }) } catch {
                log.warning("a synced block does not execute: disconnecting the peer",
                               metadata: ["peer": "\(peer.hex.prefix(16))", "height": "\(height)", "error": "\(error)"])
                metrics.syncRefused.increment()
                network?.disconnect(peer)
                return
            }
            commitDecided(block, execution, certificate: certificate)
            sync.blocksSynced += 1
            metrics.blocksSynced.increment()
        }
        maybeSync(now())
    }

    /// The node's logger with the consensus context: the height in progress and its round.
    var log: Logger {
        var logger = self.logger
        logger[metadataKey: "height"] = "\(consensus?.instance.height ?? chain.head.height + 1)"
        if let round = consensus?.instance.round { logger[metadataKey: "round"] = "\(round)" }
        return logger
    }

    /// The height an event is about (nil for ticks and answers).
    static func height(of event: Tendermint<LedgerBlock>.Event) -> UInt64? {
        switch event {
        case .proposal(let p): return p.proposal.height
        case .vote(let v): return v.vote.height
        case .value(let height, _, _): return height
        case .tick, .validated: return nil
        }
    }

    /// Whether this node has caught up: no peer reports a committed height above its own by more than one.
    public var caughtUp: Bool {
        let best = sync.peerHeights.values.max() ?? 0
        return best <= chain.head.height + 1
    }

    public var syncStatus: (height: UInt64, bestPeerHeight: UInt64, peers: Int, blocksSynced: Int, validator: Bool) {
        (chain.head.height, sync.peerHeights.values.max() ?? chain.head.height, sync.peerHeights.count, sync.blocksSynced,
         consensus != nil)
    }
}
