import Encoding
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// What the network reports to the node: a peer came or went, or sent a message.
public enum PeerEvent: Sendable {
    case connected(Hash32, Hello)
    case message(Hash32, WireMessage)
    case disconnected(Hash32)
}

/// The consortium's connections (Docs/protocol.md, "Peers"): a TLS 1.3 listener, a dialer per peer with reconnection
/// (exponential backoff with jitter), the hello check, and per-peer send queues with a byte bound.
///
/// Each pair of nodes keeps one connection: a node dials the peers whose id is above its own and accepts the others.
/// Received messages arrive, in order per peer, on `events`. Sending never blocks: a message goes onto the peer's
/// queue (NIO's outbound buffer); when a peer has more than `sendQueueBytesMax` waiting, droppable messages
/// (transactions, status) to it are dropped and counted, and at twice that the peer is disconnected as too slow.
public final class PeerNetwork: Sendable {
    public struct Configuration: Sendable {
        public var me: Hash32
        public var policy: HandshakePolicy
        public var identity: PEMIdentity
        /// The consortium CA certificate (PEM).
        public var authority: String
        public var listenHost: String
        public var listenPort: Int
        /// Every other node this node knows an address for; it dials those whose id is above its own.
        public var peers: [(node: Hash32, host: String, port: Int)]
        public var sendQueueBytesMax = 32 << 20
        public var reconnectMinMillis: UInt64 = 100
        public var reconnectMaxMillis: UInt64 = 5_000
        /// Dial every listed peer, not only those above this node's id (for tools and tests that only connect out).
        public var dialAll = false
        /// Gossip (transactions, status) waits up to this long on the connection before it is flushed, so a stream of
        /// transactions leaves in one write per interval instead of one per transaction; consensus messages and
        /// block sync are flushed at once, with whatever gossip is waiting ahead of them. 0 flushes gossip at once too.
        public var gossipFlushMillis: Int64 = 5
        /// Per peer: transactions a second it may gossip to this node, sustained and at once; beyond, its
        /// transactions are dropped on arrival, before any signature check (0: no limit). Gossip is repeated by the
        /// node that admitted a transaction, which also proposes it, so a dropped one is delayed, not lost.
        public var peerTransactionsPerSecond: Double = Configuration.defaultPeerTransactionsPerSecond
        public var peerTransactionsBurst: Double = Configuration.defaultPeerTransactionsBurst
        /// Per peer: bytes a second read from its connection, sustained and at once; beyond, reading pauses until
        /// the bucket has refilled, so TCP slows the sender down and nothing is dropped (0: no limit).
        public var peerBytesPerSecond: Double = Configuration.defaultPeerBytesPerSecond
        public var peerBytesBurst: Double = Configuration.defaultPeerBytesBurst
        public static let defaultPeerTransactionsPerSecond: Double = 5_000
        public static let defaultPeerTransactionsBurst: Double = 10_000
        public static let defaultPeerBytesPerSecond = Double(64 << 20)
        public static let defaultPeerBytesBurst = Double(64 << 20)

        public init(me: Hash32, policy: HandshakePolicy, identity: PEMIdentity, authority: String, listenHost: String,
                    listenPort: Int, peers: [(node: Hash32, host: String, port: Int)]) {
            (self.me, self.policy, self.identity, self.authority) = (me, policy, identity, authority)
            (self.listenHost, self.listenPort, self.peers) = (listenHost, listenPort, peers)
        }
    }

    /// Counters for /metrics.
    public struct Statistics: Sendable, Hashable {
        public var connected = 0
        public var framesSent = 0
        public var bytesSent = 0
        public var framesReceived = 0
        public var dropped = 0
        public var refused = 0
        public var slowDisconnects = 0
        /// Each peer's throttling by its token buckets (peers not throttled yet are absent).
        public var throttled: [Hash32: Throttled] = [:]
        public init() {}
    }

    /// How often a peer's limits held it back.
    public struct Throttled: Sendable, Hashable {
        /// Transactions dropped on arrival for being over the peer's transaction rate.
        public var transactions = 0
        /// Times reading from the peer was paused for being over its byte rate, and for how long in all.
        public var readPauses = 0
        public var readPausedMillis = 0
        public init() {}
    }

    let configuration: Configuration
    let logger: Logger
    let group: any EventLoopGroup
    /// The TLS contexts new connections use; `reloadIdentity` swaps them, connections already open keep theirs.
    let tls: Mutex<(server: NIOSSLContext, client: NIOSSLContext)>
    let state = Mutex(State())
    let height = Atomic<UInt64>(0)
    public let events: AsyncStream<PeerEvent>
    let continuation: AsyncStream<PeerEvent>.Continuation

    struct State {
        var connections: [Hash32: PeerConnection] = [:]
        var listener: (any Channel)?
        var dialers: [Task<Void, Never>] = []
        var stopped = false
        var statistics = Statistics()
    }

    public init(_ configuration: Configuration, logger: Logger, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws {
        self.configuration = configuration
        self.logger = logger
        self.group = group
        tls = Mutex(try Self.contexts(configuration.identity, authority: configuration.authority))
        (events, continuation) = AsyncStream.makeStream(of: PeerEvent.self)
    }

    static func contexts(_ identity: PEMIdentity, authority: String) throws -> (server: NIOSSLContext, client: NIOSSLContext) {
        (try NIOSSLContext(configuration: ConsortiumPKI.tlsConfiguration(identity: identity, authority: authority, server: true)),
         try NIOSSLContext(configuration: ConsortiumPKI.tlsConfiguration(identity: identity, authority: authority, server: false)))
    }

    /// Presents `identity` on every connection opened from now on (certificate rotation without a restart; the
    /// connections already open keep the certificate they were made with until they close). Refused, with the old
    /// certificate kept, unless the new one names this node, is signed by the consortium CA, is valid now and matches
    /// its key (Docs/operations.md, "Certificates").
    public func reloadIdentity(_ identity: PEMIdentity) throws(WireError) {
        try ConsortiumPKI.checkNodeIdentity(identity, node: configuration.me, authority: configuration.authority)
        let fresh: (server: NIOSSLContext, client: NIOSSLContext)
        do { fresh = try Self.contexts(identity, authority: configuration.authority) } catch {
            throw WireError(.refusedPeer, "TLS refuses the certificate or key: \(error)")
        }
        tls.withLock { $0 = fresh }
        logger.notice("TLS certificate reloaded: new connections present it")
    }

    /// Binds the listener and starts dialing. Returns the bound port (useful with port 0).
    @discardableResult
    public func start(height: UInt64) async throws -> Int {
        self.height.store(height, ordering: .relaxed)
        let listener = try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(ChannelOptions.backlog, value: 64)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try self.configure(channel, server: true, expected: nil)
                }
            }
            .bind(host: configuration.listenHost, port: configuration.listenPort).get()
        let port = listener.localAddress?.port ?? configuration.listenPort
        let dialers = configuration.peers.filter { configuration.dialAll || $0.node > configuration.me }.map { peer in
            Task { await self.dial(peer.node, host: peer.host, port: peer.port) }
        }
        state.withLock {
            $0.listener = listener
            $0.dialers = dialers
        }
        logger.info("p2p listening", metadata: ["address": "\(configuration.listenHost):\(port)",
                                                "dialing": "\(dialers.count)", "peers": "\(configuration.peers.count)"])
        return port
    }

    /// Closes the listener and every connection, and ends `events`.
    public func stop() async {
        let (listener, dialers, connections) = state.withLock { state in
            state.stopped = true
            return (state.listener, state.dialers, Array(state.connections.values))
        }
        for dialer in dialers { dialer.cancel() }
        try? await listener?.close()
        for connection in connections { try? await connection.channel.close() }
        for dialer in dialers { await dialer.value }
        continuation.finish()
    }

    /// The node's committed height, for hellos.
    public func setHeight(_ value: UInt64) { height.store(value, ordering: .relaxed) }

    public var connectedPeers: [Hash32] { state.withLock { Array($0.connections.keys) } }
    public var statistics: Statistics {
        state.withLock {
            var statistics = $0.statistics
            statistics.connected = $0.connections.count
            return statistics
        }
    }

    /// Closes the connection to `peer` (it misbehaved); a dialer reconnects later.
    public func disconnect(_ peer: Hash32) {
        state.withLock { $0.connections[peer] }?.channel.close(promise: nil)
    }

    /// Whether a message may be dropped for a slow peer (gossip that is repeated or repaired anyway).
    static func droppable(_ kind: WireMessage.Kind) -> Bool {
        kind == .transaction || kind == .status || kind == .blobRequest || kind == .blobResponse
    }

    /// Queues `message` to `peer`; returns false if it was not sent (no connection, or dropped for backpressure).
    @discardableResult
    public func send(_ message: WireMessage, to peer: Hash32) -> Bool {
        guard let connection = state.withLock({ $0.connections[peer] }), connection.version >= message.kind.since else { return false }
        return enqueue(Self.frameBuffer(message), kind: message.kind, on: connection)
    }

    /// Connected peers that speak `kind` (their protocol version has it).
    public func peers(speaking kind: WireMessage.Kind) -> [Hash32] {
        state.withLock { state in state.connections.values.filter { $0.version >= kind.since }.map(\.peer) }
    }

    /// Queues `message` to every connected peer in `peers` (all if nil), encoding it once.
    public func broadcast(_ message: WireMessage, to peers: Set<Hash32>? = nil) {
        let connections = state.withLock { state in
            state.connections.filter { (peers?.contains($0.key) ?? true) && $0.value.version >= message.kind.since }.map(\.value)
        }
        guard !connections.isEmpty else { return }
        let buffer = Self.frameBuffer(message)
        for connection in connections { _ = enqueue(buffer, kind: message.kind, on: connection) }
    }

    static func frameBuffer(_ message: WireMessage) -> ByteBuffer {
        ByteBuffer(bytes: message.frame)
    }

    func enqueue(_ buffer: ByteBuffer, kind: WireMessage.Kind, on connection: PeerConnection) -> Bool {
        let size = buffer.readableBytes
        let queued = connection.queuedBytes.load(ordering: .relaxed)
        if queued + size > configuration.sendQueueBytesMax * 2 {
            logger.warning("peer is too slow: disconnecting", metadata: ["peer": "\(connection.peer.hex.prefix(16))",
                                                                        "queued_bytes": "\(queued)"])
            state.withLock { $0.statistics.slowDisconnects += 1 }
            connection.channel.close(promise: nil)
            return false
        }
        if queued + size > configuration.sendQueueBytesMax, Self.droppable(kind) {
            state.withLock { $0.statistics.dropped += 1 }
            return false
        }
        connection.queuedBytes.add(size, ordering: .relaxed)
        let promise = connection.channel.eventLoop.makePromise(of: Void.self)
        promise.futureResult.whenComplete { _ in connection.queuedBytes.subtract(size, ordering: .relaxed) }
        // Written on the connection's event loop, with one flush queued behind whatever writes are already queued:
        // frames sent together leave in one write instead of one system call each, and every frame is flushed (the
        // flush runs after every write queued before it). Gossip waits `gossipFlushMillis` for more to join it; a
        // consensus message (or block sync) asks for an immediate flush, which takes waiting gossip along.
        let channel = connection.channel
        let delay = Self.droppable(kind) ? configuration.gossipFlushMillis : 0
        channel.eventLoop.execute {
            channel.write(buffer, promise: promise)
            let pending = connection.flushPending.load(ordering: .relaxed)
            if delay == 0 {
                guard pending != PeerConnection.flushNow else { return }
                connection.flushPending.store(PeerConnection.flushNow, ordering: .relaxed)
                channel.eventLoop.execute {
                    connection.flushPending.store(PeerConnection.flushNone, ordering: .relaxed)
                    channel.flush()
                }
            } else if pending == PeerConnection.flushNone {
                connection.flushPending.store(PeerConnection.flushLater, ordering: .relaxed)
                channel.eventLoop.scheduleTask(in: .milliseconds(delay)) {
                    // An immediate flush since may have sent it all already; flushing nothing is harmless.
                    guard connection.flushPending.load(ordering: .relaxed) == PeerConnection.flushLater else { return }
                    connection.flushPending.store(PeerConnection.flushNone, ordering: .relaxed)
                    channel.flush()
                }
            }
        }
        state.withLock {
            $0.statistics.framesSent += 1
            $0.statistics.bytesSent += size
        }
        return true
    }

    // MARK: Connections

    /// TLS, the frame decoder and the peer handler. `expected` is the node a dialer meant to reach.
    func configure(_ channel: any Channel, server: Bool, expected: Hash32?) throws {
        let contexts = self.tls.withLock { $0 }
        let tls: any ChannelHandler = server
            ? NIOSSLServerHandler(context: contexts.server)
            : try NIOSSLClientHandler(context: contexts.client, serverHostname: nil)
        let hello = Hello(chainID: configuration.policy.chainID, genesis: configuration.policy.genesis,
                          node: configuration.me, height: height.load(ordering: .relaxed))
        let limiter = PeerLimiter(configuration)
        try channel.pipeline.syncOperations.addHandlers([
            tls, ReadThrottle(network: self, limiter: limiter), ByteToMessageHandler(FrameDecoder()),
            PeerHandler(network: self, hello: hello, expected: expected, limiter: limiter),
        ])
    }

    /// Dials `peer` until stopped: connects, waits for the connection to close, and reconnects after a backoff that
    /// doubles from `reconnectMinMillis` to `reconnectMaxMillis`, with ±50% jitter (so restarted nodes do not
    /// reconnect in lockstep); a connection that got through its hello resets the backoff.
    func dial(_ peer: Hash32, host: String, port: Int) async {
        var backoff = configuration.reconnectMinMillis
        var generator = SystemRandomNumberGenerator()
        while !Task.isCancelled, !state.withLock({ $0.stopped }) {
            if state.withLock({ $0.connections[peer] }) == nil {
                do {
                    let channel = try await ClientBootstrap(group: group)
                        .connectTimeout(.seconds(3))
                        .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                        .channelInitializer { [self] channel in
                            channel.eventLoop.makeCompletedFuture { try self.configure(channel, server: false, expected: peer) }
                        }
                        .connect(host: host, port: port).get()
                    let opened = ContinuousClock.now
                    try? await channel.closeFuture.get()
                    // A connection that lasted was a good one: start the backoff over.
                    if ContinuousClock.now - opened > .seconds(1) { backoff = configuration.reconnectMinMillis }
                } catch {
                    logger.debug("dial failed", metadata: ["peer": "\(peer.hex.prefix(16))", "error": "\(error)"])
                }
            }
            let jitter = Double.random(in: 0.5...1.5, using: &generator)
            try? await Task.sleep(for: .milliseconds(UInt64(Double(backoff) * jitter)))
            backoff = min(backoff * 2, configuration.reconnectMaxMillis)
        }
    }

    /// A peer's hello arrived on `channel`: checks it, and registers the connection unless one exists.
    func accept(_ hello: Hello, certified: Hash32?, expected: Hash32?, channel: any Channel) throws(WireError) -> PeerConnection {
        try configuration.policy.check(hello, certified: certified)
        if let expected, expected != hello.node {
            throw WireError(.refusedPeer, "dialed node \(expected.hex.prefix(16))…, reached \(hello.node.hex.prefix(16))…")
        }
        guard hello.node != configuration.me else { throw WireError(.refusedPeer, "a connection to itself") }
        let connection = PeerConnection(peer: hello.node, channel: channel, version: hello.protocolVersion)
        let added = state.withLock { state -> Bool in
            guard !state.stopped, state.connections[hello.node] == nil else { return false }
            state.connections[hello.node] = connection
            return true
        }
        guard added else { throw WireError(.refusedPeer, "already connected to node \(hello.node.hex.prefix(16))…") }
        logger.info("peer connected", metadata: ["peer": "\(hello.node.hex.prefix(16))", "height": "\(hello.height)"])
        continuation.yield(.connected(hello.node, hello))
        return connection
    }

    func closed(_ connection: PeerConnection) {
        let removed = state.withLock { state -> Bool in
            guard state.connections[connection.peer] === connection else { return false }
            state.connections[connection.peer] = nil
            return true
        }
        if removed {
            logger.info("peer disconnected", metadata: ["peer": "\(connection.peer.hex.prefix(16))"])
            continuation.yield(.disconnected(connection.peer))
        }
    }

    func received(_ message: WireMessage, from peer: Hash32) {
        state.withLock { $0.statistics.framesReceived += 1 }
        continuation.yield(.message(peer, message))
    }

    /// Records a peer's throttling (`peer` nil before its hello: counted under the zero id).
    func throttled(_ peer: Hash32?, transactions: Int = 0, pauses: Int = 0, pausedMillis: Int = 0) {
        state.withLock { state in
            var entry = state.statistics.throttled[peer ?? .zero] ?? Throttled()
            entry.transactions += transactions
            entry.readPauses += pauses
            entry.readPausedMillis += pausedMillis
            state.statistics.throttled[peer ?? .zero] = entry
        }
    }

    func refused(_ error: any Error, peer: String) {
        state.withLock { $0.statistics.refused += 1 }
        logger.warning("peer refused", metadata: ["peer": "\(peer)", "error": "\(error)"])
    }
}

/// One accepted connection.
final class PeerConnection: Sendable {
    let peer: Hash32
    let channel: any Channel
    /// The protocol version of the peer's hello: messages of a later version are not sent to it.
    let version: UInt64
    /// Bytes written to the channel and not yet handed to the socket.
    let queuedBytes = Atomic<Int>(0)
    /// Which flush is queued on the connection's event loop (touched only on that loop): none, a delayed one for
    /// gossip, or an immediate one.
    let flushPending = Atomic<UInt8>(PeerConnection.flushNone)
    static let flushNone: UInt8 = 0
    static let flushLater: UInt8 = 1
    static let flushNow: UInt8 = 2

    init(peer: Hash32, channel: any Channel, version: UInt64) {
        self.peer = peer
        self.channel = channel
        self.version = version
    }
}

/// Sends the hello, checks the peer's, then passes messages to the network. Anything wrong closes the connection.
final class PeerHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = WireMessage

    let network: PeerNetwork
    let hello: Hello
    let expected: Hash32?
    let limiter: PeerLimiter
    /// Event-loop confined.
    var connection: PeerConnection?

    init(network: PeerNetwork, hello: Hello, expected: Hash32?, limiter: PeerLimiter) {
        (self.network, self.hello, self.expected, self.limiter) = (network, hello, expected, limiter)
    }

    func channelActive(context: ChannelHandlerContext) {
        var hello = self.hello
        hello.height = network.height.load(ordering: .relaxed)
        context.writeAndFlush(NIOAny(PeerNetwork.frameBuffer(.hello(hello))), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let message = unwrapInboundIn(data)
        if let connection {
            if case .hello = message {
                network.refused(WireError(.malformed, "a second hello"), peer: connection.peer.hex.prefix(16).description)
                context.close(promise: nil)
                return
            }
            if case .transaction = message, !limiter.admitTransaction() {
                network.throttled(connection.peer, transactions: 1)
                return
            }
            network.received(message, from: connection.peer)
            return
        }
        guard case .hello(let hello) = message else {
            network.refused(WireError(.refusedPeer, "first message is \(message.kind), not hello"), peer: remote(context))
            context.close(promise: nil)
            return
        }
        let certificate = try? context.pipeline.syncOperations.handler(type: NIOSSLHandler.self).peerCertificate
        let certified = certificate.flatMap { try? $0.toDERBytes() }.flatMap { ConsortiumPKI.nodeID(certificateDER: $0) }
        do {
            connection = try network.accept(hello, certified: certified, expected: expected, channel: context.channel)
            limiter.peer = hello.node
        } catch {
            network.refused(error, peer: remote(context))
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let connection { network.closed(connection) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A peer that went away (reset, or TLS closed without notice) is not refused, only gone.
        var gone = error is IOError
        if case NIOSSLError.uncleanShutdown = error { gone = true }
        if gone {
            network.logger.debug("peer connection lost", metadata: ["error": "\(error)"])
        } else {
            network.refused(error, peer: connection.map { String($0.peer.hex.prefix(16)) } ?? remote(context))
        }
        context.close(promise: nil)
    }

    func remote(_ context: ChannelHandlerContext) -> String {
        context.remoteAddress.map { "\($0)" } ?? "unknown"
    }
}

/// One connection's token buckets (`Configuration.peerTransactionsPerSecond`, `peerBytesPerSecond`), shared by its
/// read throttle and its peer handler on the connection's event loop.
final class PeerLimiter: @unchecked Sendable {
    /// Set by the peer handler once the hello is accepted.
    var peer: Hash32?
    private var transactions: TokenBucket?
    private var bytes: TokenBucket?

    init(_ configuration: PeerNetwork.Configuration) {
        let now = NIODeadline.now().uptimeNanoseconds
        if configuration.peerTransactionsPerSecond > 0 {
            transactions = TokenBucket(ratePerSecond: configuration.peerTransactionsPerSecond,
                                       capacity: configuration.peerTransactionsBurst, nowNanos: now)
        }
        if configuration.peerBytesPerSecond > 0 {
            bytes = TokenBucket(ratePerSecond: configuration.peerBytesPerSecond, capacity: configuration.peerBytesBurst, nowNanos: now)
        }
    }

    /// Whether one more transaction from the peer fits its rate.
    func admitTransaction() -> Bool {
        guard transactions != nil else { return true }
        return transactions?.take(nowNanos: NIODeadline.now().uptimeNanoseconds) == nil
    }

    /// Charges bytes read; the seconds reading must pause to pay off the debt (0: none).
    func charge(bytes count: Int) -> Double {
        guard bytes != nil else { return 0 }
        return bytes?.charge(Double(count), nowNanos: NIODeadline.now().uptimeNanoseconds) ?? 0
    }
}

/// Between TLS and the frame decoder: charges every byte read from the peer to its byte bucket and, when the
/// bucket is in debt, stops reading until the debt is paid. The kernel's receive buffer then fills and TCP flow
/// control slows the sender; nothing is dropped, so consensus messages are delayed, never lost.
final class ReadThrottle: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let network: PeerNetwork
    let limiter: PeerLimiter
    /// Event-loop confined: a pause is in progress; reads asked for meanwhile wait for its end.
    private var paused = false
    private var readWanted = false

    init(network: PeerNetwork, limiter: PeerLimiter) {
        (self.network, self.limiter) = (network, limiter)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let wait = limiter.charge(bytes: unwrapInboundIn(data).readableBytes)
        context.fireChannelRead(data)
        guard wait > 0, !paused else { return }
        paused = true
        let millis = Int64((wait * 1_000).rounded(.up))
        network.throttled(limiter.peer, pauses: 1, pausedMillis: Int(millis))
        context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(millis)) {
            self.paused = false
            if self.readWanted {
                self.readWanted = false
                context.read()
            }
        }
    }

    /// With autoRead on, NIO asks for the next read after each; holding that request is what pauses reading.
    func read(context: ChannelHandlerContext) {
        if paused {
            readWanted = true
        } else {
            context.read()
        }
    }
}
