import Encoding
import Foundation
import FuzzTargets
import Ledger
import Testing

/// The fuzz targets over their committed corpus and every regression input, in the ordinary test run: what fuzzing
/// once found stays fixed without a fuzzing build (Docs/fuzzing.md).
@Suite("Fuzz corpus and regressions")
struct FuzzCorpusTests {
    @Test("each target has a corpus, and every corpus and regression input passes its checks", arguments: FuzzTargets.all.map(\.name))
    func replay(_ name: String) throws {
        let target = try #require(FuzzTargets.named(name))
        let corpus = try FuzzCorpus.inputs(in: FuzzCorpus.directory("corpus", of: target))
        #expect(corpus.count >= target.seeds().count, "\(name): \(corpus.count) corpus files; write the seeds (make fuzz-seeds)")
        let regressions = try FuzzCorpus.inputs(in: FuzzCorpus.directory("regressions", of: target))
        for input in corpus + regressions {
            let broken = target.check(input.bytes)
            #expect(broken.isEmpty, "\(name)/\(input.name): \(broken)")
        }
    }

    @Test("the seeds are accepted by their decoders, so the corpus starts past the first length check")
    func seedsAreValid() throws {
        for target in FuzzTargets.all {
            let seeds = target.seeds()
            #expect(!seeds.isEmpty, "\(target.name) has no seeds")
            for seed in seeds {
                #expect(target.check(seed).isEmpty, "\(target.name): a seed breaks a property")
                #expect(target.accepts(seed), "\(target.name): a seed is refused by its decoder")
            }
        }
    }

    @Test("the round-trip property can fail: bytes other than the value's encoding are reported")
    func propertiesCanFail() throws {
        let seed = try #require(FuzzTargets.named("transaction")?.seeds().first)
        var broken: [String] = []
        let decoded = try Canonical.decode(SignedTransaction.self, from: seed)
        FuzzTargets.roundTrip(decoded, seed, &broken)
        #expect(broken.isEmpty)
        FuzzTargets.roundTrip(decoded, seed + [0], &broken)
        #expect(broken.count == 1)
    }
}
