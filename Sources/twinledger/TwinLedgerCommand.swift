import ArgumentParser

/// The release this build reports.
let twinLedgerVersion = "0.4.0"

@main
struct TwinLedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "twinledger",
        abstract: "TwinLedger: a permissioned BFT consent ledger for secure medical digital twins.",
        discussion: """
            A single-validator ledger node with its HTTP API, and a wallet for patients, practitioners and \
            organizations. BFT consensus and the consortium network arrive in later releases (see README.md).
            """,
        version: twinLedgerVersion,
        subcommands: [
            VersionCommand.self, KeysCommand.self, NodeCommand.self, EnrollCommand.self, ConsentCommand.self,
            DelegateCommand.self, ShadowCommand.self, BreakGlassCommand.self, HistoryCommand.self, TxCommand.self,
            SelfCheckCommand.self, DebugCommand.self, NetCommand.self,
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
