import Encoding
import Pairing

// The canonical encodings of the ABE objects (Docs/abe.md, "Encodings"): TwinLedger's canonical format
// (Docs/encoding.md) with a version byte in front; points compressed (G1 48 bytes, G2 96, subgroup-checked on the way
// in), GT elements as 576 bytes, scalars as 32 bytes big-endian below r. Decoding re-checks every rule construction
// keeps, so decode-then-encode gives back the input bytes.

extension CanonicalReader {
    mutating func readG1() throws(CanonicalDecodingError) -> G1Point {
        let bytes = try readFixed(48)
        do { return try G1Point(compressed: bytes) } catch { throw invalidValue("G1 point: \(error.message)") }
    }

    mutating func readG2() throws(CanonicalDecodingError) -> G2Point {
        let bytes = try readFixed(96)
        do { return try G2Point(compressed: bytes) } catch { throw invalidValue("G2 point: \(error.message)") }
    }

    mutating func readGT() throws(CanonicalDecodingError) -> Fp12 {
        let bytes = try readFixed(Fp12.byteCount)
        do { return try Fp12(bytes: bytes) } catch { throw invalidValue("GT element: \(error.message)") }
    }

    mutating func readScalar() throws(CanonicalDecodingError) -> Fr {
        let bytes = try readFixed(32)
        do { return try Fr(bytes: bytes) } catch { throw invalidValue("scalar: \(error.message)") }
    }

    mutating func readAuthority() throws(CanonicalDecodingError) -> String {
        let authority = try readString(limit: AttributeName.partLengthMax)
        guard AttributeName.isValidPart(authority) else { throw invalidValue("authority name '\(authority)'") }
        return authority
    }

    mutating func readAttribute() throws(CanonicalDecodingError) -> AttributeName {
        let authority = try readString(limit: AttributeName.partLengthMax)
        let name = try readString(limit: AttributeName.partLengthMax)
        do { return try AttributeName(authority: authority, name: name) } catch { throw invalidValue(error.message) }
    }
}

extension CanonicalWriter {
    mutating func write(attribute: AttributeName) {
        write(string: attribute.authority)
        write(string: attribute.name)
    }
}

/// Decodes a versioned top-level ABE object, turning every refusal into invalid_encoding.
func decodeABE<T: CanonicalDecodable>(_ type: T.Type, _ bytes: some Collection<UInt8>, _ what: String) throws(ABEError) -> T {
    do {
        return try Canonical.decode(type, from: Array(bytes), limits: abeLimits)
    } catch {
        throw ABEError(.invalidEncoding, "not \(what): \(error)")
    }
}

/// 64 rows of 816 bytes and a policy fit in far less; no ABE object needs more.
let abeLimits = DecodingLimits(inputBytesMax: 1 << 20, bytesMax: 1 << 16, countMax: 256, depthMax: 8)

extension AuthorityPublicKey: CanonicalCodable {
    /// authority (text), epoch (uint), gT^α (576 bytes), g2^y (96 bytes).
    public func encode(to writer: inout CanonicalWriter) {
        writer.write(string: authority)
        writer.write(uint: epoch)
        writer.write(fixed: eGGAlpha.bytes)
        writer.write(fixed: g2y.compressed)
    }

    /// Also checks that gT^α is in GT (an exponentiation by r; public keys are decoded rarely).
    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        let authority = try reader.readAuthority()
        let epoch = try reader.readUInt()
        let eGGAlpha = try reader.readGT()
        guard eGGAlpha.isInGT else { throw reader.invalidValue("gT^alpha is not in GT") }
        self.init(authority: authority, epoch: epoch, eGGAlpha: eGGAlpha, g2y: try reader.readG2())
    }

    public var bytes: [UInt8] { Canonical.encode(self) }
    public init(bytes: some Collection<UInt8>) throws(ABEError) {
        self = try decodeABE(AuthorityPublicKey.self, bytes, "an authority public key")
    }
}

extension AuthoritySecretKey: CanonicalCodable {
    /// authority (text), epoch (uint), α and y (32 bytes each).
    public func encode(to writer: inout CanonicalWriter) {
        writer.write(string: authority)
        writer.write(uint: epoch)
        writer.write(fixed: alpha.bytes)
        writer.write(fixed: y.bytes)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        let authority = try reader.readAuthority()
        self.init(authority: authority, epoch: try reader.readUInt(), alpha: try reader.readScalar(), y: try reader.readScalar())
    }

    public var bytes: [UInt8] { Canonical.encode(self) }
    public init(bytes: some Collection<UInt8>) throws(ABEError) {
        self = try decodeABE(AuthoritySecretKey.self, bytes, "an authority secret key")
    }
}

extension AttributeKey: CanonicalCodable {
    /// gid (bytes), attribute (authority, name), version (uint), epoch (uint), K (48 bytes), K' (96 bytes).
    public func encode(to writer: inout CanonicalWriter) {
        writer.write(bytes: gid)
        writer.write(attribute: attribute.name)
        writer.write(uint: attribute.version)
        writer.write(uint: epoch)
        writer.write(fixed: k.compressed)
        writer.write(fixed: kPrime.compressed)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        let gid = try reader.readBytes(limit: 64)
        let attribute = VersionedAttribute(try reader.readAttribute(), version: try reader.readUInt())
        self.init(gid: gid, attribute: attribute, epoch: try reader.readUInt(), k: try reader.readG1(), kPrime: try reader.readG2())
    }

    public var bytes: [UInt8] { Canonical.encode(self) }
    public init(bytes: some Collection<UInt8>) throws(ABEError) {
        self = try decodeABE(AttributeKey.self, bytes, "an attribute key")
    }
}

extension ABECiphertext: CanonicalCodable {
    /// policy (its canonical text), versions (list of uint, one per row), epochs (map authority → uint), C0 (576
    /// bytes), rows (list of C1 576, C2 96, C3 96, C4 48 bytes).
    public func encode(to writer: inout CanonicalWriter) {
        writer.write(string: policy.description)
        writer.write(list: versions)
        writer.write(map: epochs) { $0.write(uint: $1) }
        writer.write(fixed: c0.bytes)
        writer.write(list: rows) { writer, row in
            writer.write(fixed: row.c1.bytes)
            writer.write(fixed: row.c2.compressed)
            writer.write(fixed: row.c3.compressed)
            writer.write(fixed: row.c4.compressed)
        }
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        let text = try reader.readString(limit: Policy.textBytesMax)
        let policy: Policy
        do { policy = try Policy(parsing: text) } catch { throw reader.invalidValue("policy: \(error.message)") }
        guard policy.description == text else { throw reader.invalidValue("the policy is not in its canonical form") }
        let attributes = policy.attributes
        let versions = try reader.readList(of: UInt64.self, limit: Policy.attributesMax)
        guard versions.count == attributes.count else {
            throw reader.invalidValue("\(versions.count) versions for \(attributes.count) attributes")
        }
        let epochs: [String: UInt64] = try reader.readMap(limit: Policy.attributesMax) {
            (r: inout CanonicalReader) throws(CanonicalDecodingError) in try r.readUInt()
        }
        guard Set(epochs.keys) == Set(attributes.map(\.authority)) else {
            throw reader.invalidValue("the epochs are not exactly the policy's authorities'")
        }
        let c0 = try reader.readGT()
        let rows = try reader.readList(limit: Policy.attributesMax) { (r: inout CanonicalReader) throws(CanonicalDecodingError) in
            Row(c1: try r.readGT(), c2: try r.readG2(), c3: try r.readG2(), c4: try r.readG1())
        }
        guard rows.count == attributes.count else { throw reader.invalidValue("\(rows.count) rows for \(attributes.count) attributes") }
        self.init(policy: policy, versions: versions, epochs: epochs, c0: c0, rows: rows)
    }

    public var bytes: [UInt8] { Canonical.encode(self) }
    public init(bytes: some Collection<UInt8>) throws(ABEError) {
        self = try decodeABE(ABECiphertext.self, bytes, "an ABE ciphertext")
    }
}
