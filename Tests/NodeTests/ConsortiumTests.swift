// Fault tests with real processes: four validator processes made by `twinledger net init`, talking mutual TLS over
// loopback, under a load of signed transactions (Docs/operations.md, "Faults").
//
// Covers: every node ends with the same block hash and state root at every height; a validator killed with SIGKILL
// mid-load does not stop the other three, and restarted it catches up by block sync to the same chain, with no double
// vote seen by anyone; with two of four killed, commits stop and nothing diverges, and they resume when both return;
// no transaction the API reported committed is missing afterwards on any node; a follower follows; SIGTERM stops a
// node cleanly. Rogue peers (another CA, a certificate from the right CA for a node not in the genesis, a wrong
// genesis) are in RoguePeerTests.
import API
import Consensus
import Encoding
import Foundation
import Ledger
import Node
import TestSupport
import Testing
import TwinCrypto

@Suite("Consortium (real processes)", .serialized, .realProcesses)
struct ConsortiumTests {
    @Test("kill -9 one of four validators under load: the rest commit; restarted, it syncs to the same chain; no double vote")
    func killOne() async throws {
        let dir = try makeTemporaryDirectory("consortium-one")
        defer { removeTemporaryDirectory(dir) }
        let net = try ConsortiumProcesses(dir, validators: 4, followers: 1)
        defer { net.stopAll() }
        try await net.startAll()
        let names = net.members.map(\.name)
        let load = LoadGenerator(chainID: net.chainID, streams: try net.validators.map { (try net.organizationKey($0), $0.apiPort) })
        #expect(await load.run(count: 8) == 32, "every transaction of the first load commits")

        // What an auditor's light client will check, with only the genesis file: each committed block's certificate
        // (served with the block's bytes) carries precommits of more than 2/3 of the genesis validators' power for
        // that block; a certificate with one signature altered does not.
        let genesis = try GenesisFile.load(net.member("v0").home + "/genesis.json").ledgerGenesis()
        let validators = try ValidatorSet(genesis.validators.map { Validator(key: $0.key, power: $0.power) })
        for height in UInt64(1)...2 {
            let (data, status) = try await net.get("v1", "/v1/blocks/\(height)/raw")
            #expect(status == 200)
            let raw = try JSONDecoder().decode(RawBlockResponse.self, from: data)
            let block = try Canonical.decode(Block.self, from: try #require(Hex.decode(raw.block)))
            var certificate = try Canonical.decode(CommitCertificate.self, from: try #require(raw.certificate.flatMap(Hex.decode)))
            #expect(certificate.block == block.header.hash && certificate.height == height)
            try certificate.verify(chainID: net.chainID, validators: validators)
            var forged = certificate.signatures[0].signature.bytes
            forged[5] ^= 1
            certificate.signatures[0].signature = try Signature(bytes: forged)
            #expect(throws: (any Error).self) { try certificate.verify(chainID: net.chainID, validators: validators) }
        }

        // v3 dies without warning; its stream moves to v0. The other three keep committing.
        #expect(net.stop("v3", SIGKILL)?.reason == .uncaughtSignal)
        let before = try await net.height("v0")
        await load.retarget(3, port: net.member("v0").apiPort)
        let afterKill = await load.run(count: 6)
        #expect(afterKill == 32 + 24, "with one validator down the other three commit everything")
        #expect(try await net.height("v0") > before)

        // Restarted, v3 catches up by block sync, then takes part in consensus again.
        try net.start("v3")
        try await net.waitHealthy("v3")
        let target = try await net.height("v0")
        try await net.waitHeight(["v3"], atLeast: target)
        #expect(try await net.metric("v3", "twinledger_sync_blocks_total") >= 1, "v3 caught up by block sync")
        await load.retarget(3, port: net.member("v3").apiPort)
        #expect(await load.run(count: 4) == 56 + 16, "after its restart v3 takes transactions and they commit")

        try await net.waitHeight(names, atLeast: try await net.height("v0"))
        let top = try await net.agreement(names)
        #expect(top >= 10)
        // No transaction reported committed is missing on any node, the follower included.
        let committed = await load.committed
        for name in names {
            for id in committed {
                let (_, status) = try await net.get(name, "/v1/transactions/\(id)")
                #expect(status == 200, "\(name) lacks committed transaction \(id)")
            }
        }
        // Nobody saw a double vote: the restarted validator re-signed nothing differently.
        for name in net.validators.map(\.name) {
            #expect(try await net.metric(name, "twinledger_consensus_double_votes_total") == 0, "\(name) saw a double vote")
        }
        #expect(try await net.health("f0").role == "follower")
        // SIGTERM stops a node cleanly (exit status 0).
        for name in names {
            let end = net.stop(name, SIGTERM)
            #expect(end?.reason == .exit && end?.status == 0, "\(name) did not stop cleanly: \(String(describing: end))")
        }
    }

    @Test("kill -9 two of four validators: commits stop and nothing diverges; both restarted, commits resume")
    func killTwo() async throws {
        let dir = try makeTemporaryDirectory("consortium-two")
        defer { removeTemporaryDirectory(dir) }
        let net = try ConsortiumProcesses(dir, validators: 4)
        defer { net.stopAll() }
        try await net.startAll()
        let names = net.members.map(\.name)
        let streams = try net.validators.prefix(2).map { (try net.organizationKey($0), $0.apiPort) }
        let load = LoadGenerator(chainID: net.chainID, streams: streams)
        #expect(await load.run(count: 5) == 10)

        net.stop("v2", SIGKILL)
        net.stop("v3", SIGKILL)
        // Let what was in flight settle, then nothing more commits: two of four is not a quorum.
        try await Task.sleep(for: .milliseconds(1_500))
        let stalled = try await net.height("v0")
        #expect(await load.run(count: 1, timeoutMillis: 2_000) == 10, "nothing commits without a quorum")
        let (h0, h1) = (try await net.height("v0"), try await net.height("v1"))
        #expect(h0 == stalled && h1 == stalled, "no commit without a quorum")
        _ = try await net.agreement(["v0", "v1"])

        // Both return: the waiting transactions commit, and everyone agrees.
        try net.start("v2")
        try net.start("v3")
        try await net.waitHeight(names, atLeast: stalled + 2, seconds: 40)
        // The transactions submitted during the stall waited in the mempools and commit first; new ones follow.
        #expect(await load.run(count: 3) == 10 + 6, "commits resume once a quorum is back")
        try await net.waitHeight(names, atLeast: try await net.height("v0"))
        _ = try await net.agreement(names)
    }
}
