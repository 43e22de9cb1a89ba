// Mutual TLS between consortium nodes, over real loopback sockets (Docs/protocol.md, "Connections").
//
// Covers: two nodes with certificates from the consortium CA complete a TLS 1.3 handshake, exchange hello frames,
// and each reads the other's node id from its certificate, matching the hello; a node whose certificate comes from
// another CA, or that presents none, is refused by the handshake and delivers nothing; a certificate names its node.
import Encoding
import NIOCore
import NIOPosix
import NIOSSL
import P2P
import Synchronization
import Testing
import TwinCrypto

/// Collects the messages a connection receives, with the peer's node id from its certificate.
final class Inbox: ChannelInboundHandler, Sendable {
    typealias InboundIn = WireMessage
    struct State {
        var messages: [WireMessage] = []
        var peer: Hash32?
        var errors: [String] = []
    }

    let state = Mutex(State())

    var messages: [WireMessage] { state.withLock { $0.messages } }
    var peer: Hash32? { state.withLock { $0.peer } }
    var errors: [String] { state.withLock { $0.errors } }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let message = unwrapInboundIn(data)
        let certificate = try? context.pipeline.syncOperations.handler(type: NIOSSLHandler.self).peerCertificate
        let peer = certificate.flatMap { try? $0.toDERBytes() }.flatMap { ConsortiumPKI.nodeID(certificateDER: $0) }
        state.withLock {
            $0.messages.append(message)
            $0.peer = peer
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        state.withLock { $0.errors.append("\(error)") }
        context.close(promise: nil)
    }
}

@Suite("Mutual TLS")
struct MutualTLSTests {
    struct Node {
        let id: Hash32
        let identity: PEMIdentity
    }

    func node(_ name: String, authority: PEMIdentity) throws -> Node {
        let id = Hashing.sha3(Array(name.utf8))
        return Node(id: id, identity: try ConsortiumPKI.issueNodeCertificate(node: id, organization: name, authority: authority))
    }

    func pipeline(_ channel: Channel, _ tls: NIOSSLContext, server: Bool, _ inbox: Inbox) throws {
        let handler: ChannelHandler = server ? NIOSSLServerHandler(context: tls) : try NIOSSLClientHandler(context: tls, serverHostname: nil)
        try channel.pipeline.syncOperations.addHandlers([
            handler, ByteToMessageHandler(FrameDecoder()), MessageToByteHandler(FrameEncoder()), inbox,
        ])
    }

    /// Runs a server for `serverNode` and connects `client`'s identity to it (trusting `clientAuthority`); sends a
    /// hello each way; returns both inboxes after a moment.
    func exchange(server serverNode: Node, client: PEMIdentity?, clientID: Hash32, authority: PEMIdentity,
                  clientAuthority: PEMIdentity) async throws -> (server: Inbox, client: Inbox) {
        let group = MultiThreadedEventLoopGroup.singleton
        let serverInbox = Inbox(), clientInbox = Inbox()
        let serverTLS = try NIOSSLContext(configuration: ConsortiumPKI.tlsConfiguration(
            identity: serverNode.identity, authority: authority.certificatePEM, server: true))
        var clientConfiguration: TLSConfiguration
        if let client {
            clientConfiguration = try ConsortiumPKI.tlsConfiguration(identity: client, authority: clientAuthority.certificatePEM, server: false)
        } else {
            clientConfiguration = TLSConfiguration.makeClientConfiguration()
            clientConfiguration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(clientAuthority.certificatePEM.utf8)))
            clientConfiguration.certificateVerification = .noHostnameVerification
        }
        let clientTLS = try NIOSSLContext(configuration: clientConfiguration)
        let listener = try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try self.pipeline(channel, serverTLS, server: true, serverInbox)
                    _ = channel.writeAndFlush(WireMessage.hello(Hello(chainID: "c", genesis: .zero, node: serverNode.id, height: 1)))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { try? listener.close().wait() }
        let port = try #require(listener.localAddress?.port)
        let connection = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try self.pipeline(channel, clientTLS, server: false, clientInbox) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        try? await connection.writeAndFlush(WireMessage.hello(Hello(chainID: "c", genesis: .zero, node: clientID, height: 2))).get()
        for _ in 0..<100 where serverInbox.messages.isEmpty || clientInbox.messages.isEmpty {
            try await Task.sleep(for: .milliseconds(20))
        }
        try? await connection.close().get()
        return (serverInbox, clientInbox)
    }

    @Test("consortium nodes handshake, exchange hellos and read each other's node id from the certificate")
    func mutualHandshake() async throws {
        let authority = try ConsortiumPKI.makeAuthority(name: "test consortium CA")
        let a = try node("HOSP_A", authority: authority), b = try node("HOSP_B", authority: authority)
        let (server, client) = try await exchange(server: a, client: b.identity, clientID: b.id, authority: authority, clientAuthority: authority)
        guard case .hello(let fromClient)? = server.messages.first, case .hello(let fromServer)? = client.messages.first else {
            Issue.record("no hellos: server \(server.messages) \(server.errors), client \(client.messages) \(client.errors)")
            return
        }
        #expect(fromClient.node == b.id && server.peer == b.id, "the server knows the client is node B from its certificate")
        #expect(fromServer.node == a.id && client.peer == a.id)
    }

    @Test("a node with a certificate from another CA, or with none, is refused and delivers nothing")
    func rogueRefused() async throws {
        let authority = try ConsortiumPKI.makeAuthority(name: "test consortium CA")
        let rogueAuthority = try ConsortiumPKI.makeAuthority(name: "rogue CA")
        let a = try node("HOSP_A", authority: authority)
        let rogue = try node("ROGUE", authority: rogueAuthority)
        // The rogue trusts the real CA (it knows whom it attacks), but its own certificate chains to another.
        let (server, _) = try await exchange(server: a, client: rogue.identity, clientID: rogue.id, authority: authority, clientAuthority: authority)
        #expect(server.messages.isEmpty, "nothing from a rogue reaches the node")
        #expect(!server.errors.isEmpty, "the handshake failed on the server side")
        let (serverNoCert, _) = try await exchange(server: a, client: nil, clientID: rogue.id, authority: authority, clientAuthority: authority)
        #expect(serverNoCert.messages.isEmpty && !serverNoCert.errors.isEmpty)
    }

    @Test("a node certificate names its node; the CA's does not")
    func certificateNamesNode() throws {
        let authority = try ConsortiumPKI.makeAuthority(name: "test consortium CA")
        let a = try node("HOSP_A", authority: authority)
        let der = try NIOSSLCertificate.fromPEMBytes(Array(a.identity.certificatePEM.utf8))[0].toDERBytes()
        #expect(ConsortiumPKI.nodeID(certificateDER: der) == a.id)
        let caDER = try NIOSSLCertificate.fromPEMBytes(Array(authority.certificatePEM.utf8))[0].toDERBytes()
        #expect(ConsortiumPKI.nodeID(certificateDER: caDER) == nil)
        #expect(ConsortiumPKI.nodeID(certificateDER: [0x30, 0x03, 0x02, 0x01, 0x00]) == nil)
    }
}
