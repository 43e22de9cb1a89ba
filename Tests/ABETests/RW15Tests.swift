// The RW15 scheme end to end, on real pairings (../shared/ABE-RW15.md "Tests that must exist"): a user decrypts
// exactly when their attribute set satisfies the policy (seeded random policies and sets over three authorities);
// two users who each hold part of a policy cannot pool their keys, even when the keys are relabelled to one identity
// (the H(GID) terms do not cancel, so the result is a wrong m and the wrapped key fails to open); a key for an old
// attribute version or an old authority epoch fails on ciphertexts under the new one; a change to any component of
// an envelope is refused or fails to open, never yielding a different key; encodings round-trip byte for byte.
import ABE
import Encoding
import Pairing
import TestSupport
import Testing

struct Consortium {
    var random: SeededRandom
    var secrets: [String: AuthoritySecretKey] = [:]
    var versions: [AttributeName: UInt64] = [:]

    init(seed: UInt64, authorities: [String]) throws {
        random = SeededRandom(seed: seed)
        for name in authorities { secrets[name] = try AuthoritySecretKey.generate(authority: name, epoch: 1, using: &random) }
    }

    var publicKeys: [String: AuthorityPublicKey] { secrets.mapValues(\.publicKey) }

    mutating func version(_ attribute: AttributeName) -> UInt64 { versions[attribute] ?? 1 }

    mutating func keys(for gid: [UInt8], _ attributes: [AttributeName]) throws -> [AttributeKey] {
        var keys: [AttributeKey] = []
        for attribute in attributes {
            guard let secret = secrets[attribute.authority] else { throw TestSupportError.badHex("no authority") }
            keys.append(try secret.issue(gid: gid, attribute: attribute, version: version(attribute), using: &random))
        }
        return keys
    }

    mutating func allVersions(_ policy: Policy) -> [AttributeName: UInt64] {
        Dictionary(uniqueKeysWithValues: policy.attributes.map { ($0, version($0)) })
    }

    mutating func message() -> Fp12 { Fp12.gtGenerator.power(Fr.random(using: &random)) }
}

func code(_ body: () throws -> Void) -> String? {
    do { try body(); return nil } catch { return (error as? ABEError)?.code.rawValue ?? "\(error)" }
}

func fr(_ text: String) throws -> Fr { try Fr(bytes: try hex(text)) }

let alice = [UInt8](repeating: 0xa1, count: 32), bob = [UInt8](repeating: 0xb0, count: 32)

@Suite("ABE: RW15 on BLS12-381")
struct RW15Tests {
    @Test("the issue's policy: a cardiologist who is staff at Hospital A, or the neurologist, decrypts; others do not")
    func example() throws {
        var c = try Consortium(seed: testSeed(), authorities: ["HOSP_A", "NEURO_CENTER"])
        let policy = try Policy(parsing: "(HOSP_A.cardiologist and HOSP_A.staff) or NEURO_CENTER.neurologist")
        let m = c.message()
        let ciphertext = try RW15.encrypt(m, policy: policy, authorities: c.publicKeys, versions: c.allVersions(policy), using: &c.random)
        let neurologist = try c.keys(for: alice, [attribute("NEURO_CENTER.neurologist")])
        #expect(try RW15.decrypt(ciphertext, gid: alice, keys: neurologist) == m)
        let cardiologist = try c.keys(for: bob, [attribute("HOSP_A.cardiologist"), attribute("HOSP_A.staff")])
        #expect(try RW15.decrypt(ciphertext, gid: bob, keys: cardiologist) == m)
        let partial = try c.keys(for: bob, [attribute("HOSP_A.cardiologist")])
        #expect(code { _ = try RW15.decrypt(ciphertext, gid: bob, keys: partial) } == "not_satisfied")
        // Another user's keys do not count.
        #expect(code { _ = try RW15.decrypt(ciphertext, gid: bob, keys: neurologist) } == "not_satisfied")
    }

    @Test("decryption succeeds exactly when the held attributes satisfy the policy (seeded random policies and sets)")
    func satisfiesExactly() throws {
        var c = try Consortium(seed: testSeed() &+ 1, authorities: ["A0", "A1", "A2"])
        var opened = 0, refused = 0
        for round in 0..<10 {
            var next = 0
            let policy = randomPolicy(&c.random, depth: 2, next: &next, leavesMax: 5)
            let m = c.message()
            let ciphertext = try RW15.encrypt(m, policy: policy, authorities: c.publicKeys, versions: c.allVersions(policy), using: &c.random)
            for _ in 0..<2 {
                let held = policy.attributes.filter { _ in c.random.next() % 2 == 0 }
                let keys = try c.keys(for: alice, held)
                if policy.isSatisfied(by: Set(held)) {
                    #expect(try RW15.decrypt(ciphertext, gid: alice, keys: keys) == m, "round \(round): \(policy)")
                    opened += 1
                } else {
                    #expect(code { _ = try RW15.decrypt(ciphertext, gid: alice, keys: keys) } == "not_satisfied")
                    refused += 1
                }
            }
        }
        #expect(opened >= 4 && refused >= 4)
    }

    @Test("collusion: two users holding half a policy each cannot combine keys, even relabelled to one identity")
    func collusion() throws {
        var c = try Consortium(seed: testSeed() &+ 2, authorities: ["A", "B"])
        let policy = try Policy(parsing: "A.x and B.y")
        var dataKey = [UInt8](repeating: 7, count: 32)
        let envelope = try ABEEnvelope.seal(dataKey, policy: policy, authorities: c.publicKeys,
                                            versions: c.allVersions(policy), using: &c.random)
        let aliceKeys = try c.keys(for: alice, [attribute("A.x")]), bobKeys = try c.keys(for: bob, [attribute("B.y")])
        #expect(code { _ = try envelope.open(gid: alice, keys: aliceKeys + bobKeys) } == "not_satisfied")
        // Bob's key relabelled as Alice's gets past the bookkeeping; the algebra still refuses.
        let forged = bobKeys.map { AttributeKey(gid: alice, attribute: $0.attribute, epoch: $0.epoch, k: $0.k, kPrime: $0.kPrime) }
        let wrong = try RW15.decrypt(envelope.ciphertext, gid: alice, keys: aliceKeys + forged)
        #expect(wrong != (try RW15.decrypt(envelope.ciphertext, gid: alice, keys: try c.keys(for: alice, [attribute("A.x"), attribute("B.y")]))))
        #expect(code { _ = try envelope.open(gid: alice, keys: aliceKeys + forged) } == "open_failed")
        // One user holding both opens it.
        let both = try c.keys(for: alice, [attribute("A.x"), attribute("B.y")])
        #expect(try envelope.open(gid: alice, keys: both) == dataKey)
        dataKey[0] = 0
    }

    @Test("a key for version v fails on a ciphertext for v+1; a key of an old authority epoch fails under the new epoch")
    func versionsAndEpochs() throws {
        var c = try Consortium(seed: testSeed() &+ 3, authorities: ["A", "B"])
        let policy = try Policy(parsing: "A.x or B.y")
        let old = try c.keys(for: alice, [attribute("A.x")])
        c.versions[attribute("A.x")] = 2
        let m = c.message()
        let ciphertext = try RW15.encrypt(m, policy: policy, authorities: c.publicKeys, versions: c.allVersions(policy), using: &c.random)
        #expect(ciphertext.attributes.map(\.label) == ["A.x#2", "B.y#1"])
        #expect(code { _ = try RW15.decrypt(ciphertext, gid: alice, keys: old) } == "not_satisfied")
        let relabelled = old.map {
            AttributeKey(gid: $0.gid, attribute: VersionedAttribute($0.attribute.name, version: 2), epoch: $0.epoch, k: $0.k, kPrime: $0.kPrime)
        }
        #expect(try RW15.decrypt(ciphertext, gid: alice, keys: relabelled) != m)
        let fresh = try c.keys(for: alice, [attribute("A.x")])
        #expect(try RW15.decrypt(ciphertext, gid: alice, keys: fresh) == m)

        // Authority A rotates to epoch 2: new ciphertexts need keys of the new epoch.
        let before = try RW15.encrypt(m, policy: policy, authorities: c.publicKeys, versions: c.allVersions(policy), using: &c.random)
        c.secrets["A"] = try AuthoritySecretKey.generate(authority: "A", epoch: 2, using: &c.random)
        let after = try RW15.encrypt(m, policy: policy, authorities: c.publicKeys, versions: c.allVersions(policy), using: &c.random)
        #expect(after.epochs == ["A": 2, "B": 1])
        #expect(code { _ = try RW15.decrypt(after, gid: alice, keys: fresh) } == "not_satisfied")
        let staleEpoch = fresh.map { AttributeKey(gid: $0.gid, attribute: $0.attribute, epoch: 2, k: $0.k, kPrime: $0.kPrime) }
        #expect(try RW15.decrypt(after, gid: alice, keys: staleEpoch) != m)
        let rekeyed = try c.keys(for: alice, [attribute("A.x")])
        #expect(try RW15.decrypt(after, gid: alice, keys: rekeyed) == m)
        // The ciphertext made before the rotation still opens with the old epoch's key.
        #expect(try RW15.decrypt(before, gid: alice, keys: fresh) == m)
    }

    @Test("a change to any part of an envelope is refused on decoding or fails to open, never giving another key")
    func tampering() throws {
        var c = try Consortium(seed: testSeed() &+ 4, authorities: ["A", "B"])
        let policy = try Policy(parsing: "A.x and B.y")
        let dataKey = (0..<32).map { UInt8($0) }
        let envelope = try ABEEnvelope.seal(dataKey, policy: policy, authorities: c.publicKeys,
                                            versions: c.allVersions(policy), using: &c.random)
        let keys = try c.keys(for: alice, [attribute("A.x"), attribute("B.y")])
        let bytes = envelope.bytes
        #expect(try ABEEnvelope(bytes: bytes) == envelope)
        #expect(try ABEEnvelope(bytes: bytes).bytes == bytes)
        #expect(try ABEEnvelope(bytes: bytes).open(gid: alice, keys: keys) == dataKey)
        // Flip one bit at positions across every field (the policy text, versions, epochs, C0, each row's C1..C4, the
        // nonce, the sealed key and its tag).
        var outcomes: [String: Int] = [:]
        for position in stride(from: 1, to: bytes.count, by: max(1, bytes.count / 97)) {
            var altered = bytes
            altered[position] ^= 0x04
            let result = code { _ = try ABEEnvelope(bytes: altered).open(gid: alice, keys: keys) }
            #expect(result != nil, "flipping byte \(position) still opened")
            outcomes[result ?? "opened", default: 0] += 1
        }
        #expect(Set(outcomes.keys).isSubset(of: ["invalid_encoding", "open_failed", "not_satisfied"]), "\(outcomes)")
        #expect((outcomes["open_failed"] ?? 0) > 20 && (outcomes["invalid_encoding"] ?? 0) > 5, "\(outcomes)")
        #expect(code { _ = try ABEEnvelope(bytes: bytes.dropLast()) } == "invalid_encoding")
        #expect(code { _ = try ABEEnvelope(bytes: bytes + [0]) } == "invalid_encoding")
    }

    @Test("keys and ciphertexts round-trip byte for byte; decoding refuses keys off the curve and non-canonical policies")
    func encodings() throws {
        var c = try Consortium(seed: testSeed() &+ 5, authorities: ["A"])
        let secret = try #require(c.secrets["A"])
        #expect(try AuthoritySecretKey(bytes: secret.bytes).bytes == secret.bytes)
        let publicKey = secret.publicKey
        #expect(try AuthorityPublicKey(bytes: publicKey.bytes) == publicKey)
        let key = try c.keys(for: alice, [attribute("A.x")])[0]
        #expect(try AttributeKey(bytes: key.bytes) == key)
        let policy = try Policy(parsing: "A.x or A.y")
        let ciphertext = try RW15.encrypt(c.message(), policy: policy, authorities: c.publicKeys, versions: c.allVersions(policy), using: &c.random)
        #expect(try ABECiphertext(bytes: ciphertext.bytes) == ciphertext)
        // The policy re-spelled ("A.x OR A.y") decodes only in canonical form.
        var writer = CanonicalWriter()
        writer.write(fixed: [Canonical.formatVersion])
        writer.write(string: "A.x OR A.y")
        let respelled = writer.bytes + Array(ciphertext.bytes.dropFirst(1 + 1 + "A.x or A.y".utf8.count))
        #expect(code { _ = try ABECiphertext(bytes: respelled) } == "invalid_encoding")
        // gT^alpha replaced by a field element outside GT.
        var badPublic = publicKey.bytes
        let gtStart = 1 + 1 + 1 + 1  // version, string length, "A", epoch
        badPublic[gtStart + 47] ^= 1
        #expect(code { _ = try AuthorityPublicKey(bytes: badPublic) } == "invalid_encoding")
    }

    @Test("refusals: an unknown authority, a missing version, another authority's attribute, an empty data key")
    func refusals() throws {
        var c = try Consortium(seed: testSeed() &+ 6, authorities: ["A"])
        let policy = try Policy(parsing: "A.x or B.y")
        let m = c.message()
        let keys = c.publicKeys
        #expect(code { _ = try RW15.encrypt(m, policy: policy, authorities: keys, versions: [attribute("A.x"): 1, attribute("B.y"): 1], using: &c.random) } == "unknown_authority")
        let onlyA = try Policy(parsing: "A.x or A.y")
        #expect(code { _ = try RW15.encrypt(m, policy: onlyA, authorities: keys, versions: [attribute("A.x"): 1], using: &c.random) } == "unknown_authority")
        let secret = try #require(c.secrets["A"])
        #expect(code { _ = try secret.issue(gid: alice, attribute: attribute("B.y"), version: 1, using: &c.random) } == "invalid_key")
        #expect(code { _ = try ABEEnvelope.seal([], policy: onlyA, authorities: keys, versions: c.allVersions(onlyA), using: &c.random) } == "invalid_key")
        #expect(code { _ = try AuthoritySecretKey.generate(authority: "bad name", epoch: 1, using: &c.random) } == "invalid_policy")
    }
}
