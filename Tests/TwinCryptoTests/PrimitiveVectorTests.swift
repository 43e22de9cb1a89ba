// Published vectors for the symmetric primitives, each cross-checked when written against Python's hashlib/hmac and
// the `cryptography` package (independent implementations).
//
// Covers: SHA3-256 (FIPS 202 examples: empty, "abc", the 448- and 896-bit messages, one million 'a'), streaming
// SHA3 equals one-shot; every length 0-300 (both sides of the one-block boundary where the C one-block hash hands
// over to swift-crypto) equals Python's hashlib, one-shot, streamed, in parts and batched eight to a permutation; HKDF-SHA256 (RFC 5869 test cases 1-3, PRK and OKM); AES-256-GCM (McGrew-Viega GCM spec
// test cases 13, 14 and 16, as used in NIST's GCM validation) including tamper and wrong-length rejection.
import Encoding
import Foundation
import TestSupport
import Testing
import TwinCrypto

@Suite("SHA3-256, HKDF, AES-256-GCM vectors")
struct PrimitiveVectorTests {
    @Test("SHA3-256 FIPS 202 examples", arguments: [
        ("", "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"),
        ("abc", "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "41c0dba2a9d6240849100376a8235e2c82e1b9998a999e21db32dd97496d3376"),
        ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "916f6061fe879741ca6469b43971dfdb28b1a32dc36cb3254e812be27aad1d18"),
    ])
    func sha3(_ input: String, _ digest: String) {
        #expect(Hashing.sha3(Array(input.utf8)).hex == digest)
    }

    @Test("SHA3-256 of one million 'a', one-shot and streamed in uneven chunks")
    func sha3Million() {
        let expected = "5c8875ae474a3634ba4fd55ec85bffd661f32aca75c6d699d0cdcb6c115891c1"
        let input = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        #expect(Hashing.sha3(input).hex == expected)
        var hasher = SHA3Hasher()
        var offset = 0
        var step = 1
        while offset < input.count {
            let end = min(input.count, offset + step)
            hasher.update(Array(input[offset..<end]))
            offset = end
            step = step * 3 + 1
        }
        #expect(hasher.finalize().hex == expected)
        #expect(Hashing.sha3(parts: [Array("ab".utf8), [], Array("c".utf8)]).hex.hasPrefix("3a985da7"))
    }

    @Test("SHA3-256 at every length 0-300 equals hashlib, through the one-block path, swift-crypto and parts")
    func sha3Lengths() throws {
        struct File: Decodable { let digests: [String] }
        let file = try JSONDecoder().decode(File.self, from: Data(try loadVector("sha3-length-vectors.json").utf8))
        #expect(file.digests.count == 301)
        #expect(Hashing.oneBlockLimit == 136)
        for (length, expected) in file.digests.enumerated() {
            let input = (0..<length).map { UInt8((7 * $0 + 3) % 256) }
            #expect(Hashing.sha3(input).hex == expected, "length \(length)")
            #expect(input.withUnsafeBytes { Hashing.streamingSHA3($0) }.hex == expected, "length \(length)")
            let cut = length / 3
            #expect(Hashing.sha3(parts: [Array(input[..<cut]), [], Array(input[cut...])]).hex == expected)
            var hasher = SHA3Hasher()
            hasher.update(Array(input[..<cut]))
            hasher.update(Array(input[cut...]))
            #expect(hasher.finalize().hex == expected, "length \(length)")
        }
        // Batched: the one-block inputs eight to a permutation (any count, so partial groups too), and a batch that
        // mixes in longer inputs.
        let inputs = (0...300).map { length in (0..<length).map { UInt8((7 * $0 + 3) % 256) } }
        for count in [1, 7, 8, 9, 136] {
            var batch = SHA3Batch()
            for input in inputs.prefix(count) { batch.append(input) }
            #expect(batch.digests().map(\.hex) == Array(file.digests.prefix(count)), "batch of \(count)")
        }
        var mixed = SHA3Batch()
        for input in inputs.reversed() { mixed.append(input) }
        #expect(mixed.digests().map(\.hex) == file.digests.reversed())
        #expect(SHA3Batch().digests().isEmpty)
    }

    struct HKDFCase: Sendable {
        let ikm, salt, info, prk, okm: String
    }

    @Test("HKDF-SHA256, RFC 5869 appendix A test cases 1-3", arguments: [
        HKDFCase(
            ikm: "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", salt: "000102030405060708090a0b0c",
            info: "f0f1f2f3f4f5f6f7f8f9", prk: "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
            okm: "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"),
        HKDFCase(
            ikm: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f",
            salt: "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
            info: "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
            prk: "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
            okm: "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87"),
        HKDFCase(
            ikm: "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", salt: "", info: "",
            prk: "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
            okm: "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"),
    ])
    func hkdf(_ c: HKDFCase) throws {
        let prk = HKDFSHA256.extract(ikm: try hex(c.ikm), salt: try hex(c.salt))
        #expect(Hex.encode(prk) == c.prk)
        let okm = try HKDFSHA256.expand(prk: prk, info: try hex(c.info), length: c.okm.count / 2)
        #expect(Hex.encode(okm) == c.okm)
        #expect { try HKDFSHA256.expand(prk: prk, info: [], length: 255 * 32 + 1) } throws: {
            ($0 as? TwinCryptoError)?.code == .invalidLength
        }
    }

    struct GCMCase: Sendable {
        let name, key, nonce, plaintext, aad, ciphertext, tag: String
    }

    @Test("AES-256-GCM, GCM specification test cases 13, 14, 16", arguments: [
        GCMCase(name: "13", key: String(repeating: "00", count: 32), nonce: String(repeating: "00", count: 12),
                plaintext: "", aad: "", ciphertext: "", tag: "530f8afbc74536b9a963b4f1c4cb738b"),
        GCMCase(name: "14", key: String(repeating: "00", count: 32), nonce: String(repeating: "00", count: 12),
                plaintext: String(repeating: "00", count: 16), aad: "",
                ciphertext: "cea7403d4d606b6e074ec5d3baf39d18", tag: "d0d1c8a799996bf0265b98b5d48ab919"),
        GCMCase(name: "16", key: "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
                nonce: "cafebabefacedbaddecaf888",
                plaintext: "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
                aad: "feedfacedeadbeeffeedfacedeadbeefabaddad2",
                ciphertext: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
                tag: "76fc6ece0f4e1768cddf8853bb2d551b"),
    ])
    func gcm(_ c: GCMCase) throws {
        let key = try hex(c.key), nonce = try hex(c.nonce), aad = try hex(c.aad), plaintext = try hex(c.plaintext)
        let sealed = try AESGCM.seal(plaintext, key: key, nonce: nonce, authenticating: aad)
        #expect(Hex.encode(sealed) == c.ciphertext + c.tag)
        #expect(try AESGCM.open(sealed, key: key, nonce: nonce, authenticating: aad) == plaintext)
        for index in [0, sealed.count - 1] {
            var tampered = sealed
            tampered[index] ^= 1
            #expect { try AESGCM.open(tampered, key: key, nonce: nonce, authenticating: aad) } throws: {
                ($0 as? TwinCryptoError)?.code == .authenticationFailed
            }
        }
        #expect { try AESGCM.open(sealed, key: key, nonce: nonce, authenticating: aad + [0]) } throws: {
            ($0 as? TwinCryptoError)?.code == .authenticationFailed
        }
        #expect { try AESGCM.seal(plaintext, key: Array(key.dropLast()), nonce: nonce, authenticating: aad) } throws: {
            ($0 as? TwinCryptoError)?.code == .invalidLength
        }
        #expect { try AESGCM.open(Array(sealed.prefix(5)), key: key, nonce: nonce, authenticating: aad) } throws: {
            ($0 as? TwinCryptoError)?.code == .invalidLength || ($0 as? TwinCryptoError)?.code == .authenticationFailed
        }
    }
}
