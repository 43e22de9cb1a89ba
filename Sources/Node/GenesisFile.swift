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
        enum CodingKeys: String, CodingKey {
            case breakGlassSeconds = "break_glass_seconds"
            case emergencyCategories = "emergency_categories"
        }
        public init(breakGlassSeconds: UInt64 = 4 * 3600, emergencyCategories: [String] = ["emergency"]) {
            self.breakGlassSeconds = breakGlassSeconds
            self.emergencyCategories = emergencyCategories
        }
    }

    public var chainID: String
    public var genesisTimeMillis: UInt64
    public var organizations: [OrganizationEntry]
    public var validators: [ValidatorEntry]
    public var parameters: Parameters

    enum CodingKeys: String, CodingKey {
        case organizations, validators, parameters
        case chainID = "chain_id"
        case genesisTimeMillis = "genesis_time_ms"
    }

    public init(
        chainID: String, genesisTimeMillis: UInt64, organizations: [OrganizationEntry], validators: [ValidatorEntry],
        parameters: Parameters = Parameters()
    ) {
        (self.chainID, self.genesisTimeMillis, self.organizations) = (chainID, genesisTimeMillis, organizations)
        (self.validators, self.parameters) = (validators, parameters)
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
                breakGlassSeconds: parameters.breakGlassSeconds, emergencyCategories: parameters.emergencyCategories
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
