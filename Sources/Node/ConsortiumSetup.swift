import Encoding
import Foundation
import P2P
import TwinCrypto

/// A consortium definition (`Network/local.json`, format in Network/README.md): the chain id and, per node, its name,
/// organization, role and addresses. `twinledger net init` turns it into a CA, node homes and a genesis.
public struct ConsortiumDefinition: Codable, Sendable, Hashable {
    public enum Role: String, Codable, Sendable, Hashable {
        /// Votes in consensus.
        case validator
        /// Follows the chain by block sync, serves the API, replicates blobs; does not vote.
        case follower
    }

    public struct NodeSpec: Codable, Sendable, Hashable {
        public var name: String
        public var organization: String
        public var role: Role
        public var host: String
        public var apiPort: Int
        public var p2pPort: Int
        /// The address peers dial (default `host`): set it when the node listens on 0.0.0.0.
        public var advertise: String?
        enum CodingKeys: String, CodingKey {
            case name, organization, role, host, advertise
            case apiPort = "api_port"
            case p2pPort = "p2p_port"
        }
    }

    public var chainID: String
    public var nodes: [NodeSpec]
    enum CodingKeys: String, CodingKey {
        case nodes
        case chainID = "chain_id"
    }

    public static func load(_ path: String) throws(NodeError) -> ConsortiumDefinition {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw NodeError("cannot read \(path): \(error.localizedDescription)")
        }
        let definition: ConsortiumDefinition
        do { definition = try JSONDecoder().decode(ConsortiumDefinition.self, from: data) } catch {
            throw NodeError("\(path) is not a consortium definition: \(error)")
        }
        try definition.check()
        return definition
    }

    func check() throws(NodeError) {
        guard !chainID.isEmpty, chainID.utf8.count <= 64 else { throw NodeError("chain_id must be 1-64 bytes") }
        guard nodes.contains(where: { $0.role == .validator }) else { throw NodeError("a consortium needs a validator") }
        var names = Set<String>(), addresses = Set<String>()
        for node in nodes {
            guard node.name.range(of: "^[a-z0-9][a-z0-9-]{0,31}$", options: .regularExpression) != nil else {
                throw NodeError("node name \"\(node.name)\": use 1-32 of a-z, 0-9 and -")
            }
            guard node.organization.range(of: "^[A-Za-z0-9_-]{1,64}$", options: .regularExpression) != nil else {
                throw NodeError("node \(node.name): organization must be [A-Za-z0-9_-]{1,64}")
            }
            guard names.insert(node.name).inserted else { throw NodeError("node name \(node.name) appears twice") }
            for port in [node.apiPort, node.p2pPort] {
                guard (1...65535).contains(port), addresses.insert("\(node.host):\(port)").inserted else {
                    throw NodeError("node \(node.name): port \(port) is out of range or already used on \(node.host)")
                }
            }
        }
    }
}

/// Creates a consortium from a definition (Docs/operations.md, "A consortium"): under `home`, `ca/` (the CA
/// certificate and its key, which stays with whoever runs this), `genesis.json`, and one node home per node with
/// its config, genesis, node key, organization key (in the first node of each organization), certificate and TLS key.
/// Key files are mode 0600; nothing written here belongs in version control.
public enum ConsortiumSetup {
    public struct Created: Sendable {
        public var genesis: GenesisFile
        /// Node name → home directory.
        public var homes: [(name: String, path: String)]
    }

    public static func create(_ definition: ConsortiumDefinition, home: String, genesisTimeMillis: UInt64) throws -> Created {
        try definition.check()
        let manager = FileManager.default
        guard !manager.fileExists(atPath: home + "/genesis.json") else {
            throw NodeError("\(home) already holds a consortium (genesis.json); remove it or choose another home")
        }
        let secret: [FileAttributeKey: Any] = [.posixPermissions: 0o700]
        try manager.createDirectory(atPath: home + "/ca", withIntermediateDirectories: true, attributes: secret)
        let authority = try ConsortiumPKI.makeAuthority(name: "\(definition.chainID) consortium CA")
        try write(authority.certificatePEM, to: home + "/ca/ca.pem", mode: 0o644)
        try write(authority.privateKeyPEM, to: home + "/ca/ca.key", mode: 0o600)

        var nodeKeys: [SecretKey] = []
        var organizationKeys: [String: SecretKey] = [:]
        var organizationOrder: [String] = []
        for node in definition.nodes {
            nodeKeys.append(try SecretKey())
            if organizationKeys[node.organization] == nil {
                organizationKeys[node.organization] = try SecretKey()
                organizationOrder.append(node.organization)
            }
        }
        let genesis = GenesisFile(
            chainID: definition.chainID, genesisTimeMillis: genesisTimeMillis,
            organizations: organizationOrder.compactMap { name in
                organizationKeys[name].map { .init(name: name, publicKey: $0.publicKey.hex) }
            },
            validators: zip(definition.nodes, nodeKeys).filter { $0.0.role == .validator }.map {
                .init(name: $0.0.name, publicKey: $0.1.publicKey.hex, power: 10)
            },
            consortium: .init(
                certificateAuthority: authority.certificatePEM,
                nodes: zip(definition.nodes, nodeKeys).map {
                    .init(name: $0.0.name, organization: $0.0.organization, publicKey: $0.1.publicKey.hex)
                }
            )
        )
        _ = try genesis.nodeIDs()
        try genesis.save(home + "/genesis.json")

        var homes: [(String, String)] = []
        var organizationPlaced = Set<String>()
        for (index, node) in definition.nodes.enumerated() {
            let paths = NodeHome(home + "/" + node.name)
            try manager.createDirectory(atPath: paths.keys, withIntermediateDirectories: true, attributes: secret)
            try manager.createDirectory(atPath: paths.tls, withIntermediateDirectories: true, attributes: secret)
            try manager.createDirectory(atPath: paths.data, withIntermediateDirectories: true)
            let key = nodeKeys[index]
            try KeyFile.save(key, to: paths.validatorKey, role: node.role == .validator ? "validator" : "node")
            if organizationPlaced.insert(node.organization).inserted, let organizationKey = organizationKeys[node.organization] {
                try KeyFile.save(organizationKey, to: paths.organizationKey(node.organization), role: "organization")
            }
            let certificate = try ConsortiumPKI.issueNodeCertificate(
                node: key.publicKey.keyID, organization: node.organization, authority: authority)
            try write(certificate.certificatePEM, to: paths.tlsCertificate, mode: 0o644)
            try write(certificate.privateKeyPEM, to: paths.tlsKey, mode: 0o600)
            try genesis.save(paths.genesis)
            let peers = zip(definition.nodes, nodeKeys).enumerated().filter { $0.offset != index }.map { _, pair in
                "\(pair.1.publicKey.keyID.hex)@\(pair.0.advertise ?? pair.0.host):\(pair.0.p2pPort)"
            }
            let config = NodeConfig.defaults(
                moniker: node.name, port: node.apiPort,
                p2p: .init(listenHost: node.host, listenPort: node.p2pPort, peers: peers, sendQueueBytesMax: 32 << 20,
                           peerTransactionsPerSecond: Int(PeerDefaults.transactionsPerSecond), peerTransactionsBurst: Int(PeerDefaults.transactionsBurst),
                           peerBytesPerSecond: Int(PeerDefaults.bytesPerSecond), peerBytesBurst: Int(PeerDefaults.bytesBurst),
                           tlsExpiryWarningDays: 30)
            )
            var withHost = config
            withHost.api.host = node.host
            // Nodes sharing a host (the local consortium) share its cores: one thread each.
            withHost.node.threads = definition.nodes.filter { $0.host == node.host }.count > 1 ? 1 : 0
            try withHost.toml().write(toFile: paths.config, atomically: true, encoding: .utf8)
            homes.append((node.name, paths.path))
        }
        return Created(genesis: genesis, homes: homes)
    }

    static func write(_ text: String, to path: String, mode: Int) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: mode]) else {
            throw NodeError("cannot write \(path)")
        }
    }
}
