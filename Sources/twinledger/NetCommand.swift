import ArgumentParser
import Encoding
import Foundation
import Node
import P2P
import TwinCrypto

struct NetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "net", abstract: "Create a consortium: CA, node homes, keys and genesis; issue node certificates.",
        subcommands: [Init.self, IssueCert.self]
    )

    struct IssueCert: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "issue-cert",
            abstract: "Issue a new TLS certificate and key for a node home, signed by the consortium CA (rotation).",
            discussion: """
                Replaces <home>/tls/node.pem and node.key (mode 0600). A running node keeps its old certificate until \
                told to reload (twinledger node reload-tls --home <home>, or SIGHUP): then new connections present the \
                new one and open connections are not interrupted (Docs/operations.md, "Certificates").
                """
        )

        @Option(help: "The consortium CA directory (ca.pem and ca.key, as net init wrote them).") var ca: String
        @Option(help: "The node's home.") var home: String
        @Option(help: "Days the certificate is valid for.") var days = 365

        func run() throws {
            guard (1...3_650).contains(days) else { throw ValidationError("--days must be 1-3650") }
            let paths = NodeHome(home)
            let authority = PEMIdentity(certificatePEM: try String(contentsOfFile: ca + "/ca.pem", encoding: .utf8),
                                        privateKeyPEM: try String(contentsOfFile: ca + "/ca.key", encoding: .utf8))
            let node = try KeyFile.load(from: paths.validatorKey).publicKey.keyID
            let genesis = try GenesisFile.load(paths.genesis)
            guard let consortium = genesis.consortium else { throw ValidationError("\(paths.genesis) has no consortium") }
            guard consortium.certificateAuthority == authority.certificatePEM else {
                throw ValidationError("\(ca)/ca.pem is not the CA of the genesis in \(home)")
            }
            guard let entry = consortium.nodes.first(where: { Hex.decode($0.publicKey).flatMap { try? PublicKey(bytes: $0) }?.keyID == node })
            else { throw ValidationError("this home's node is not in the genesis's consortium") }
            let identity = try ConsortiumPKI.issueNodeCertificate(node: node, organization: entry.organization, authority: authority, days: days)
            try ConsortiumPKI.checkNodeIdentity(identity, node: node, authority: authority.certificatePEM)
            // The key first, then the certificate, each replaced in one rename: a reload between the two sees a key
            // that does not match the certificate and keeps the old pair.
            for (text, file, mode) in [(identity.privateKeyPEM, paths.tlsKey, 0o600), (identity.certificatePEM, paths.tlsCertificate, 0o644)] {
                let temporary = file + ".new"
                guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: mode]) else {
                    throw ValidationError("cannot write \(temporary)")
                }
                guard rename(temporary, file) == 0 else { throw ValidationError("cannot replace \(file): errno \(errno)") }
            }
            let expiry = try ConsortiumPKI.expiry(certificatePEM: identity.certificatePEM)
            print("issued \(paths.tlsCertificate) for node \(node.hex.prefix(16))… (\(entry.name), \(entry.organization)), valid until \(ISO8601DateFormatter().string(from: expiry))")
            print("reload it in the running node with: twinledger node reload-tls --home \(home)")
        }
    }

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
