import ArgumentParser

/// The release this build reports.
let twinLedgerVersion = "0.9.0"

struct TwinLedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "twinledger",
        abstract: "TwinLedger: a permissioned BFT consent ledger for secure medical digital twins.",
        discussion: """
            Consortium nodes (Tendermint BFT over mutual TLS, block sync) with an HTTP API, the tools that create a \
            consortium, and a wallet for patients, practitioners and organizations (see README.md).
            """,
        version: twinLedgerVersion,
        subcommands: [
            VersionCommand.self, KeysCommand.self, NodeCommand.self, EnrollCommand.self, ConsentCommand.self,
            DelegateCommand.self, ShadowCommand.self, BreakGlassCommand.self, HistoryCommand.self, TxCommand.self,
            AccessCommand.self, AuditCommand.self, AuthorityCommand.self, SelfCheckCommand.self, DebugCommand.self, NetCommand.self, ValidatorCommand.self,
        ]
    )
}

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the version.")

    @Flag(help: "Print JSON.") var json = false

    func run() {
        if json {
            print(#"{"name":"twinledger","version":"\#(twinLedgerVersion)","encoding_format":1,"envelope_version":1}"#)
        } else {
            print("twinledger \(twinLedgerVersion) (canonical encoding v1, key envelope v1)")
        }
    }
}
