import ABE
import Encoding
import Foundation
import Ledger
import TwinCrypto

/// `genesis.json`: the consortium's starting point (format in Genesis/README.md). Nothing in it is secret.
public struct GenesisFile: Codable, Sendable, Hashable {
    public struct OrganizationEntry: Codable, Sendable, Hashable {
        public var name: String
        public var publicKey: String
        enum CodingKeys: String, CodingKey {
            case name
            case publicKey = "public_key"
        }
        public init(name: String, publicKey: String) {
            self.name = name
            self.publicKey = publicKey
        }
    }

    public struct ValidatorEntry: Codable, Sendable, Hashable {
        public var name: String
        public var publicKey: String
        public var power: UInt64
        enum CodingKeys: String, CodingKey {
            case name, power
            case publicKey = "public_key"
        }
        public init(name: String, publicKey: String, power: UInt64) {
            (self.name, self.publicKey, self.power) = (name, publicKey, power)
        }
    }

    public struct Parameters: Codable, Sendable, Hashable {
        public var breakGlassSeconds: UInt64
        public var emergencyCategories: [String]
        /// RW15's global setup (Docs/abe.md); absent in a file means the standard one, which net init writes out.
        public var abe: ABEGlobalParameters
        enum CodingKeys: String, CodingKey {
            case breakGlassSeconds = "break_glass_seconds"
            case emergencyCategories = "emergency_categories"
            case abe
        }
        public init(breakGlassSeconds: UInt64 = 4 * 3600, emergencyCategories: [String] = ["emergency"],
                    abe: ABEGlobalParameters = .standard) {
            self.breakGlassSeconds = breakGlassSeconds
            self.emergencyCategories = emergencyCategories
            self.abe = abe
        }
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            breakGlassSeconds = try container.decode(UInt64.self, forKey: .breakGlassSeconds)
            emergencyCategories = try container.decode([String].self, forKey: .emergencyCategories)
            abe = try container.decodeIfPresent(ABEGlobalParameters.self, forKey: .abe) ?? .standard
        }
    }

    /// A consortium node: a validator or a follower (a node that follows the chain, serves the API and replicates
    /// blobs without voting). Its node id is the key id of `public_key`, which its TLS certificate names.
    public struct NodeEntry: Codable, Sendable, Hashable {
        public var name: String
        public var organization: String
        public var publicKey: String
        enum CodingKeys: String, CodingKey {
            case name, organization
            case publicKey = "public_key"
        }
        public init(name: String, organization: String, publicKey: String) {
            (self.name, self.organization, self.publicKey) = (name, organization, publicKey)
        }
    }

    /// Who may connect: the consortium CA (PEM) every node certificate chains to, and the nodes.
    public struct Consortium: Codable, Sendable, Hashable {
        public var certificateAuthority: String
        public var nodes: [NodeEntry]
        enum CodingKeys: String, CodingKey {
            case nodes
            case certificateAuthority = "certificate_authority"
        }
        public init(certificateAuthority: String, nodes: [NodeEntry]) {
            (self.certificateAuthority, self.nodes) = (certificateAuthority, nodes)
        }
    }

    public var chainID: String
    public var genesisTimeMillis: UInt64
    public var organizations: [OrganizationEntry]
    public var validators: [ValidatorEntry]
    public var parameters: Parameters
    /// The network's members. Absent in a single-node genesis (`node init`), which runs without peers.
    public var consortium: Consortium?

    enum CodingKeys: String, CodingKey {
        case organizations, validators, parameters, consortium
        case chainID = "chain_id"
        case genesisTimeMillis = "genesis_time_ms"
    }

    public init(
        chainID: String, genesisTimeMillis: UInt64, organizations: [OrganizationEntry], validators: [ValidatorEntry],
        parameters: Parameters = Parameters(), consortium: Consortium? = nil
    ) {
        (self.chainID, self.genesisTimeMillis, self.organizations) = (chainID, genesisTimeMillis, organizations)
        (self.validators, self.parameters, self.consortium) = (validators, parameters, consortium)
    }

    /// Reads and validates a genesis file.
    public static func load(_ path: String) throws(NodeError) -> GenesisFile {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw NodeError("cannot read genesis file \(path): \(error.localizedDescription)")
        }
        let file: GenesisFile
        do { file = try JSONDecoder().decode(GenesisFile.self, from: data) } catch {
            throw NodeError("\(path) is not a valid genesis file: \(error)")
        }
        _ = try file.ledgerGenesis()
        _ = try file.validatorKeys()
        _ = try file.nodeIDs()
        return file
    }

    public func save(_ path: String) throws(NodeError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do { try (try encoder.encode(self) + Data([0x0A])).write(to: URL(fileURLWithPath: path)) } catch {
            throw NodeError("cannot write \(path): \(error)")
        }
    }

    /// The state machine's view: chain id, organizations, parameters, and the validators of height 1.
    public func ledgerGenesis() throws(NodeError) -> LedgerGenesis {
        guard !chainID.isEmpty, chainID.utf8.count <= 64 else { throw NodeError("chain_id must be 1-64 bytes") }
        var organizations: [Organization] = []
        for entry in self.organizations {
            organizations.append(Organization(name: entry.name, key: try Self.key(entry.publicKey, "organization \(entry.name)")))
        }
        var validators: [ValidatorChange] = []
        for entry in self.validators {
            validators.append(ValidatorChange(key: try Self.key(entry.publicKey, "validator \(entry.name)"), power: entry.power))
        }
        return LedgerGenesis(
            chainID: chainID, organizations: organizations,
            parameters: LedgerParameters(
                breakGlassSeconds: parameters.breakGlassSeconds, emergencyCategories: parameters.emergencyCategories,
                abe: parameters.abe
            ),
            validators: validators
        )
    }

    public func validatorKeys() throws(NodeError) -> [PublicKey] {
        guard !validators.isEmpty else { throw NodeError("genesis names no validator") }
        var keys: [PublicKey] = []
        for validator in validators {
            guard validator.power > 0 else { throw NodeError("validator \(validator.name) has no voting power") }
            keys.append(try Self.key(validator.publicKey, "validator \(validator.name)"))
        }
        return keys
    }

    /// Key ids of the consortium's nodes; every validator must be one of them. Empty without a consortium section.
    public func nodeIDs() throws(NodeError) -> Set<Hash32> {
        guard let consortium else { return [] }
        var ids = Set<Hash32>()
        var names = Set<String>()
        for node in consortium.nodes {
            guard names.insert(node.name).inserted else { throw NodeError("node name \(node.name) appears twice") }
            guard ids.insert(try Self.key(node.publicKey, "node \(node.name)").keyID).inserted else {
                throw NodeError("node \(node.name)'s key appears twice")
            }
        }
        for key in try validatorKeys() where !ids.contains(key.keyID) {
            throw NodeError("validator \(key.keyID.hex.prefix(16))… is not one of the consortium's nodes")
        }
        guard consortium.certificateAuthority.contains("-----BEGIN CERTIFICATE-----") else {
            throw NodeError("consortium.certificate_authority must be a PEM certificate")
        }
        return ids
    }

    /// The consortium node with key id `id`.
    public func node(_ id: Hash32) -> NodeEntry? {
        consortium?.nodes.first { Hex.decode($0.publicKey).flatMap { try? PublicKey(bytes: $0) }?.keyID == id }
    }

    /// The genesis fingerprint nodes compare in their handshake: SHA3-256 over the canonical encoding of every
    /// field (Docs/protocol.md, "Connections"), so two files that differ in anything but formatting differ here.
    public var fingerprint: Hash32 {
        var writer = CanonicalWriter()
        writer.write(string: chainID)
        writer.write(uint: genesisTimeMillis)
        writer.write(uint: UInt64(organizations.count))
        for entry in organizations {
            writer.write(string: entry.name)
            writer.write(string: entry.publicKey.lowercased())
        }
        writer.write(uint: UInt64(validators.count))
        for entry in validators {
            writer.write(string: entry.name)
            writer.write(string: entry.publicKey.lowercased())
            writer.write(uint: entry.power)
        }
        writer.write(uint: parameters.breakGlassSeconds)
        writer.write(uint: UInt64(parameters.emergencyCategories.count))
        for category in parameters.emergencyCategories { writer.write(string: category) }
        let abe = parameters.abe
        for text in [abe.group, abe.hashToCurve, abe.gidDomain, abe.attributeDomain, abe.kdfInfo] { writer.write(string: text) }
        if let consortium {
            writer.write(uint: 1)
            writer.write(string: consortium.certificateAuthority)
            writer.write(uint: UInt64(consortium.nodes.count))
            for node in consortium.nodes {
                writer.write(string: node.name)
                writer.write(string: node.organization)
                writer.write(string: node.publicKey.lowercased())
            }
        } else {
            writer.write(uint: 0)
        }
        return Hashing.sha3(writer.bytes)
    }

    static func key(_ hex: String, _ what: String) throws(NodeError) -> PublicKey {
        guard let bytes = Hex.decode(hex), let key = try? PublicKey(bytes: bytes) else {
            throw NodeError("\(what): public_key is not a 32-byte x-only secp256k1 key in hex")
        }
        return key
    }
}

/// A node start-up or operating failure, with a message for the operator.
public struct NodeError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
