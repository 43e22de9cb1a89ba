// The hello check: the same protocol, chain and genesis, the node id its certificate names, a node of the genesis.
import Encoding
import P2P
import TwinCrypto
import Testing

@Suite("Handshake policy")
struct HandshakeTests {
    let a = Hashing.sha3([1]), b = Hashing.sha3([2]), stranger = Hashing.sha3([3])
    var policy: HandshakePolicy { HandshakePolicy(chainID: "chain", genesis: Hashing.sha3([9]), nodes: [a, b]) }

    func refused(_ hello: Hello, certified: Hash32?) -> Bool {
        do { try policy.check(hello, certified: certified) } catch { return error.code == .refusedPeer }
        return false
    }

    @Test("a consortium node with matching hello and certificate is accepted; every mismatch is refused")
    func checks() throws {
        let good = Hello(chainID: "chain", genesis: Hashing.sha3([9]), node: b, height: 3)
        try policy.check(good, certified: b)
        var other = good
        other.chainID = "other"
        #expect(refused(other, certified: b))
        other = good
        other.genesis = .zero
        #expect(refused(other, certified: b))
        other = good
        other.protocolVersion = 3
        #expect(refused(other, certified: b))
        other.protocolVersion = 0
        #expect(refused(other, certified: b))
        other.protocolVersion = 1  // a node of 0.5, before shadow replication: accepted, never sent blob messages
        try policy.check(other, certified: b)
        #expect(refused(good, certified: a), "the certificate names another node")
        #expect(refused(good, certified: nil), "no node named by the certificate")
        other = good
        other.node = stranger
        #expect(refused(other, certified: stranger), "certified, but not in the genesis")
    }
}
