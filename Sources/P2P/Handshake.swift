import Encoding

/// What a node requires of a peer's `hello` (Docs/protocol.md, "Connections"): a protocol version it speaks, the chain id
/// and genesis, a node id that is the one its TLS certificate names, and a node listed in the genesis.
public struct HandshakePolicy: Sendable, Hashable {
    public var chainID: String
    public var genesis: Hash32
    /// Key ids of the consortium's nodes (validators and followers), from the genesis.
    public var nodes: Set<Hash32>

    public init(chainID: String, genesis: Hash32, nodes: Set<Hash32>) {
        (self.chainID, self.genesis, self.nodes) = (chainID, genesis, nodes)
    }

    /// Accepts `hello` from a peer whose certificate names `certified`; throws why not.
    public func check(_ hello: Hello, certified: Hash32?) throws(WireError) {
        guard Hello.protocolVersions.contains(hello.protocolVersion) else {
            throw WireError(.refusedPeer, "protocol version \(hello.protocolVersion), this node speaks \(Hello.protocolVersions)")
        }
        guard hello.chainID == chainID else { throw WireError(.refusedPeer, "peer is on chain \(hello.chainID)") }
        guard hello.genesis == genesis else { throw WireError(.refusedPeer, "peer has another genesis") }
        guard let certified, certified == hello.node else {
            throw WireError(.refusedPeer, "the hello names node \(hello.node.hex.prefix(16))…, the certificate another")
        }
        guard nodes.contains(hello.node) else {
            throw WireError(.refusedPeer, "node \(hello.node.hex.prefix(16))… is not in the genesis")
        }
    }
}
