// Property tests for the canonical encoding, all seeded (set TWINLEDGER_SEED to replay).
//
// Covers: random records round-trip and re-encode identically; random byte strings and mutations of valid encodings
// never crash the decoder and, when accepted, re-encode to the same bytes (canonicality); depth limits stop hostile
// nesting; huge declared lengths are rejected before allocation; Hex and Hash32 behave.
import Encoding
import TestSupport
import Testing

/// A recursive type to exercise the depth limit.
indirect enum Tree: CanonicalCodable, Equatable {
    case leaf(UInt64)
    case node([Tree])

    func encode(to writer: inout CanonicalWriter) {
        switch self {
        case .leaf(let v):
            writer.write(tag: 0)
            writer.write(uint: v)
        case .node(let children):
            writer.write(tag: 1)
            writer.write(list: children)
        }
    }

    init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        let tag = try reader.readTag()
        switch tag {
        case 0: self = .leaf(try reader.readUInt())
        case 1: self = .node(try reader.readList(of: Tree.self))
        default: throw reader.unknownTag(tag, in: "Tree")
        }
    }
}

func randomString(_ rng: inout SeededRandom) -> String {
    let alphabet = Array("abcXYZ019 .-_ü✓病🩺")
    return String((0..<Int.random(in: 0...12, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
}

func randomRecord(_ rng: inout SeededRandom) -> SampleRecord {
    let action: SampleRecord.Action
    switch UInt8.random(in: 0...2, using: &rng) {
    case 0: action = .read
    case 1: action = .write(limit: rng.next() >> UInt64.random(in: 0...63, using: &rng))
    default: action = .share(with: randomString(&rng))
    }
    var counts: [String: UInt64] = [:]
    for _ in 0..<Int.random(in: 0...5, using: &rng) { counts[randomString(&rng)] = rng.next() >> 40 }
    return SampleRecord(
        id: rng.next() >> UInt64.random(in: 0...63, using: &rng),
        delta: Int64(bitPattern: rng.next()) >> Int64.random(in: 0...63, using: &rng),
        active: Bool.random(using: &rng), label: randomString(&rng),
        payload: rng.bytes(Int.random(in: 0...40, using: &rng)),
        digest: Hash32(bytes: rng.bytes(32)) ?? .zero,
        note: Bool.random(using: &rng) ? randomString(&rng) : nil,
        tags: (0..<Int.random(in: 0...4, using: &rng)).map { _ in randomString(&rng) },
        counts: counts, action: action
    )
}

@Suite("Canonical encoding properties")
struct PropertyTests {
    @Test("random records round-trip and re-encode identically")
    func roundTrip() throws {
        var rng = SeededRandom(seed: testSeed())
        for _ in 0..<2_000 {
            let record = randomRecord(&rng)
            let bytes = Canonical.encode(record)
            let decoded = try Canonical.decode(SampleRecord.self, from: bytes)
            #expect(decoded == record)
            #expect(Canonical.encode(decoded) == bytes)
        }
    }

    @Test("random bytes never crash the decoder; anything accepted is canonical")
    func randomBytes() {
        let seed = testSeed()
        var rng = SeededRandom(seed: seed)
        var accepted = 0
        for _ in 0..<20_000 {
            let bytes = [1] + rng.bytes(Int.random(in: 0...80, using: &rng))
            if let record = try? Canonical.decode(SampleRecord.self, from: bytes) {
                accepted += 1
                #expect(Canonical.encode(record) == bytes, "seed \(seed): accepted a non-canonical encoding")
            }
            if let tree = try? Canonical.decodeBody(Tree.self, from: Array(bytes.dropFirst())) {
                #expect(tree.canonicalBytes() == Array(bytes.dropFirst()), "seed \(seed): non-canonical tree")
            }
        }
        _ = accepted
    }

    @Test("mutated valid encodings are rejected or re-encode to themselves")
    func mutations() {
        let seed = testSeed() ^ 0xA5A5
        var rng = SeededRandom(seed: seed)
        var rejected = 0
        for _ in 0..<5_000 {
            var bytes = Canonical.encode(randomRecord(&rng))
            switch Int.random(in: 0...3, using: &rng) {
            case 0: bytes[Int.random(in: 0..<bytes.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
            case 1: bytes.removeLast(Int.random(in: 1...bytes.count, using: &rng))
            case 2: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: Int.random(in: 0...bytes.count, using: &rng))
            default: bytes.append(contentsOf: rng.bytes(Int.random(in: 1...4, using: &rng)))
            }
            do {
                let record = try Canonical.decode(SampleRecord.self, from: bytes)
                #expect(Canonical.encode(record) == bytes, "seed \(seed): mutation accepted non-canonically")
            } catch {
                rejected += 1
            }
        }
        // Truncations and appended bytes alone guarantee rejections; a decoder accepting everything is broken.
        #expect(rejected > 2_000)
    }

    @Test("nesting deeper than the limit is refused, at the limit accepted")
    func depthLimit() throws {
        func nested(_ depth: Int) -> Tree { depth == 0 ? .leaf(7) : .node([nested(depth - 1)]) }
        let limits = DecodingLimits(inputBytesMax: 1 << 20, bytesMax: 1 << 10, countMax: 16, depthMax: 8)
        let ok = nested(8).canonicalBytes()
        #expect(try Canonical.decodeBody(Tree.self, from: ok, limits: limits) == nested(8))
        #expect(throws: CanonicalDecodingError.self) { try Canonical.decodeBody(Tree.self, from: nested(9).canonicalBytes(), limits: limits) }
        do {
            _ = try Canonical.decodeBody(Tree.self, from: nested(9).canonicalBytes(), limits: limits)
        } catch {
            #expect(error.code == .depthOverLimit)
        }
        // A hostile 100,000-deep nesting fails fast instead of overflowing the stack.
        let hostile = [UInt8](repeating: 0, count: 0) + Array(repeating: [1, 1], count: 100_000).flatMap { $0 }
        #expect(throws: CanonicalDecodingError.self) { try Canonical.decodeBody(Tree.self, from: hostile) }
    }

    @Test("a huge declared count or length is refused before allocating")
    func hostileLengths() {
        var writer = CanonicalWriter()
        writer.write(uint: UInt64(1 << 16))  // count at the limit, but no elements follow
        #expect(throws: CanonicalDecodingError.self) { try Canonical.decodeBody(UIntList.self, from: writer.bytes) }
        let limits = DecodingLimits(inputBytesMax: 16, bytesMax: 8, countMax: 4, depthMax: 4)
        #expect(throws: CanonicalDecodingError.self) { try Canonical.decodeBody(Bytes.self, from: [UInt8](repeating: 0, count: 17), limits: limits) }
        do {
            _ = try Canonical.decodeBody(Bytes.self, from: [9] + [UInt8](repeating: 0, count: 9), limits: limits)
        } catch {
            #expect(error.code == .lengthOverLimit)
        }
    }

    @Test("hex and Hash32 round-trip and order byte-wise")
    func hexAndHash() throws {
        var rng = SeededRandom(seed: testSeed())
        for _ in 0..<500 {
            let bytes = rng.bytes(Int.random(in: 0...64, using: &rng))
            #expect(Hex.decode(Hex.encode(bytes)) == bytes)
        }
        #expect(Hex.decode("abc") == nil)
        #expect(Hex.decode("zz") == nil)
        #expect(Hex.decode("ABcd") == [0xAB, 0xCD])
        let a = try #require(Hash32(bytes: [UInt8](repeating: 0, count: 31) + [1]))
        let b = try #require(Hash32(bytes: [1] + [UInt8](repeating: 0, count: 31)))
        #expect(a < b)
        #expect(Hash32(bytes: [1, 2, 3]) == nil)
        #expect(Hash32(hex: a.hex) == a)
        #expect(a.bytes.count == 32 && a.bytes.last == 1)
    }
}
