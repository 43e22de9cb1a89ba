import ArgumentParser
import Foundation
import Node

struct NetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "net", abstract: "Create a consortium: CA, node homes, keys and genesis.", subcommands: [Init.self]
    )

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a consortium from a definition (Network/local.json; format in Network/README.md).",
            discussion: """
                Writes, under --home: ca/ (the consortium CA certificate and key; keep the key offline), \
                genesis.json, and one node home per node (config.toml, genesis.json, keys/ and tls/, mode 0600). \
                Copy each node's home to the machine that runs it; nothing here belongs in version control.
                """
        )

        @Option(help: "Consortium definition (JSON).") var definition = "Network/local.json"
        @Option(help: "Directory to create the consortium in.") var home: String

        func run() throws {
            let spec = try ConsortiumDefinition.load(definition)
            let created = try ConsortiumSetup.create(spec, home: home, genesisTimeMillis: LedgerNode.wallClockMillis())
            print("consortium \(spec.chainID): \(spec.nodes.filter { $0.role == .validator }.count) validators, "
                + "\(spec.nodes.filter { $0.role == .follower }.count) followers")
            print("genesis:      \(home)/genesis.json (fingerprint \(created.genesis.fingerprint.hex.prefix(16))…)")
            print("CA:           \(home)/ca/ca.pem (its key ca/ca.key stays with you)")
            for (node, (name, path)) in zip(spec.nodes, created.homes) {
                print("\(name.padding(toLength: 12, withPad: " ", startingAt: 0))  \(node.role.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)) "
                    + "\(node.organization.padding(toLength: 14, withPad: " ", startingAt: 0)) api \(node.host):\(node.apiPort)  "
                    + "p2p \(node.host):\(node.p2pPort)  home \(path)")
            }
            print("start a node with: twinledger node start --home \(home)/<name>")
        }
    }
}
