// Who may join a consortium, checked against real node processes (Docs/protocol.md, "Connections").
//
// Covers: a node whose certificate comes from another CA, one whose certificate comes from the consortium CA but
// names a node that is not in the genesis, and a consortium node started with a different genesis, each never
// becomes a peer of the consortium's nodes (their peer counts stay, the refusal is counted in /metrics) and the
// rogue process follows nothing (height 0, no peers).
import Encoding
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Node
import P2P
import TestSupport
import Testing
import TwinCrypto

@Suite("Rogue peers (real processes)", .serialized, .realProcesses)
struct RoguePeerTests {
    /// An in-process peer network for node `id` with `identity` that dials `target`.
    func dial(_ target: ConsortiumProcesses.Member, id: Hash32, identity: PEMIdentity, authority: String,
              genesis: Hash32, chainID: String) async throws -> PeerNetwork {
        let node = try KeyFile.load(from: target.home + "/keys/validator.key")
        var configuration = PeerNetwork.Configuration(
            me: id, policy: HandshakePolicy(chainID: chainID, genesis: genesis, nodes: [node.publicKey.keyID]),
                  identity: identity, authority: authority, listenHost: "127.0.0.1", listenPort: 0,
                  peers: [(node.publicKey.keyID, "127.0.0.1", target.p2pPort)])
        configuration.dialAll = true
        let network = try PeerNetwork(configuration, logger: Logger(label: "rogue"))
        try await network.start(height: 0)
        return network
    }

    @Test("another CA's certificate, a consortium certificate for a node not in the genesis, and a wrong genesis are refused")
    func roguesRefused() async throws {
        let dir = try makeTemporaryDirectory("rogues")
        defer { removeTemporaryDirectory(dir) }
        let net = try ConsortiumProcesses(dir, validators: 2, followers: 1)
        defer { net.stopAll() }
        try net.start("v0")
        try net.start("v1")
        try await net.waitHealthy("v0")
        try await net.waitHealthy("v1")
        try await net.waitHeight(["v0", "v1"], atLeast: 1)
        let v0 = net.member("v0")
        let genesis = try GenesisFile.load(v0.home + "/genesis.json")
        let authority = try String(contentsOfFile: dir + "/net/ca/ca.pem", encoding: .utf8)
        let caKey = try String(contentsOfFile: dir + "/net/ca/ca.key", encoding: .utf8)
        let follower = try KeyFile.load(from: net.member("f0").home + "/keys/validator.key").publicKey.keyID
        #expect(try await net.health("v0").peers == 1)

        // 1. Another CA's certificate, naming a real consortium node (an impersonation attempt).
        let rogueCA = try ConsortiumPKI.makeAuthority(name: "rogue CA")
        let impostor = try ConsortiumPKI.issueNodeCertificate(node: follower, organization: "ORG_2", authority: rogueCA)
        // 2. The consortium CA's certificate (say, a leaked CA key) for a node the genesis does not name.
        let outsiderID = Hashing.sha3(Array("outsider".utf8))
        let outsider = try ConsortiumPKI.issueNodeCertificate(
            node: outsiderID, organization: "ORG_X", authority: PEMIdentity(certificatePEM: authority, privateKeyPEM: caKey))
        let refusedBefore = try await net.metric("v0", "twinledger_p2p_refused_total")
        for (name, identity, id) in [("impostor", impostor, follower), ("outsider", outsider, outsiderID)] {
            let rogue = try await dial(v0, id: id, identity: identity, authority: authority, genesis: genesis.fingerprint, chainID: genesis.chainID)
            try await Task.sleep(for: .milliseconds(1_500))
            #expect(rogue.connectedPeers.isEmpty, "the \(name) got a connection")
            await rogue.stop()
        }
        try await Task.sleep(for: .milliseconds(600))  // the node reports network counters every 500 ms
        #expect(try await net.metric("v0", "twinledger_p2p_refused_total") >= refusedBefore + 2, "v0 counted the refusals")
        #expect(try await net.health("v0").peers == 1, "only v1 is v0's peer")

        // 3. A consortium node (real certificate and key) started with another genesis: refused by the hello check.
        let f0 = net.member("f0")
        var other = genesis
        other.genesisTimeMillis += 1
        try other.save(f0.home + "/genesis.json")
        try net.start("f0")
        try await net.waitHealthy("f0")
        try await Task.sleep(for: .milliseconds(2_000))
        let f0Health = try await net.health("f0")
        #expect(f0Health.peers == 0 && f0Health.height == 0, "a node with a wrong genesis joins nothing and follows nothing")
        let (v0Peers, v1Peers) = (try await net.health("v0").peers, try await net.health("v1").peers)
        #expect(v0Peers == 1 && v1Peers == 1)
        net.stop("f0")

        // 4. The same node with its real genesis but a certificate from another CA cannot join either.
        try genesis.save(f0.home + "/genesis.json")
        let rogueCert = try ConsortiumPKI.issueNodeCertificate(node: follower, organization: "ORG_2", authority: rogueCA)
        try rogueCert.certificatePEM.write(toFile: f0.home + "/tls/node.pem", atomically: true, encoding: .utf8)
        try rogueCert.privateKeyPEM.write(toFile: f0.home + "/tls/node.key", atomically: true, encoding: .utf8)
        try net.start("f0")
        try await net.waitHealthy("f0")
        try await Task.sleep(for: .milliseconds(2_000))
        let rogueHealth = try await net.health("f0")
        #expect(rogueHealth.peers == 0 && rogueHealth.height == 0, "a node with a rogue certificate joins nothing")
        #expect(try await net.health("v0").peers == 1)
    }
}

@Suite("Garbage from peers (real processes)", .serialized, .realProcesses)
struct GarbagePeerTests {
    /// Opens a TLS connection to `port` with `identity` (trusting `authority`), writes `chunks` one after another,
    /// and returns whether the node closed the connection within 3 s.
    func deliver(_ chunks: [[UInt8]], port: Int, identity: PEMIdentity, authority: String) async throws -> Bool {
        let tls = try NIOSSLContext(configuration: ConsortiumPKI.tlsConfiguration(identity: identity, authority: authority, server: false))
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: nil))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        for chunk in chunks { try? await channel.writeAndFlush(ByteBuffer(bytes: chunk)) }
        for _ in 0..<60 where channel.isActive { try await Task.sleep(for: .milliseconds(50)) }
        let closed = !channel.isActive
        try? await channel.close()
        return closed
    }

    @Test("a consortium member that sends garbage, a bad length or a malformed message after its hello is disconnected; the node goes on")
    func garbageDisconnects() async throws {
        let dir = try makeTemporaryDirectory("garbage")
        defer { removeTemporaryDirectory(dir) }
        let net = try ConsortiumProcesses(dir, validators: 1, followers: 1)
        defer { net.stopAll() }
        try net.start("v0")
        try await net.waitHealthy("v0")
        let v0 = net.member("v0"), f0 = net.member("f0")
        let genesis = try GenesisFile.load(v0.home + "/genesis.json")
        let identity = PEMIdentity(
            certificatePEM: try String(contentsOfFile: f0.home + "/tls/node.pem", encoding: .utf8),
            privateKeyPEM: try String(contentsOfFile: f0.home + "/tls/node.key", encoding: .utf8))
        let authority = genesis.consortium?.certificateAuthority ?? ""
        let f0ID = try KeyFile.load(from: f0.home + "/keys/validator.key").publicKey.keyID
        let hello = WireMessage.hello(Hello(chainID: genesis.chainID, genesis: genesis.fingerprint, node: f0ID, height: 0)).frame
        var random = SeededRandom(seed: testSeed())
        let cases: [(String, [[UInt8]])] = [
            ("random bytes after the hello", [hello, random.bytes(4_096)]),
            ("a frame longer than 16 MiB", [hello, [0x01, 0x00, 0x00, 0x01, 0x03]]),
            ("an unknown message type", [hello, [0x00, 0x00, 0x00, 0x02, 0x63, 0x01]]),
            ("a malformed vote", [hello, [0x00, 0x00, 0x00, 0x04, 0x04, 0x01, 0xFF, 0xFF]]),
            ("a second hello", [hello, hello]),
            ("no hello first", [WireMessage.status(height: 1).frame]),
        ]
        // The control: the same member with a hello and a valid message keeps its connection (so the closes below
        // are the garbage's doing, not the handshake's).
        #expect(try await deliver([hello, WireMessage.status(height: 0).frame], port: v0.p2pPort, identity: identity, authority: authority) == false,
                "a well-behaved member was disconnected")
        for (name, chunks) in cases {
            let closed = try await deliver(chunks, port: v0.p2pPort, identity: identity, authority: authority)
            #expect(closed, "v0 kept a connection that sent \(name)")
            #expect(try await net.health("v0").status == "ok", "v0 is unwell after \(name)")
        }
        // Plain TCP garbage at the TLS port: the handshake fails, the node goes on.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = loopback(port: v0.p2pPort)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        let junk = random.bytes(2_048)
        _ = junk.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        close(fd)
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await net.health("v0").status == "ok")
        // The real follower still joins and follows.
        try net.start("f0")
        try await net.waitHealthy("f0")
        try await net.waitHeight(["f0"], atLeast: try await net.height("v0"))
        #expect(try await net.metric("v0", "twinledger_p2p_refused_total") >= Double(cases.count))
    }
}
