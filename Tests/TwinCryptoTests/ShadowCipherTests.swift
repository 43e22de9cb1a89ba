// Shadow payload encryption against vectors from an independent AES-GCM (Python's cryptography, OpenSSL): every case
// encrypts to exactly the published ciphertext and decrypts back; a flipped bit, a swapped pair of segments, a dropped
// last segment, another shadow id, version or key all fail to open; production sizes make 1 MiB sealed segments.
import Encoding
import Foundation
import TestSupport
import Testing
import TwinCrypto

struct ShadowCipherCase: Sendable, CustomTestStringConvertible {
    let name: String, key: [UInt8], shadow: Hash32, version: UInt64, segmentBytes: Int, plaintext: [UInt8], ciphertext: [UInt8]
    var testDescription: String { name }
}

func loadShadowCipherCases() -> [ShadowCipherCase] {
    guard let text = try? loadVector("shadow-cipher-vectors.json"),
        let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
        let cases = object["cases"] as? [[String: Any]]
    else { return [] }
    return cases.compactMap { c in
        guard let name = c["name"] as? String, let key = (c["key"] as? String).flatMap(Hex.decode),
            let shadow = (c["shadow"] as? String).flatMap({ Hash32(hex: $0) }), let version = c["version"] as? Int,
            let segment = c["segment_bytes"] as? Int, let plaintext = (c["plaintext"] as? String).flatMap(Hex.decode),
            let ciphertext = (c["ciphertext"] as? String).flatMap(Hex.decode)
        else { return nil }
        return ShadowCipherCase(name: name, key: key, shadow: shadow, version: UInt64(version), segmentBytes: segment,
                                plaintext: plaintext, ciphertext: ciphertext)
    }
}

@Suite("Shadow cipher")
struct ShadowCipherTests {
    @Test("all five independent vectors load")
    func vectorsLoad() { #expect(loadShadowCipherCases().count == 5) }

    @Test("encrypts to the independent implementation's ciphertext and back", arguments: loadShadowCipherCases())
    func vector(_ v: ShadowCipherCase) throws {
        let cipher = try ShadowCipher(dataKey: v.key, shadow: v.shadow, version: v.version, segmentBytes: v.segmentBytes)
        #expect(try cipher.encrypt(v.plaintext) == v.ciphertext)
        #expect(try cipher.decrypt(v.ciphertext) == v.plaintext)
        #expect(cipher.ciphertextSize(plaintextSize: UInt64(v.plaintext.count)) == UInt64(v.ciphertext.count))
    }

    @Test("altered, reordered, truncated or re-keyed ciphertexts do not open")
    func tampering() throws {
        let v = try #require(loadShadowCipherCases().first { $0.name == "two and a half segments" })
        let cipher = try ShadowCipher(dataKey: v.key, shadow: v.shadow, version: v.version, segmentBytes: v.segmentBytes)
        func fails(_ bytes: [UInt8], with other: ShadowCipher? = nil) -> Bool { (try? (other ?? cipher).decrypt(bytes)) == nil }
        var flipped = v.ciphertext
        flipped[40] ^= 1
        #expect(fails(flipped))
        let sealed = 10 + 28
        let swapped = Array(v.ciphertext[sealed..<(2 * sealed)] + v.ciphertext[0..<sealed] + v.ciphertext[(2 * sealed)...])
        #expect(fails(swapped))
        #expect(fails(Array(v.ciphertext[0..<(2 * sealed)])), "the last segment dropped")
        #expect(fails(v.ciphertext + v.ciphertext[0..<sealed]), "a segment appended")
        #expect(fails(v.ciphertext, with: try ShadowCipher(dataKey: v.key, shadow: Hashing.sha3([1]), version: v.version, segmentBytes: 10)))
        #expect(fails(v.ciphertext, with: try ShadowCipher(dataKey: v.key, shadow: v.shadow, version: v.version + 1, segmentBytes: 10)))
        #expect(fails(v.ciphertext, with: try ShadowCipher(dataKey: [UInt8](repeating: 9, count: 32), shadow: v.shadow, version: v.version, segmentBytes: 10)))
        #expect(fails([]))
    }

    @Test("production segments seal to exactly 1 MiB, the nodes' chunk size")
    func production() throws {
        let cipher = try ShadowCipher(dataKey: SecureRandom.bytes(32), shadow: Hashing.sha3([2]), version: 1)
        let plaintext = SecureRandom.bytes(ShadowCipher.plaintextSegmentBytes + 5)
        let ciphertext = try cipher.encrypt(plaintext)
        #expect(ciphertext.count == (1 << 20) + 5 + 28)
        #expect(try cipher.decrypt(ciphertext) == plaintext)
    }
}
