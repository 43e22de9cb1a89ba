// BIP340 Schnorr signatures through libsecp256k1.
//
// Covers: every row of the published BIP340 vectors (Tests/Vectors/bip340-test-vectors.csv, from bitcoin/bips,
// including the variable-length messages): public key derivation, exact signatures with the given auxiliary
// randomness, and the expected verification result (invalid keys and forged signatures included); fresh keys sign
// and verify; a flipped bit in message, signature or key fails; tagged hashes follow BIP340's definition.
import CSecp256k1
import Crypto
import Encoding
import TestSupport
import Testing
@testable import TwinCrypto

struct BIP340Vector: Sendable, CustomTestStringConvertible {
    let index: Int
    let secretKey: String
    let publicKey: String
    let auxRand: String
    let message: String
    let signature: String
    let valid: Bool
    let comment: String
    var testDescription: String { "row \(index)\(comment.isEmpty ? "" : ": " + comment)" }
}

func loadBIP340() -> [BIP340Vector] {
    guard let text = try? loadVector("bip340-test-vectors.csv") else { return [] }
    return text.split(whereSeparator: \.isNewline).dropFirst().compactMap { line in
        let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard f.count >= 7, let index = Int(f[0]) else { return nil }
        return BIP340Vector(
            index: index, secretKey: f[1], publicKey: f[2], auxRand: f[3], message: f[4], signature: f[5],
            valid: f[6] == "TRUE", comment: f.count > 7 ? f[7...].joined(separator: ",") : ""
        )
    }
}

@Suite("BIP340 Schnorr")
struct SchnorrTests {
    @Test("all 19 published rows are loaded, variable-length messages included")
    func vectorsLoad() {
        let rows = loadBIP340()
        #expect(rows.count == 19)
        #expect(Set(rows.map { $0.message.count / 2 }).isSuperset(of: [0, 1, 17, 32, 100]))
    }

    @Test("published vectors: key derivation, exact signatures, verification result", arguments: loadBIP340())
    func vector(_ v: BIP340Vector) throws {
        let message = try hex(v.message)
        let signature = try Signature(bytes: try hex(v.signature))
        if !v.secretKey.isEmpty {
            let key = try SecretKey(bytes: try hex(v.secretKey))
            #expect(key.publicKey.hex == v.publicKey.lowercased(), "public key derivation")
            let produced = try key.sign(message, auxiliaryRandom: try hex(v.auxRand))
            #expect(produced.hex == v.signature.lowercased(), "signature with the vector's aux_rand")
        }
        let verified: Bool
        do {
            verified = try PublicKey(bytes: try hex(v.publicKey)).verify(signature, for: message)
        } catch let error as TwinCryptoError {
            // Rows whose public key is not on the curve must fail, and only those may fail to parse.
            #expect(error.code == .invalidPublicKey)
            verified = false
        }
        #expect(verified == v.valid)
    }

    @Test("fresh keys sign and verify; any flipped bit fails")
    func freshKeys() throws {
        var rng = SeededRandom(seed: testSeed())
        for _ in 0..<50 {
            let key = try SecretKey()
            let message = rng.bytes(Int.random(in: 0...200, using: &rng))
            let signature = try key.sign(message)
            #expect(key.publicKey.verify(signature, for: message))
            var badSignature = signature.bytes
            badSignature[Int.random(in: 0..<64, using: &rng)] ^= 1 << UInt8.random(in: 0...7, using: &rng)
            #expect(!key.publicKey.verify(try Signature(bytes: badSignature), for: message))
            if !message.isEmpty {
                var badMessage = message
                badMessage[Int.random(in: 0..<message.count, using: &rng)] ^= 0x80
                #expect(!key.publicKey.verify(signature, for: badMessage))
            }
            #expect(!(try SecretKey()).publicKey.verify(signature, for: message))
        }
    }

    @Test("two signatures of one message differ (fresh auxiliary randomness) and both verify")
    func freshAuxRandomness() throws {
        let key = try SecretKey()
        let a = try key.sign([1, 2, 3])
        let b = try key.sign([1, 2, 3])
        #expect(a != b)
        #expect(key.publicKey.verify(a, for: [1, 2, 3]) && key.publicKey.verify(b, for: [1, 2, 3]))
    }

    @Test("a key parsed again comes from the process's cache: the same point as libsecp256k1 parses, the same verdicts")
    func parsedKeyCache() throws {
        for v in loadBIP340() {
            let bytes = try hex(v.publicKey)
            var direct = secp256k1_xonly_pubkey()
            let parses = secp256k1_xonly_pubkey_parse(Secp256k1Context.shared.pointer, &direct, bytes) == 1
            for _ in 0..<2 {
                let cached = ParsedKeyCache.parse(bytes)
                #expect((cached != nil) == parses, "row \(v.index)")
                if var cached {
                    #expect(withUnsafeBytes(of: &cached) { Array($0) } == withUnsafeBytes(of: &direct) { Array($0) })
                }
                let signature = try Signature(bytes: try hex(v.signature))
                let verdict = (try? PublicKey(bytes: bytes))?.verify(signature, for: try hex(v.message)) ?? false
                #expect(verdict == v.valid, "row \(v.index)")
                #expect(PublicKey(uncheckedBytes: bytes)?.verify(signature, for: try hex(v.message)) == v.valid)
            }
        }
        #expect(ParsedKeyCache.count <= ParsedKeyCache.capacity)
    }

    @Test("invalid secret keys, public keys and signature lengths are typed errors")
    func invalidInputs() throws {
        let order = try hex("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141")
        for bad in [[UInt8](repeating: 0, count: 32), order, [UInt8](repeating: 1, count: 31)] {
            #expect { try SecretKey(bytes: bad) } throws: { ($0 as? TwinCryptoError)?.code == .invalidSecretKey }
        }
        #expect { try PublicKey(bytes: [UInt8](repeating: 0xFF, count: 32)) } throws: {
            ($0 as? TwinCryptoError)?.code == .invalidPublicKey
        }
        #expect { try Signature(bytes: [1, 2]) } throws: { ($0 as? TwinCryptoError)?.code == .invalidSignature }
    }

    @Test("tagged hash matches BIP340's definition computed by hand")
    func taggedHash() throws {
        let data: [UInt8] = Array("TwinLedger".utf8)
        let tag = Array(SHA256.hash(data: Array("BIP0340/challenge".utf8)))
        let expected = Array(SHA256.hash(data: tag + tag + data))
        #expect(Hashing.taggedHash(tag: "BIP0340/challenge", data).bytes == expected)
    }
}
