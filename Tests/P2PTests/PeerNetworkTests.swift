// PeerNetwork over real loopback TLS (Docs/protocol.md, "Peers").
//
// Covers: the node with the lower id dials, both sides see each other after the hello, messages arrive in order;
// when the peer goes away the dialer notices and reconnects to its replacement on the same address (backoff with
// jitter); a peer that stops reading gets its gossip dropped above the send-queue bound and is disconnected at twice
// the bound, while the sender's queue never grows past that.
import Encoding
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import P2P
import Synchronization
import Testing
import TwinCrypto

@Suite("Peer network")
struct PeerNetworkTests {
    struct Member {
        let id: Hash32
        let identity: PEMIdentity
    }

    let authority: PEMIdentity
    let a: Member
    let b: Member
    let policy: HandshakePolicy

    init() throws {
        authority = try ConsortiumPKI.makeAuthority(name: "peer network test CA")
        // A's id is below B's: A dials, B accepts.
        let idA = Hash32(bytes: [0x01] + [UInt8](repeating: 0, count: 31))!
        let idB = Hash32(bytes: [0x02] + [UInt8](repeating: 0, count: 31))!
        a = Member(id: idA, identity: try ConsortiumPKI.issueNodeCertificate(node: idA, organization: "A", authority: authority))
        b = Member(id: idB, identity: try ConsortiumPKI.issueNodeCertificate(node: idB, organization: "B", authority: authority))
        policy = HandshakePolicy(chainID: "peer-test", genesis: Hashing.sha3([7]), nodes: [idA, idB])
    }

    func network(_ member: Member, port: Int, peers: [(node: Hash32, host: String, port: Int)], queue: Int = 32 << 20,
                 tune: (inout PeerNetwork.Configuration) -> Void = { _ in }) throws -> PeerNetwork {
        var configuration = PeerNetwork.Configuration(
            me: member.id, policy: policy, identity: member.identity, authority: authority.certificatePEM,
            listenHost: "127.0.0.1", listenPort: port, peers: peers)
        configuration.sendQueueBytesMax = queue
        tune(&configuration)
        configuration.reconnectMinMillis = 50
        configuration.reconnectMaxMillis = 400
        return try PeerNetwork(configuration, logger: Logger(label: "test"))
    }

    /// Collects a network's events.
    final class Collector: Sendable {
        let events = Mutex<[PeerEvent]>([])
        init(_ network: PeerNetwork) {
            Task { for await event in network.events { self.events.withLock { $0.append(event) } } }
        }
        var connections: Int { events.withLock { $0.filter { if case .connected = $0 { true } else { false } }.count } }
        var disconnections: Int { events.withLock { $0.filter { if case .disconnected = $0 { true } else { false } }.count } }
        var heights: [UInt64] {
            events.withLock { $0.compactMap { if case .message(_, .status(let h)) = $0 { h } else { nil } } }
        }
        var transactions: Int {
            events.withLock { $0.filter { if case .message(_, .transaction) = $0 { true } else { false } }.count }
        }
        var blobs: Int {
            events.withLock { $0.reduce(0) { if case .message(_, .blobResponse(let blobs)) = $1 { $0 + blobs.count } else { $0 } } }
        }
    }

    func wait(_ seconds: Double = 5, until condition: () -> Bool) async throws {
        for _ in 0..<Int(seconds * 50) where !condition() { try await Task.sleep(for: .milliseconds(20)) }
    }

    @Test("the lower id dials; messages arrive in order; the dialer reconnects to a restarted peer")
    func connectAndReconnect() async throws {
        let serverB = try network(b, port: 0, peers: [])
        let received = Collector(serverB)
        let port = try await serverB.start(height: 5)
        let dialer = try network(a, port: 0, peers: [(b.id, "127.0.0.1", port)])
        let seen = Collector(dialer)
        try await dialer.start(height: 3)
        try await wait { dialer.connectedPeers == [b.id] && serverB.connectedPeers == [a.id] }
        #expect(dialer.connectedPeers == [b.id] && serverB.connectedPeers == [a.id])
        for height in 1...200 { dialer.send(.status(height: UInt64(height)), to: b.id) }
        try await wait { received.heights.count == 200 }
        #expect(received.heights == Array(1...200), "in order, none lost")

        // B goes away; A notices; a new B on the same port is reconnected to by A.
        await serverB.stop()
        try await wait { seen.disconnections == 1 }
        #expect(seen.disconnections == 1 && dialer.connectedPeers.isEmpty)
        let restartedB = try network(b, port: port, peers: [])
        try await restartedB.start(height: 6)
        // The connection is registered before its event reaches the collector's task: wait for both.
        try await wait { dialer.connectedPeers == [b.id] && seen.connections == 2 }
        #expect(dialer.connectedPeers == [b.id] && seen.connections == 2, "reconnected after the peer came back")
        await dialer.stop()
        await restartedB.stop()
    }

    /// A consortium member that completes the handshake, then stops reading.
    final class Sleeper: ChannelInboundHandler, Sendable {
        typealias InboundIn = WireMessage
        let hello: Hello
        init(hello: Hello) { self.hello = hello }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            context.writeAndFlush(NIOAny(ByteBuffer(bytes: WireMessage.hello(hello).frame)), promise: nil)
            _ = context.channel.setOption(ChannelOptions.autoRead, value: false)
        }
    }

    @Test("a peer that stops reading: gossip to it is dropped above the bound, and it is cut at twice the bound")
    func backpressure() async throws {
        let tls = try NIOSSLContext(configuration: ConsortiumPKI.tlsConfiguration(
            identity: b.identity, authority: authority.certificatePEM, server: true))
        let hello = Hello(chainID: policy.chainID, genesis: policy.genesis, node: b.id, height: 0)
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelOption(ChannelOptions.socketOption(.so_rcvbuf), value: 16_384)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        NIOSSLServerHandler(context: tls), ByteToMessageHandler(FrameDecoder()), Sleeper(hello: hello),
                    ])
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(listener.localAddress?.port)
        let bound = 256 << 10
        let sender = try network(a, port: 0, peers: [(b.id, "127.0.0.1", port)], queue: bound)
        try await sender.start(height: 0)
        try await wait { sender.connectedPeers == [b.id] }
        #expect(sender.connectedPeers == [b.id])

        // 32 KiB transactions: the socket buffers fill, then the queue, then gossip is dropped.
        let transaction = WireMessage.transaction([UInt8](repeating: 0xAB, count: 32 << 10))
        for _ in 0..<2_000 { sender.send(transaction, to: b.id) }
        try await Task.sleep(for: .milliseconds(200))
        #expect(sender.statistics.dropped > 0, "gossip above the bound is dropped")
        #expect(sender.connectedPeers == [b.id], "dropping gossip does not disconnect")

        // Consensus-sized messages are not droppable: past twice the bound the peer is disconnected.
        let samples = try sampleMessages()
        guard case .blockResponse(let blocks)? = samples.first(where: { $0.kind == .blockResponse }) else {
            Issue.record("no block response sample")
            return
        }
        let response = WireMessage.blockResponse(Array(repeating: blocks[0], count: 64))
        for _ in 0..<2_000 where !sender.connectedPeers.isEmpty { sender.send(response, to: b.id) }
        try await wait { sender.connectedPeers.isEmpty }
        #expect(sender.connectedPeers.isEmpty && sender.statistics.slowDisconnects >= 1, "a peer that does not read is cut")
        await sender.stop()
        try? await listener.close()
    }

    /// A (sender, dialing) connected to B (receiver, configured by `tune`), with B's events collected.
    func connectedPair(tune: (inout PeerNetwork.Configuration) -> Void) async throws -> (PeerNetwork, PeerNetwork, Collector) {
        let receiver = try network(b, port: 0, peers: [], tune: tune)
        let received = Collector(receiver)
        let port = try await receiver.start(height: 0)
        let sender = try network(a, port: 0, peers: [(b.id, "127.0.0.1", port)])
        try await sender.start(height: 0)
        try await wait { sender.connectedPeers == [b.id] && receiver.connectedPeers == [a.id] }
        return (sender, receiver, received)
    }

    @Test("a peer over its transaction rate has the excess dropped on arrival; its other messages still arrive")
    func transactionRate() async throws {
        let (sender, receiver, received) = try await connectedPair {
            $0.peerTransactionsPerSecond = 10
            $0.peerTransactionsBurst = 10
        }
        let started = ContinuousClock.now
        for n in 0..<200 { sender.send(.transaction([UInt8(n % 256), 1, 2, 3]), to: b.id) }
        sender.send(.status(height: 99), to: b.id)
        try await wait(20) { received.heights.contains(99) }
        let duration = ContinuousClock.now - started
        let elapsed = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        #expect(received.heights.contains(99), "the status after the flood arrived")
        let throttled = receiver.statistics.throttled[a.id]?.transactions ?? 0
        #expect(received.transactions + throttled == 200, "each transaction either delivered or counted as throttled")
        #expect(received.transactions >= 10 && Double(received.transactions) <= 11 + 10 * elapsed,
                "\(received.transactions) delivered in \(elapsed) s at 10 a second after a burst of 10")
        await sender.stop()
        await receiver.stop()
    }

    @Test("a peer over its byte rate is read more slowly (TCP backpressure), and nothing it sent is lost")
    func byteRate() async throws {
        let (sender, receiver, received) = try await connectedPair {
            $0.peerBytesPerSecond = Double(256 << 10)
            $0.peerBytesBurst = Double(64 << 10)
        }
        let started = ContinuousClock.now
        // 1 MiB in eight blob responses, then a status: at 256 KiB a second after 64 KiB at once, at least 3.7 s.
        for n in 0..<8 { sender.send(.blobResponse([[UInt8](repeating: UInt8(n), count: 128 << 10)]), to: b.id) }
        sender.send(.status(height: 7), to: b.id)
        try await wait(30) { received.heights.contains(7) }
        let elapsed = ContinuousClock.now - started
        #expect(received.blobs == 8 && received.heights.contains(7), "nothing lost: \(received.blobs) blobs")
        #expect(elapsed >= .seconds(3), "read at the peer's byte rate: \(elapsed)")
        let throttled = receiver.statistics.throttled[a.id] ?? PeerNetwork.Throttled()
        #expect(throttled.readPauses >= 1 && throttled.readPausedMillis >= 2_000, "\(throttled)")
        #expect(receiver.connectedPeers == [a.id], "a throttled peer stays connected")
        await sender.stop()
        await receiver.stop()
    }

    func presentedCertificate(port: Int) async throws -> [UInt8]? {
        try await ConsortiumPKI.presentedCertificate(host: "127.0.0.1", port: port, client: a.identity, authority: authority.certificatePEM)
    }

    func der(_ identity: PEMIdentity) throws -> [UInt8] {
        try NIOSSLCertificate.fromPEMBytes(Array(identity.certificatePEM.utf8))[0].toDERBytes()
    }

    @Test("a reloaded certificate is presented on new connections while open ones stay up; a wrong one is refused and the old kept")
    func certificateReload() async throws {
        let receiver = try network(b, port: 0, peers: [])
        let received = Collector(receiver)
        let port = try await receiver.start(height: 0)
        let sender = try network(a, port: 0, peers: [(b.id, "127.0.0.1", port)])
        try await sender.start(height: 0)
        try await wait { sender.connectedPeers == [b.id] && receiver.connectedPeers == [a.id] }
        #expect(try await presentedCertificate(port: port) == (try der(b.identity)))

        let fresh = try ConsortiumPKI.issueNodeCertificate(node: b.id, organization: "B", authority: authority, days: 10)
        try receiver.reloadIdentity(fresh)
        #expect(try await presentedCertificate(port: port) == (try der(fresh)), "new connections get the new certificate")
        sender.send(.status(height: 41), to: b.id)
        try await wait { received.heights.contains(41) }
        #expect(received.heights.contains(41) && receiver.connectedPeers == [a.id], "the open connection was not interrupted")

        // Refused, each keeping the fresh certificate: another node's, another CA's, one whose key is not its own,
        // and an expired one.
        let otherCA = try ConsortiumPKI.makeAuthority(name: "another CA")
        let mismatched = PEMIdentity(certificatePEM: fresh.certificatePEM, privateKeyPEM: b.identity.privateKeyPEM)
        let expired = try ConsortiumPKI.issueNodeCertificate(node: b.id, organization: "B", authority: authority,
                                                            now: Date().addingTimeInterval(-30 * 86_400), days: 10)
        for (name, identity, reason) in [
            ("another node's", a.identity, "does not name this node"),
            ("another CA's", try ConsortiumPKI.issueNodeCertificate(node: b.id, organization: "B", authority: otherCA), "not signed by the consortium CA"),
            ("mismatched key", mismatched, "not the certificate's"), ("expired", expired, "not valid now"),
        ] {
            #expect("\(name)", performing: { try receiver.reloadIdentity(identity) }, throws: { "\($0)".contains(reason) })
        }
        #expect(try await presentedCertificate(port: port) == (try der(fresh)))
        await sender.stop()
        await receiver.stop()
    }
}
