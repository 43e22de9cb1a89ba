// RW15 against an independent implementation: Tests/Vectors/abe-vectors.json, written by gen_abe_vectors.py, which
// implements ../shared/ABE-RW15.md on py_ecc 8.0.0 with its own LSSS construction and Docs/abe.md's byte layouts.
// With the vector's scalars in place of randomness, our authority keys, attribute keys and ciphertexts must be the
// same bytes; decoding them must round-trip; and our decryption of its ciphertexts must give its m.
import Foundation
@testable import ABE
import Encoding
import Pairing
import TestSupport
import Testing

@Suite("ABE: RW15 against py_ecc")
struct ABEVectorTests {
    @Test("authority keys, attribute keys and ciphertexts equal py_ecc's bytes, and decrypt to its m")
    func vectors() throws {
        let object = try JSONSerialization.jsonObject(with: Data(try loadVector("abe-vectors.json").utf8)) as? [String: Any] ?? [:]
        let gid = try hex(object["gid"] as? String ?? "")
        var secrets: [String: AuthoritySecretKey] = [:], publics: [String: AuthorityPublicKey] = [:]
        for entry in object["authorities"] as? [[String: Any]] ?? [] {
            let name = entry["authority"] as? String ?? "", epoch = UInt64(entry["epoch"] as? Int ?? 0)
            let secret = AuthoritySecretKey(authority: name, epoch: epoch, alpha: try fr(entry["alpha"] as? String ?? ""),
                                            y: try fr(entry["y"] as? String ?? ""))
            #expect(Hex.encode(secret.bytes) == entry["secret"] as? String)
            #expect(Hex.encode(secret.publicKey.bytes) == entry["public"] as? String)
            let decoded = try AuthorityPublicKey(bytes: try hex(entry["public"] as? String ?? ""))
            #expect(decoded == secret.publicKey)
            secrets[name] = secret
            publics[name] = decoded
        }
        #expect(secrets.count == 2)
        var keys: [AttributeKey] = []
        var versions: [AttributeName: UInt64] = [:]
        for entry in object["keys"] as? [[String: Any]] ?? [] {
            let name = try AttributeName(entry["attribute"] as? String ?? ""), version = UInt64(entry["version"] as? Int ?? 0)
            let secret = try #require(secrets[name.authority])
            let key = secret.issue(gid: gid, attribute: name, version: version, t: try fr(entry["t"] as? String ?? ""))
            #expect(Hex.encode(key.bytes) == entry["key"] as? String, "\(name)")
            #expect(try AttributeKey(bytes: key.bytes) == key)
            keys.append(key)
            versions[name] = version
        }
        #expect(keys.count == 3)
        let ciphertexts = object["ciphertexts"] as? [[String: Any]] ?? []
        #expect(ciphertexts.count == 2)
        for entry in ciphertexts {
            let policy = try Policy(parsing: entry["policy"] as? String ?? "")
            let m = try Fp12(bytes: try hex(entry["m"] as? String ?? ""))
            let randomness = RW15.EncryptionRandomness(
                z: try fr(entry["z"] as? String ?? ""), v: try (entry["v"] as? [String] ?? []).map { try fr($0) },
                w: try (entry["w"] as? [String] ?? []).map { try fr($0) }, t: try (entry["t"] as? [String] ?? []).map { try fr($0) })
            let matrix = LSSSMatrix(policy)
            let ciphertext = try RW15.encrypt(
                m, matrix: matrix, policy: policy, authorities: publics, rowVersions: matrix.attributes.compactMap { versions[$0] },
                epochs: publics.mapValues(\.epoch),
                randomness: randomness)
            #expect(Hex.encode(ciphertext.bytes) == entry["ciphertext"] as? String, "\(policy)")
            let theirs = try ABECiphertext(bytes: try hex(entry["ciphertext"] as? String ?? ""))
            #expect(theirs == ciphertext)
            #expect(try RW15.decrypt(theirs, gid: gid, keys: keys) == m, "\(policy)")
            #expect(try RW15.decrypt(theirs, gid: gid, keys: keys, shortExponents: false) == m, "\(policy), full-size exponents")
            // Each way of satisfying it: every pair of the three attributes, where the policy allows.
            for drop in keys.indices {
                var subset = keys
                subset.remove(at: drop)
                if policy.isSatisfied(by: Set(subset.map(\.attribute.name))) {
                    #expect(try RW15.decrypt(theirs, gid: gid, keys: subset) == m, "\(policy) without \(keys[drop].attribute)")
                    #expect(try RW15.decrypt(theirs, gid: gid, keys: subset, shortExponents: false) == m)
                }
            }
        }
    }
}
