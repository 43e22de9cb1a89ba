// The libFuzzer entry points (Docs/fuzzing.md). Built only by `scripts/fuzz.sh` with `--sanitize=fuzzer
// --sanitize=address`, where libFuzzer supplies `main`; in an ordinary build this executable does nothing.
//
//     TWINFUZZ_TARGET=transaction .build-fuzz/debug/TwinFuzz corpus-dir …   one target, libFuzzer's flags
//     TWINFUZZ_WRITE_SEEDS=Tests/Fuzz/corpus .build-fuzz/debug/TwinFuzz       write every target's seeds, exit
import Foundation
import FuzzTargets

let selected: FuzzTarget? = ProcessInfo.processInfo.environment["TWINFUZZ_TARGET"].flatMap(FuzzTargets.named)

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> CInt {
    let environment = ProcessInfo.processInfo.environment
    if let directory = environment["TWINFUZZ_WRITE_SEEDS"] {
        do {
            for target in FuzzTargets.all {
                let written = try FuzzCorpus.writeSeeds(of: target, to: "\(directory)/\(target.name)")
                print("\(target.name): \(written) seeds")
            }
            exit(0)
        } catch {
            FileHandle.standardError.write(Data("writing seeds: \(error)\n".utf8))
            exit(1)
        }
    }
    guard let selected else {
        let names = FuzzTargets.all.map(\.name).joined(separator: ", ")
        FileHandle.standardError.write(Data("set TWINFUZZ_TARGET to one of: \(names)\n".utf8))
        exit(2)
    }
    // Build the fixtures now, so their one-time cost is not charged to the first input.
    for seed in selected.seeds() { _ = selected.check(seed) }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let selected else { return 0 }
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let broken = selected.check(bytes)
    if !broken.isEmpty {
        FileHandle.standardError.write(Data("\(selected.name): \(broken.joined(separator: "; "))\n".utf8))
        abort()  // libFuzzer saves the input as a crash
    }
    return 0
}
