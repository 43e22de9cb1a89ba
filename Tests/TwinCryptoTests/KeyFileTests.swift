// Key files: mode 0600 on write, refusal of group- or world-accessible files, passphrase sealing with scrypt.
import Encoding
import Foundation
import TestSupport
import Testing
import TwinCrypto

@Suite("Key files")
struct KeyFileTests {
    /// Cheap scrypt parameters so the suite stays fast; production uses `.interactive` (N = 2^15).
    let cheap = KeyFile.ScryptCost(log2N: 10, r: 8, p: 1)

    func mode(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.posixPermissions] as? Int) ?? -1
    }

    @Test("plain key file: written 0600, loads back the same key")
    func plain() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let key = try SecretKey()
        let path = dir + "/node.key"
        try KeyFile.save(key, to: path)
        #expect(try mode(path) == 0o600)
        let loaded = try KeyFile.load(from: path)
        #expect(loaded.publicKey == key.publicKey)
        #expect(try KeyFile.loadPublicKey(from: path) == key.publicKey)
        #expect(try KeyFile.isSealed(path) == false)
        #expect { try KeyFile.save(key, to: path) } throws: { ($0 as? KeyFileError)?.code == .exists }
    }

    @Test("sealed key file: needs the right passphrase; the secret is not in the file")
    func sealed() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let key = try SecretKey()
        let path = dir + "/patient.key"
        try KeyFile.save(key, to: path, passphrase: "correct horse", cost: cheap)
        #expect(try KeyFile.isSealed(path))
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(!text.contains(Hex.encodeForTest(key.unsafeSecretBytes())))
        #expect(try KeyFile.load(from: path, passphrase: "correct horse").publicKey == key.publicKey)
        #expect { try KeyFile.load(from: path, passphrase: "wrong") } throws: {
            ($0 as? KeyFileError)?.code == .wrongPassphrase
        }
        #expect { try KeyFile.load(from: path) } throws: { ($0 as? KeyFileError)?.code == .passphraseRequired }
        // The public key is readable without the passphrase.
        #expect(try KeyFile.loadPublicKey(from: path) == key.publicKey)
    }

    @Test("group- or world-accessible key files are refused", arguments: [0o644, 0o640, 0o604, 0o660, 0o606])
    func insecure(_ permissions: Int) throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let path = dir + "/k.key"
        try KeyFile.save(try SecretKey(), to: path)
        try FileManager.default.setAttributes([.posixPermissions: permissions], ofItemAtPath: path)
        #expect { try KeyFile.load(from: path) } throws: { ($0 as? KeyFileError)?.code == .insecurePermissions }
    }

    @Test("a tampered or mismatched file is malformed or mismatched, never loaded")
    func tampered() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let path = dir + "/k.key"
        let key = try SecretKey()
        try KeyFile.save(key, to: path)
        var text = try String(contentsOfFile: path, encoding: .utf8)
        let other = try SecretKey()
        text = text.replacingOccurrences(of: key.publicKey.hex, with: other.publicKey.hex)
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        #expect { try KeyFile.load(from: path) } throws: { ($0 as? KeyFileError)?.code == .mismatch }
        try "{not json".write(toFile: path, atomically: false, encoding: .utf8)
        #expect { try KeyFile.load(from: path) } throws: { ($0 as? KeyFileError)?.code == .malformed }
        #expect { try KeyFile.load(from: dir + "/missing.key") } throws: { ($0 as? KeyFileError)?.code == .io }
    }

    @Test("a file demanding an absurd scrypt cost is refused before deriving")
    func hostileCost() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let path = dir + "/k.key"
        try KeyFile.save(try SecretKey(), to: path, passphrase: "p", cost: cheap)
        let text = try String(contentsOfFile: path, encoding: .utf8)
            .replacingOccurrences(of: "\"log2_n\" : 10", with: "\"log2_n\" : 40")
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        #expect { try KeyFile.load(from: path, passphrase: "p") } throws: { ($0 as? KeyFileError)?.code == .malformed }
    }
}

extension Hex {
    static func encodeForTest(_ bytes: [UInt8]) -> String { encode(bytes) }
}
