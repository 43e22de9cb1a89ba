import Consensus
import Encoding
import Ledger
import TwinCrypto

/// SplitMix64: a small, fast generator whose whole state is one 64-bit word, so one seed replays a run exactly.
public struct SimulationRandom: Sendable {
    var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `range` (bias below 2^-40 for the small ranges used here).
    public mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.upperBound - range.lowerBound + 1))
    }

    /// True with probability `p`.
    public mutating func chance(_ p: Double) -> Bool { Double(next() >> 11) / Double(1 << 53) < p }

    public mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) }
    }

    /// A secret key drawn from the generator (retrying the rare invalid scalar).
    static func key(_ random: inout SimulationRandom) throws -> SecretKey {
        while true {
            if let key = try? SecretKey(bytes: random.bytes(32)) { return key }
        }
    }
}

/// A min-heap of timed items, ties broken by insertion order, so the order of events is a function of the seed.
struct EventQueue<Item> {
    private var heap: [(time: UInt64, sequence: UInt64, item: Item)] = []
    private var sequence: UInt64 = 0

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }

    mutating func push(_ time: UInt64, _ item: Item) {
        sequence += 1
        heap.append((time, sequence, item))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard less(child, parent) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> (time: UInt64, item: Item)? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count, less(left, smallest) { smallest = left }
            if right < heap.count, less(right, smallest) { smallest = right }
            guard smallest != parent else { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return (top.time, top.item)
    }

    private func less(_ a: Int, _ b: Int) -> Bool {
        (heap[a].time, heap[a].sequence) < (heap[b].time, heap[b].sequence)
    }
}

/// The safety rules' record kept in the simulated node's memory, as durable as the simulated disk: it survives a
/// simulated crash.
final class MemoryPositionStore: SignedPositionStore, @unchecked Sendable {
    var bytes: [UInt8]?
    func load() throws -> [UInt8]? { bytes }
    func save(_ bytes: [UInt8]) throws { self.bytes = bytes }
}
