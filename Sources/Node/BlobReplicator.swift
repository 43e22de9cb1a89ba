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
    }

    public nonisolated let blobs: BlobStore
    let metrics: NodeMetrics
    let logger: Logger
    let now: @Sendable () -> UInt64
    var network: PeerNetwork?
    var wanted: [Hash32: Want] = [:]
    var nextPeer = 0
    /// What the node hands over: peers' blob messages, and shadows as they are registered.
    enum Input: Sendable {
        case message(Hash32, WireMessage)
        case registered(ShadowRegister)
    }
    let inbox: AsyncStream<Input>
    nonisolated let inboxContinuation: AsyncStream<Input>.Continuation

    static let requestTimeoutMillis: UInt64 = 5_000
    static let retryMillis: UInt64 = 1_000
    static let inFlightMax = 32
    static let responseBytesMax = 9 << 20

    public init(blobs: BlobStore, metrics: NodeMetrics, logger: Logger, now: @escaping @Sendable () -> UInt64 = LedgerNode.wallClockMillis) {
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

    /// Wants whatever of `registration` this node lacks.
    func registered(_ registration: ShadowRegister) {
        want(registration.manifest, .manifest)
        for envelope in registration.envelopes { want(envelope.address, .envelope) }
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
    public func run(network: PeerNetwork, shadows: [ShadowRegister]) async {
        self.network = network
        for registration in shadows { registered(registration) }
        if !wanted.isEmpty { logger.info("shadow blobs missing here; fetching from peers", metadata: ["blobs": "\(wanted.count)"]) }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [inbox] in
                for await input in inbox {
                    switch input {
                    case .message(let peer, let message): await self.handle(message, from: peer)
                    case .registered(let registration): await self.registered(registration)
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
        if (try? blobs.quarantined(limit: 1).isEmpty) == false { repairQuarantined() }
        guard let network, !found.isEmpty else { return }
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
        // What this peer was asked and did not have: ask another, later.
        let time = now()
        for (address, var want) in wanted where want.askedOf == peer && !got.contains(address) {
            want.deadline = nil
            want.notBefore = time + Self.retryMillis
            wanted[address] = want
        }
        metrics.blobsMissing.set(Double(wanted.count))
    }

    /// Quarantined blobs are wanted again (a peer has a good copy).
    func repairQuarantined() {
        guard let damaged = try? blobs.quarantined(limit: 1_000) else { return }
        for address in damaged where wanted[address] == nil { wanted[address] = Want(kind: .chunk) }
        metrics.blobsMissing.set(Double(wanted.count))
    }

    func askPeers() {
        guard let network, !wanted.isEmpty else { return }
        let peers = network.peers(speaking: .blobRequest).sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) }
        guard !peers.isEmpty else { return }
        let time = now()
        var inFlight = 0
        var ready: [Hash32] = []
        for (address, var want) in wanted {
            if let deadline = want.deadline {
                if deadline > time { inFlight += 1; continue }
                want.deadline = nil  // timed out: ask again
                wanted[address] = want
            }
            if want.notBefore <= time { ready.append(address) }
        }
        var index = 0
        while index < ready.count, inFlight < Self.inFlightMax {
            let batch = Array(ready[index..<min(ready.count, index + WireLimits.blobsPerMessageMax)])
            index += batch.count
            // Round robin over peers, skipping the one each blob was last asked of when there is another.
            nextPeer = (nextPeer + 1) % peers.count
            var peer = peers[nextPeer]
            if peers.count > 1, batch.allSatisfy({ wanted[$0]?.askedOf == peer }) { peer = peers[(nextPeer + 1) % peers.count] }
            guard network.send(.blobRequest(batch), to: peer) else { continue }
            for address in batch {
                wanted[address]?.askedOf = peer
                wanted[address]?.attempts += 1
                wanted[address]?.deadline = time + Self.requestTimeoutMillis
            }
            inFlight += batch.count
        }
    }
}
