import ArgumentParser
import Node
import NIOCore
import NIOPosix

/// Parses the command line and runs the command. For `node start`, the threads its config asks for are set up first,
/// before the node creates any task: `[node] threads = N` makes N NIO event loops and puts Swift concurrency's global
/// executor on them, so the node's actor, its API and its connections share those threads (Docs/operations.md).
func runTwinLedger() async {
    let command: any ParsableCommand
    do { command = try TwinLedgerCommand.parseAsRoot() } catch { TwinLedgerCommand.exit(withError: error) }
    if let start = command as? NodeCommand.Start,
        let threads = (try? NodeConfig.load(NodeHome(start.home).config))?.node.threads, threads > 0
    {
        // A config that does not load is reported by the command itself.
        NIOSingletons.groupLoopCountSuggestion = threads
        _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }
    do {
        var command = command
        if var asynchronous = command as? any AsyncParsableCommand {
            try await asynchronous.run()
        } else {
            try command.run()
        }
    } catch {
        TwinLedgerCommand.exit(withError: error)
    }
}

await runTwinLedger()
