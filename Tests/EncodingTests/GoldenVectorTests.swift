// Golden vectors for the canonical encoding (Tests/Vectors/encoding-golden.json).
//
// Covers: every valid vector encodes to exactly its bytes, decodes back to its value, and re-encodes to the same
// bytes; every invalid vector is rejected with its documented error code. The vectors come from an independent
// Python implementation of Docs/encoding.md (Tests/Vectors/gen_encoding_vectors.py).
import Encoding
import Foundation
import TestSupport
import Testing

/// The example record of Docs/encoding.md, exercising every kind of field.
struct SampleRecord: CanonicalCodable, Equatable {
    enum Action: CanonicalCodable, Equatable {
        case read
        case write(limit: UInt64)
        case share(with: String)

        func encode(to writer: inout CanonicalWriter) {
            switch self {
            case .read: writer.write(tag: 0)
            case .write(let limit):
                writer.write(tag: 1)
                writer.write(uint: limit)
            case .share(let with):
                writer.write(tag: 2)
                writer.write(string: with)
            }
        }

        init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
            let tag = try reader.readTag()
            switch tag {
            case 0: self = .read
            case 1: self = .write(limit: try reader.readUInt())
            case 2: self = .share(with: try reader.readString())
            default: throw reader.unknownTag(tag, in: "Action")
            }
        }
    }

    var id: UInt64
    var delta: Int64
    var active: Bool
    var label: String
    var payload: [UInt8]
    var digest: Hash32
    var note: String?
    var tags: [String]
    var counts: [String: UInt64]
    var action: Action

    func encode(to writer: inout CanonicalWriter) {
        writer.write(uint: id)
        writer.write(int: delta)
        writer.write(bool: active)
        writer.write(string: label)
        writer.write(bytes: payload)
        writer.write(digest)
        writer.write(optional: note)
        writer.write(list: tags)
        writer.write(map: counts) { w, v in w.write(uint: v) }
        writer.write(action)
    }

    init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        id = try reader.readUInt()
        delta = try reader.readInt()
        active = try reader.readBool()
        label = try reader.readString()
        payload = try reader.readBytes()
        digest = try reader.read()
        note = try reader.readOptional(String.self)
        tags = try reader.readList(of: String.self)
        counts = try reader.readMap { (r: inout CanonicalReader) throws(CanonicalDecodingError) in try r.readUInt() }
        action = try reader.read()
    }

    init(
        id: UInt64, delta: Int64, active: Bool, label: String, payload: [UInt8], digest: Hash32, note: String?,
        tags: [String], counts: [String: UInt64], action: Action
    ) {
        (self.id, self.delta, self.active, self.label, self.payload) = (id, delta, active, label, payload)
        (self.digest, self.note, self.tags, self.counts, self.action) = (digest, note, tags, counts, action)
    }
}

/// Wrappers so each primitive type can be decoded as a whole body by `Canonical.decodeBody`.
struct OptionalUInt: CanonicalCodable, Equatable {
    var value: UInt64?
    func encode(to writer: inout CanonicalWriter) { writer.write(optional: value) }
    init(_ value: UInt64?) { self.value = value }
    init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) { value = try reader.readOptional(UInt64.self) }
}

struct UIntList: CanonicalCodable, Equatable {
    var values: [UInt64]
    func encode(to writer: inout CanonicalWriter) { writer.write(list: values) }
    init(_ values: [UInt64]) { self.values = values }
    init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) { values = try reader.readList(of: UInt64.self) }
}

struct StringUIntMap: CanonicalCodable, Equatable {
    var values: [String: UInt64]
    func encode(to writer: inout CanonicalWriter) { writer.write(map: values) { w, v in w.write(uint: v) } }
    init(_ values: [String: UInt64]) { self.values = values }
    init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        values = try reader.readMap { (r: inout CanonicalReader) throws(CanonicalDecodingError) in try r.readUInt() }
    }
}

struct Bytes: CanonicalCodable, Equatable {
    var value: [UInt8]
    func encode(to writer: inout CanonicalWriter) { writer.write(bytes: value) }
    init(_ value: [UInt8]) { self.value = value }
    init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) { value = try reader.readBytes() }
}

struct GoldenVector: Sendable, CustomTestStringConvertible {
    let name: String
    let type: String
    let value: JSONValue
    let hex: String
    let code: String?
    var testDescription: String { name }
}

/// A minimal Sendable JSON value for parameterized tests.
indirect enum JSONValue: Sendable {
    case null, bool(Bool), string(String), array([JSONValue]), object([String: JSONValue])

    init(_ any: Any) {
        switch any {
        case let b as Bool where type(of: any) == type(of: NSNumber(value: true)): self = .bool(b)
        case let s as String: self = .string(s)
        case let a as [Any]: self = .array(a.map(JSONValue.init))
        case let o as [String: Any]: self = .object(o.mapValues(JSONValue.init))
        case let n as NSNumber: self = .bool(n.boolValue)
        default: self = .null
        }
    }

    var string: String? { if case .string(let s) = self { s } else { nil } }
    var uint: UInt64? { string.flatMap { UInt64($0) } }
    subscript(key: String) -> JSONValue { if case .object(let o) = self { o[key] ?? .null } else { .null } }
}

func loadGolden(_ section: String) -> [GoldenVector] {
    guard let text = try? loadVector("encoding-golden.json"),
        let root = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
        let rows = root[section] as? [[String: Any]]
    else { return [] }
    return rows.map { row in
        GoldenVector(
            name: row["name"] as? String ?? "?", type: row["type"] as? String ?? "?",
            value: JSONValue(row["value"] ?? NSNull()), hex: row["hex"] as? String ?? "",
            code: row["code"] as? String
        )
    }
}

enum GoldenError: Error { case badValue(String), unknownType(String) }

func sampleRecord(_ v: JSONValue) throws -> SampleRecord {
    guard let id = v["id"].uint, let deltaText = v["delta"].string, let delta = Int64(deltaText),
        case .bool(let active) = v["active"], let label = v["label"].string,
        let payload = v["payload"].string.flatMap({ try? hex($0) }),
        let digest = v["digest"].string.flatMap({ Hash32(hex: $0) }),
        case .array(let tagValues) = v["tags"], case .object(let countValues) = v["counts"],
        let kind = v["action"]["kind"].string
    else { throw GoldenError.badValue("record") }
    let action: SampleRecord.Action
    switch kind {
    case "read": action = .read
    case "write": action = .write(limit: v["action"]["limit"].uint ?? 0)
    case "share": action = .share(with: v["action"]["with"].string ?? "")
    default: throw GoldenError.badValue(kind)
    }
    return SampleRecord(
        id: id, delta: delta, active: active, label: label, payload: payload, digest: digest, note: v["note"].string,
        tags: tagValues.compactMap(\.string), counts: countValues.compactMapValues(\.uint), action: action
    )
}

/// Encodes the vector's value with the Swift encoder, and decodes its bytes, returning both encodings to compare.
func check(_ vector: GoldenVector) throws -> (expected: [UInt8], encoded: [UInt8], reencoded: [UInt8]) {
    let bytes = try hex(vector.hex)
    func body<T: CanonicalCodable & Equatable>(_ value: T) throws -> ([UInt8], [UInt8], [UInt8]) {
        let decoded = try Canonical.decodeBody(T.self, from: bytes)
        #expect(decoded == value, "\(vector.name): decoded value differs")
        return (bytes, value.canonicalBytes(), decoded.canonicalBytes())
    }
    switch vector.type {
    case "uint": return try body(vector.value.uint ?? 0)
    case "int": return try body(Int64(vector.value.string ?? "") ?? 0)
    case "bool": if case .bool(let b) = vector.value { return try body(b) }
    case "string": return try body(vector.value.string ?? "")
    case "bytes": return try body(Bytes(try hex(vector.value.string ?? "")))
    case "optional_uint": return try body(OptionalUInt(vector.value.uint))
    case "list_uint":
        if case .array(let items) = vector.value { return try body(UIntList(items.compactMap(\.uint))) }
    case "map_string_uint":
        if case .object(let o) = vector.value { return try body(StringUIntMap(o.compactMapValues(\.uint))) }
    case "record":
        let record = try sampleRecord(vector.value)
        let decoded = try Canonical.decode(SampleRecord.self, from: bytes)
        #expect(decoded == record)
        return (bytes, Canonical.encode(record), Canonical.encode(decoded))
    default: break
    }
    throw GoldenError.unknownType(vector.type)
}

func decodeError(_ vector: GoldenVector) throws -> CanonicalDecodingError? {
    let bytes = try hex(vector.hex)
    do {
        switch vector.type {
        case "uint": _ = try Canonical.decodeBody(UInt64.self, from: bytes)
        case "uint32": _ = try Canonical.decodeBody(UInt32.self, from: bytes)
        case "bool": _ = try Canonical.decodeBody(Bool.self, from: bytes)
        case "string": _ = try Canonical.decodeBody(String.self, from: bytes)
        case "bytes": _ = try Canonical.decodeBody(Bytes.self, from: bytes)
        case "optional_uint": _ = try Canonical.decodeBody(OptionalUInt.self, from: bytes)
        case "list_uint": _ = try Canonical.decodeBody(UIntList.self, from: bytes)
        case "map_string_uint": _ = try Canonical.decodeBody(StringUIntMap.self, from: bytes)
        case "record": _ = try Canonical.decode(SampleRecord.self, from: bytes)
        default: throw GoldenError.unknownType(vector.type)
        }
    } catch let error as CanonicalDecodingError {
        return error
    }
    return nil
}

@Suite("Canonical encoding golden vectors")
struct GoldenVectorTests {
    @Test("the vector file is present and complete")
    func vectorFileLoads() {
        #expect(loadGolden("valid").count >= 40)
        #expect(loadGolden("invalid").count >= 25)
    }

    @Test("valid vectors encode, decode and round-trip exactly", arguments: loadGolden("valid"))
    func valid(_ vector: GoldenVector) throws {
        let (expected, encoded, reencoded) = try check(vector)
        #expect(Hex.encode(encoded) == Hex.encode(expected), "encoder output differs")
        #expect(reencoded == expected, "decode then encode is not the identity")
    }

    @Test("invalid vectors fail with their documented code", arguments: loadGolden("invalid"))
    func invalid(_ vector: GoldenVector) throws {
        let error = try decodeError(vector)
        #expect(error?.code.rawValue == vector.code, "got \(String(describing: error))")
    }
}
