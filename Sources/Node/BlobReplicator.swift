import Encoding
import Ledger
import Logging
import P2P
import Shadows
import Storage
import TwinCrypto

/// Shadow replication (Docs/shadows.md, "Replication"): every node keeps every registered shadow's manifest, chunks
/// and envelopes. When a `shadow.register` commits, the blobs this node lacks are wanted; at start, and whenever a
/// damaged blob is quarantined, the ledger's shadows are checked again. Wanted blobs are asked of peers a few at a
/// time (`blob_request`, protocol version 2), each answer is kept only if it hashes to an address still wanted (so a
/// peer cannot make a node store anything else), and a manifest that arrives makes its missing chunks wanted. What
/// no peer has yet is asked again later, of another peer. Idempotent: a blob already stored is never wanted.
public actor BlobReplicator {
    /// Why a blob is wanted.
    enum Kind: Sendable { case manifest, chunk, envelope }

    struct Want: Sendable {
        var kind: Kind
        var notBefore: UInt64 = 0
        var attempts = 0
        var askedOf: Hash32?
        var deadline: UInt64?
        /// Peers that said they lack it (or did not answer) since the last round over all peers.
        var tried: Set<Hash32> = []
    }

    public nonisolated let blobs: BlobStore
    let metrics: NodeMetrics
    let logger: Logger
    let now: @Sendable () -> UInt64
    var network: PeerNetwork?
    var wanted: [Hash32: Want] = [:]
    var nextPeer = 0
    /// Requests sent to each peer and not yet answered, oldest first: a peer answers in order (one TLS connection).
    var outstanding: [Hash32: [[Hash32]]] = [:]
    var lastQuarantineCheck: UInt64 = 0
    /// What the node hands over: peers' blob messages, and shadows as they are registered.
    enum Input: Sendable {
        case message(Hash32, WireMessage)
        case registered(ShadowRegister)
        /// Key envelopes a committed grant carries.
        case envelopes([Hash32])
        case erased(Erasure)
        /// A policy envelope replaced by a re-wrap: the new one is wanted, the retired ones deleted.
        case rewrapped(new: Hash32, retired: [Hash32])
    }
    let inbox: AsyncStream<Input>
    nonisolated let inboxContinuation: AsyncStream<Input>.Continuation

    static let requestTimeoutMillis: UInt64 = 5_000
    static let retryMillis: UInt64 = 1_000
    static let inFlightMax = 16
    static let responseBytesMax = 9 << 20

    /// Signs erasure receipts: the node's key (the genesis names it); nil only in tests.
    let nodeKey: SecretKey?
    let chainID: String

    public init(blobs: BlobStore, metrics: NodeMetrics, logger: Logger, chainID: String, nodeKey: SecretKey?,
                now: @escaping @Sendable () -> UInt64 = LedgerNode.wallClockMillis) {
        self.chainID = chainID
        self.nodeKey = nodeKey
        self.blobs = blobs
        self.metrics = metrics
        self.logger = logger
        self.now = now
        (inbox, inboxContinuation) = AsyncStream.makeStream(of: Input.self)
    }

    /// Blob messages from the node's peers (the node passes them on without looking).
    public nonisolated func received(_ message: WireMessage, from peer: Hash32) {
        inboxContinuation.yield(.message(peer, message))
    }

    /// A `shadow.register` committed: its blobs are wanted (handled in order with peers' messages).
    public nonisolated func committed(_ registration: ShadowRegister) {
        inboxContinuation.yield(.registered(registration))
    }

    /// A `consent.grant` carrying key envelopes committed: they are wanted (handled in order).
    public nonisolated func committed(envelopes: [Hash32]) {
        guard !envelopes.isEmpty else { return }
        inboxContinuation.yield(.envelopes(envelopes))
    }

    /// What erasing a shadow deletes: the manifest, chunks and envelopes of every version it had, and the key
    /// envelopes grants carry for it.
    public struct Erasure: Sendable {
        /// Every version's registration, the latest last.
        public var versions: [ShadowRegister]
        public var grantEnvelopes: [Hash32]
        /// The height of the `shadow.erase`.
        public var height: UInt64

        public init(versions: [ShadowRegister], grantEnvelopes: [Hash32] = [], height: UInt64) {
            (self.versions, self.grantEnvelopes, self.height) = (versions, grantEnvelopes, height)
        }
    }

    /// A `shadow.erase` committed: the shadow's blobs are deleted here (handled in order).
    public nonisolated func committed(erasure: Erasure) {
        inboxContinuation.yield(.erased(erasure))
    }

    /// Deletes what `erasure` names, stops wanting it, and keeps a signed receipt. Idempotent: a shadow with a
    /// receipt is not erased again.
    func erase(_ erasure: Erasure) {
        guard let registration = erasure.versions.last else { return }
        let shadow = registration.shadow
        let height = erasure.height
        guard (try? blobs.note(shadow)) ?? nil == nil else { return }
        var addresses: [Hash32] = []
        for version in erasure.versions {
            addresses += [version.manifest] + version.envelopes.map(\.address) + (version.policy.map { [$0.address] } ?? [])
            if let manifest = try? blobs.manifest(version.manifest) { addresses += manifest.chunks }
        }
        var seen = Set<Hash32>()
        addresses = (addresses + erasure.grantEnvelopes).filter { seen.insert($0).inserted }
        let present = addresses.filter { (try? blobs.contains($0)) == true }.count
        do { try blobs.delete(addresses) } catch {
            logger.error("could not erase a shadow's blobs", metadata: ["shadow": "\(shadow.hex)", "error": "\(error)"])
            return
        }
        for address in addresses { wanted[address] = nil }
        metrics.blobsMissing.set(Double(wanted.count))
        let remaining = addresses.filter { (try? blobs.contains($0)) != false }.count
        guard let nodeKey else { return }
        let receipt = ErasureReceipt(chainID: chainID, node: nodeKey.publicKey, shadow: shadow, erasedHeight: height,
                                     manifest: registration.manifest, deleted: UInt64(present), remaining: UInt64(remaining),
                                     timeMillis: now(), nonce: SecureRandom.bytes(16))
        do {
            try blobs.setNote(shadow, Canonical.encode(try SignedErasureReceipt(signing: receipt, with: nodeKey)))
            metrics.shadowsErased.increment()
            logger.info("shadow erased here", metadata: ["shadow": "\(shadow.hex.prefix(16))", "blobs": "\(present)"])
        } catch {
            logger.error("could not keep an erasure receipt", metadata: ["shadow": "\(shadow.hex)", "error": "\(error)"])
        }
    }

    /// This node's signed erasure receipt for `shadow`, once it erased it.
    public nonisolated func receipt(_ shadow: Hash32) -> SignedErasureReceipt? {
        guard let bytes = (try? blobs.note(shadow)) ?? nil else { return nil }
        return try? Canonical.decode(SignedErasureReceipt.self, from: bytes)
    }

    /// A committed `shadow.rewrap`: reported here (handled in order).
    public nonisolated func committed(rewrap new: Hash32, retired: [Hash32]) {
        inboxContinuation.yield(.rewrapped(new: new, retired: retired))
    }

    /// Wants the new policy envelope and deletes the ones it replaced: after a rotation the old epoch's keys must not
    /// find an envelope they open.
    func rewrapped(new: Hash32, retired: [Hash32]) {
        want(new, .envelope)
        let old = retired.filter { $0 != new }
        for address in old { wanted.removeValue(forKey: address) }
        do { try blobs.delete(old) } catch {
            logger.error("deleting re-wrapped envelopes failed", metadata: ["error": "\(error)"])
        }
    }

    /// Wants whatever of `registration` this node lacks.
    func registered(_ registration: ShadowRegister) {
        want(registration.manifest, .manifest)
        for envelope in registration.envelopes { want(envelope.address, .envelope) }
        if let policy = registration.policy { want(policy.address, .envelope) }
    }

    /// How many blobs are wanted and not yet stored.
    public var missing: Int { wanted.count }

    func want(_ address: Hash32, _ kind: Kind) {
        guard wanted[address] == nil else { return }
        do {
            if try blobs.contains(address) {
                if kind == .manifest, let manifest = try? blobs.manifest(address) { wantChunks(of: manifest) }
                return
            }
        } catch {
            logger.error("blob store failed", metadata: ["error": "\(error)"])
            return
        }
        wanted[address] = Want(kind: kind)
        metrics.blobsMissing.set(Double(wanted.count))
    }

    func wantChunks(of manifest: Manifest) {
        guard let missing = try? blobs.missingChunks(of: manifest) else { return }
        for chunk in missing { want(chunk, .chunk) }
    }

    /// Serves peers' requests, stores answers and asks for what is wanted, until cancelled.
    public func run(network: PeerNetwork?, shadows: [ShadowRegister], grantEnvelopes: [Hash32] = [], erased: [Erasure] = []) async {
        self.network = network
        // Erasures committed while this node was down are carried out first.
        for erasure in erased { erase(erasure) }
        for registration in shadows { registered(registration) }
        for address in grantEnvelopes { want(address, .envelope) }
        if !wanted.isEmpty { logger.info("shadow blobs missing here; fetching from peers", metadata: ["blobs": "\(wanted.count)"]) }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [inbox] in
                for await input in inbox {
                    switch input {
                    case .message(let peer, let message): await self.handle(message, from: peer)
                    case .registered(let registration): await self.registered(registration)
                    case .envelopes(let addresses): for address in addresses { await self.want(address, .envelope) }
                    case .erased(let erasure): await self.erase(erasure)
                    case .rewrapped(let new, let retired): await self.rewrapped(new: new, retired: retired)
                    }
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    await self.askPeers()
                    try? await Task.sleep(for: .milliseconds(100))
                }
            }
            await group.next()
            group.cancelAll()
        }
    }

    /// Ends the inbox (the run loop's reader stops).
    public nonisolated func stop() { inboxContinuation.finish() }

    func handle(_ message: WireMessage, from peer: Hash32) {
        switch message {
        case .blobRequest(let addresses): serve(addresses, to: peer)
        case .blobResponse(let blobs): store(blobs, from: peer)
        default: break
        }
    }

    func serve(_ addresses: [Hash32], to peer: Hash32) {
        var found: [[UInt8]] = []
        var size = 0
        for address in addresses {
            // A damaged blob is quarantined by the read and not sent; it becomes wanted here in turn.
            guard let bytes = try? blobs.get(address) else { continue }
            guard size + bytes.count <= Self.responseBytesMax else { break }
            size += bytes.count
            found.append(bytes)
        }
        // An empty answer says "none of these here", so the asker turns to another peer at once.
        guard let network else { return }
        if network.send(.blobResponse(found), to: peer) { metrics.blobsServed.increment(by: Int64(found.count)) }
    }

    func store(_ answers: [[UInt8]], from peer: Hash32) {
        var got: Set<Hash32> = []
        for bytes in answers {
            let address = Hashing.sha3(bytes)
            guard let want = wanted[address] else { continue }  // unsolicited or already stored: ignored
            do { try blobs.put(bytes, expected: address) } catch {
                logger.error("could not store a replicated blob", metadata: ["error": "\(error)"])
                continue
            }
            got.insert(address)
            wanted[address] = nil
            metrics.blobBytesReplicated.increment(by: Int64(bytes.count))
            if want.kind == .manifest {
                if let manifest = try? Canonical.decode(Manifest.self, from: bytes) {
                    wantChunks(of: manifest)
                } else {
                    logger.warning("a registered manifest is not a manifest", metadata: ["address": "\(address.hex)"])
                }
            }
        }
        // What this peer was asked in the request this answers, and does not have: ask another peer now.
        if var queue = outstanding[peer], !queue.isEmpty {
            let asked = queue.removeFirst()
            outstanding[peer] = queue.isEmpty ? nil : queue
            for address in asked where !got.contains(address) {
                guard var want = wanted[address], want.askedOf == peer else { continue }
                want.deadline = nil
                want.tried.insert(peer)
                wanted[address] = want
            }
        }
        metrics.blobsMissing.set(Double(wanted.count))
    }

    /// Quarantined blobs are wanted again (a peer has a good copy; storing it clears the quarantine).
    func repairQuarantined() {
        guard let damaged = try? blobs.quarantined(limit: 1_000) else { return }
        for address in damaged where wanted[address] == nil && (try? blobs.contains(address)) == false {
            wanted[address] = Want(kind: .chunk)
        }
        metrics.blobsMissing.set(Double(wanted.count))
    }

    func askPeers() {
        // Blobs found damaged (by a read here or a peer's request) are repaired from peers.
        if now() >= lastQuarantineCheck + 1_000 {
            lastQuarantineCheck = now()
            repairQuarantined()
        }
        guard let network, !wanted.isEmpty else { return }
        let peers = network.peers(speaking: .blobRequest).sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) }
        guard !peers.isEmpty else { return }
        let time = now()
        var inFlight = 0
        var ready: [Hash32] = []
        for (address, var want) in wanted {
            if let deadline = want.deadline {
                if deadline > time { inFlight += 1; continue }
                // No answer in time: counts as not having it (and the peer's queue of requests is forgotten: a
                // reconnected peer answers nothing that was in flight).
                want.deadline = nil
                if let asked = want.askedOf {
                    want.tried.insert(asked)
                    outstanding[asked] = nil
                }
                wanted[address] = want
            }
            if want.notBefore <= time { ready.append(address) }
        }
        // Each blob goes to a peer that has not said it lacks it, spread round robin; when every peer has, the blob
        // waits `retryMillis` and the round starts over (the blob may still be on its way to them).
        nextPeer = (nextPeer + 1) % peers.count
        var batches: [Hash32: [Hash32]] = [:]
        for (offset, address) in ready.sorted(by: { $0.bytes.lexicographicallyPrecedes($1.bytes) }).enumerated() {
            guard inFlight < Self.inFlightMax, var want = wanted[address] else { break }
            let untried = peers.filter { !want.tried.contains($0) }
            guard !untried.isEmpty else {
                want.tried = []
                want.notBefore = time + Self.retryMillis
                wanted[address] = want
                continue
            }
            batches[untried[(nextPeer + offset / WireLimits.blobsPerMessageMax) % untried.count], default: []].append(address)
            inFlight += 1
        }
        for (peer, addresses) in batches {
            var index = 0
            while index < addresses.count {
                let batch = Array(addresses[index..<min(addresses.count, index + WireLimits.blobsPerMessageMax)])
                index += batch.count
                guard network.send(.blobRequest(batch), to: peer) else { continue }
                outstanding[peer, default: []].append(batch)
                for address in batch {
                    wanted[address]?.askedOf = peer
                    wanted[address]?.attempts += 1
                    wanted[address]?.deadline = time + Self.requestTimeoutMillis
                }
            }
        }
    }
}
