import Encoding
import TwinCrypto

/// A request to read one blob of a shadow, signed by the requester (Docs/shadows.md, "Reads").
///
/// Encoding: `version 0x01 | chain_id:string | requester:pubkey32 | shadow:hash32 | blob:hash32 | purpose:string |
/// time_ms:uint | nonce:bytes(16)`, then the 64-byte BIP340 signature over
/// `taggedHash("TwinLedger/read", version and body)`. A node serves the blob only if the signature verifies, the
/// chain is its own, the time is within its window of its clock, the nonce was not used in that window
/// (`ReplayGuard`), and `ReadAccess` allows the requester to read the shadow for the stated purpose.
public struct ReadRequest: SignedRequestBody {
    public static let nonceBytes = 16
    public static let tag = "TwinLedger/read"

    public var chainID: String
    public var requester: PublicKey
    public var shadow: Hash32
    /// The blob asked for: the shadow's manifest, one of its chunks, or one of its key envelopes.
    public var blob: Hash32
    public var purpose: Purpose
    /// When the requester made the request (unix milliseconds).
    public var timeMillis: UInt64
    public var nonce: [UInt8]

    public init(chainID: String, requester: PublicKey, shadow: Hash32, blob: Hash32, purpose: Purpose, timeMillis: UInt64, nonce: [UInt8]) {
        (self.chainID, self.requester, self.shadow, self.blob) = (chainID, requester, shadow, blob)
        (self.purpose, self.timeMillis, self.nonce) = (purpose, timeMillis, nonce)
    }

    public var signer: PublicKey { requester }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(string: chainID)
        writer.write(requester)
        writer.write(shadow)
        writer.write(blob)
        writer.write(purpose)
        writer.write(uint: timeMillis)
        writer.write(bytes: nonce)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        chainID = try reader.readString(limit: 64)
        requester = try reader.read()
        shadow = try reader.read()
        blob = try reader.read()
        purpose = try reader.read()
        timeMillis = try reader.readUInt()
        nonce = try Self.readNonce(&reader)
    }
}

/// A request body a participant signs to ask a node for something off-chain (a read, an upload): the chain, the
/// signer, the signer's time and a fresh nonce, so the node can refuse replays.
public protocol SignedRequestBody: CanonicalCodable, Sendable, Hashable {
    /// The BIP340 tagged-hash tag of this kind of request.
    static var tag: String { get }
    var chainID: String { get }
    var signer: PublicKey { get }
    var timeMillis: UInt64 { get }
    var nonce: [UInt8] { get }
}

extension SignedRequestBody {
    public var signingDigest: Hash32 { Hashing.taggedHash(tag: Self.tag, Canonical.encode(self)) }

    /// Reads a request's nonce: exactly `ReadRequest.nonceBytes` bytes.
    static func readNonce(_ reader: inout CanonicalReader) throws(CanonicalDecodingError) -> [UInt8] {
        let nonce = try reader.readBytes(limit: ReadRequest.nonceBytes)
        guard nonce.count == ReadRequest.nonceBytes else { throw reader.invalidValue("a request's nonce is \(ReadRequest.nonceBytes) bytes") }
        return nonce
    }
}

/// A request with its signer's signature: `version 0x01 | body | signature[64]`, the signature over
/// `taggedHash(tag, version 0x01 | body)`. Its bytes travel hex-encoded in an HTTP header.
public struct SignedRequest<Body: SignedRequestBody>: Sendable, Hashable, CanonicalCodable {
    public var body: Body
    public var signature: Signature

    /// Signs `body` with `key`, which must be its signer.
    public init(signing body: Body, with key: SecretKey) throws(AccessError) {
        guard key.publicKey == body.signer else { throw AccessError(.badRequest, "the key is not the request's signer") }
        do { signature = try key.sign(body.signingDigest.bytes) } catch { throw AccessError(.badRequest, "signing failed: \(error)") }
        self.body = body
    }

    /// Decodes and checks the signature and the chain; `bad_request` otherwise.
    public static func verified(_ bytes: [UInt8], chainID: String) throws(AccessError) -> Self {
        let signed: Self
        do { signed = try Canonical.decode(Self.self, from: bytes) } catch {
            throw AccessError(.badRequest, "not a signed request: \(error)")
        }
        guard signed.body.chainID == chainID else { throw AccessError(.badRequest, "the request is for chain \(signed.body.chainID)") }
        guard signed.body.signer.verify(signed.signature, for: signed.body.signingDigest.bytes) else {
            throw AccessError(.badRequest, "the signature does not verify under the signer's key")
        }
        return signed
    }

    /// The hex of the canonical bytes, as the header carries them.
    public var headerValue: String { Hex.encode(Canonical.encode(self)) }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(body)
        writer.write(signature)
    }

    public init(from reader: inout CanonicalReader) throws(CanonicalDecodingError) {
        body = try reader.read()
        signature = try reader.read()
    }
}

/// A signed read request, in the `TwinLedger-Read` header.
public typealias SignedReadRequest = SignedRequest<ReadRequest>

/// Refuses requests whose time is outside a window of the node's clock, and nonces seen within that window, so a
/// captured request cannot be replayed. Remembers each (requester, nonce) until its request's time leaves the window,
/// so memory is bounded by the request rate times the window; beyond `capacity` it refuses new requests (`busy`)
/// rather than forget one and allow its replay.
public struct ReplayGuard: Sendable {
    public let windowMillis: UInt64
    public let capacity: Int
    private var seen: [Hash32: UInt64] = [:]
    private var oldestPurge: UInt64 = 0

    public init(windowMillis: UInt64 = 60_000, capacity: Int = 1_000_000) {
        self.windowMillis = windowMillis
        self.capacity = capacity
    }

    public var count: Int { seen.count }

    /// Admits `request` at the node's time `now` (unix milliseconds), or throws `stale`, `replayed` or `busy`.
    public mutating func admit(_ request: some SignedRequestBody, now: UInt64) throws(AccessError) {
        let distance = request.timeMillis > now ? request.timeMillis - now : now - request.timeMillis
        guard distance <= windowMillis else {
            throw AccessError(.stale, "the request's time is \(distance) ms from this node's clock (at most \(windowMillis))")
        }
        purge(now)
        let key = Hashing.taggedHash(tag: type(of: request).tag, request.signer.bytes + request.nonce)
        guard seen[key] == nil else { throw AccessError(.replayed, "this request's nonce was already used") }
        guard seen.count < capacity else { throw AccessError(.busy, "too many requests in the window; try again") }
        seen[key] = request.timeMillis
    }

    /// Forgets requests whose time has left the window (they would be refused as stale anyway).
    private mutating func purge(_ now: UInt64) {
        guard now >= oldestPurge + windowMillis / 4 || seen.count >= capacity else { return }
        oldestPurge = now
        let limit = now > windowMillis ? now - windowMillis : 0
        seen = seen.filter { $0.value >= limit }
    }
}
