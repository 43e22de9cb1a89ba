// The consensus simulator (Docs/consensus.md, "Simulator").
//
// Covers: 2,000 seeded runs (1,500 with 4 validators, 500 with 7) of real ledgers under consensus, with Byzantine
// validators, crashes with WAL replay, partitions, drops and duplicates, keep agreement, validity, no honest
// double-sign and liveness, and between them exercise every Byzantine behavior, crashes, evidence recorded on the
// ledger, validator sets changed by validators.update and consensus keys rotated by validator.rotate (the new key
// signing commit certificates from H+2, the old one out of the set); the same seed replays to the same run; and the simulator
// finds the agreement violation of a deliberately broken protocol (quorums of 2f) within 300 seeds.
// TWINLEDGER_SEED moves the seed ranges (the default is fixed, so CI runs are reproducible).
import Consensus
import Simulation
import TestSupport
import Testing

@Suite("Consensus simulator")
struct SimulationTests {
    /// The first seed of the ranges: fixed unless TWINLEDGER_SEED is set.
    var base: UInt64 { testSeed(default: 1) }

    func runAll(validators: Int, count: UInt64) throws -> [Simulation.Report] {
        var reports: [Simulation.Report] = []
        for seed in base..<(base + count) {
            var simulation = try Simulation(.init(seed: seed, validators: validators, heights: 3))
            do {
                reports.append(try simulation.run())
            } catch {
                Issue.record("\(error)")
            }
        }
        return reports
    }

    @Test("1,500 runs of 4 validators and 500 of 7, with Byzantine and crash faults, keep every invariant")
    func seeds() throws {
        let reports = try runAll(validators: 4, count: 1_500) + runAll(validators: 7, count: 500)
        #expect(reports.count == 2_000)
        // The faults really happened.
        let behaviors = Set(reports.flatMap(\.behaviors))
        #expect(behaviors == [.honest, .silent, .equivocate, .invalid])
        #expect(reports.map(\.crashes).reduce(0, +) > 100, "crash-restarts from the WAL are exercised")
        #expect(reports.map(\.evidence).reduce(0, +) > 100, "equivocation is seen and reported")
        #expect(reports.filter { $0.evidenceRecorded > 0 }.count > 50, "evidence reaches the ledger as evidence.submit")
        #expect(reports.filter(\.validatorSetChanged).count > 500, "validators.update changes the set under consensus")
        let rotated = reports.filter { $0.rotatedValidator != nil }
        #expect(rotated.count > 300, "validator.rotate is drawn in about a quarter of the runs")
        #expect(rotated.filter(\.rotatedKeySigned).count > rotated.count / 3,
                "the rotated validator's new key signs commit certificates after the change (the old one cannot: it is out of the set the certificates verify against)")
        #expect(reports.contains { $0.gstMillis > 3_000 })
    }

    @Test("a seed replays to exactly the same run")
    func deterministic() throws {
        for seed in [base, base + 7, base + 19] {
            var first = try Simulation(.init(seed: seed, validators: 4))
            var second = try Simulation(.init(seed: seed, validators: 4))
            let a = try first.run(), b = try second.run()
            #expect(a.messages == b.messages && a.simulatedMillis == b.simulatedMillis && a.steps == b.steps)
        }
    }

    @Test("the simulator finds the agreement violation of quorums of 2f instead of 2f+1")
    func catchesBrokenQuorum() throws {
        var found: Simulation.Failure?
        for seed in base..<(base + 300) where found == nil {
            var simulation = try Simulation(.init(seed: seed, validators: 4, mutation: .quorumOfTwoF))
            do { _ = try simulation.run() } catch { found = error }
        }
        #expect(found?.kind == .agreement, "no agreement violation in 300 seeds of a broken protocol")
        #expect(found?.config.replay.contains("MUTATION=quorumOfTwoF") == true)
    }
}
