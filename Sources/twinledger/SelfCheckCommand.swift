import ArgumentParser
import Encoding
import Foundation
import KeyValue
import Storage
import TwinCrypto

/// Exercises the foundation end to end on this machine: keys, signatures, envelopes, key files, encoding, LevelDB.
struct SelfCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "selfcheck",
        abstract: "Run an end-to-end check of keys, signatures, envelopes, key files, encoding and LevelDB."
    )

    @Option(help: "Working directory (default: a new temporary directory, removed afterwards).") var dir: String?

    func run() throws {
        let work = dir ?? NSTemporaryDirectory() + "twinledger-selfcheck-\(getpid())"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { if dir == nil { try? FileManager.default.removeItem(atPath: work) } }
        var failures = 0

        func step(_ name: String, _ body: () throws -> String) {
            do {
                let detail = try body()
                print("  ok    \(name)\(detail.isEmpty ? "" : ": " + detail)")
            } catch {
                failures += 1
                print("  FAIL  \(name): \(error)")
            }
        }

        print("twinledger \(twinLedgerVersion) self-check in \(work)")
        let patient = try SecretKey()
        let practitioner = try SecretKey()

        step("BIP340 key generation") { "patient \(patient.publicKey.hex.prefix(16))…" }
        step("Schnorr sign and verify") {
            let message = Array("consent.grant neuro.mri to practitioner".utf8)
            let digest = Hashing.taggedHash(tag: "TwinLedger/selfcheck", message).bytes
            let signature = try patient.sign(digest)
            guard patient.publicKey.verify(signature, for: digest) else { throw CheckFailure("valid signature refused") }
            guard !practitioner.publicKey.verify(signature, for: digest) else {
                throw CheckFailure("signature verified under the wrong key")
            }
            return "valid accepted, wrong key refused"
        }
        step("key envelope wrap/unwrap") {
            let dataKey = SecureRandom.bytes(32)
            let envelope = try KeyEnvelope.wrap(dataKey: dataKey, for: practitioner.publicKey)
            guard try envelope.unwrap(with: practitioner) == dataKey else { throw CheckFailure("data key differs") }
            do {
                _ = try envelope.unwrap(with: patient)
                throw CheckFailure("envelope opened by the wrong key")
            } catch let error as TwinCryptoError where error.code == .wrongRecipient {}
            return "\(envelope.bytes.count)-byte envelope, wrong recipient refused"
        }
        step("AES-256-GCM shadow encryption") {
            let dataKey = SecureRandom.bytes(32)
            let nonce = SecureRandom.bytes(12)
            let shadow = Array("{\"resourceType\":\"Observation\"}".utf8)
            let sealed = try AESGCM.seal(shadow, key: dataKey, nonce: nonce, authenticating: [UInt8]())
            guard try AESGCM.open(sealed, key: dataKey, nonce: nonce, authenticating: [UInt8]()) == shadow else {
                throw CheckFailure("plaintext differs")
            }
            return "sealed \(shadow.count) bytes, content address \(Hashing.sha3(sealed).hex.prefix(16))…"
        }
        step("key file 0600 and sealed reload") {
            let path = work + "/patient.key"
            try KeyFile.save(patient, to: path, passphrase: "selfcheck", cost: .init(log2N: 12, r: 8, p: 1))
            let mode = (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? 0
            guard mode == 0o600 else { throw CheckFailure("mode \(String(mode, radix: 8))") }
            guard try KeyFile.load(from: path, passphrase: "selfcheck").publicKey == patient.publicKey else {
                throw CheckFailure("reloaded key differs")
            }
            return "mode 600, passphrase-sealed, reloaded"
        }
        step("canonical encoding round trip") {
            let bytes = Canonical.encode(patient.publicKey)
            let decoded = try Canonical.decode(PublicKey.self, from: bytes)
            guard decoded == patient.publicKey else { throw CheckFailure("decoded key differs") }
            do {
                _ = try Canonical.decode(PublicKey.self, from: bytes + [0])
                throw CheckFailure("trailing byte accepted")
            } catch is CanonicalDecodingError {}
            return "\(bytes.count) bytes, trailing byte refused"
        }
        step("LevelDB atomic batch, snapshot, reopen") {
            let path = work + "/db"
            var store: LevelDBStore? = try LevelDBStore(path: path)
            var batch = WriteBatch()
            for i in 0..<1_000 { batch.put(Array("grant/\(i)".utf8), Array("active".utf8)) }
            try store?.write(batch, sync: true)
            let snapshot = try store?.snapshot()
            try store?.delete(Array("grant/0".utf8), sync: true)
            guard try snapshot?.get(Array("grant/0".utf8)) != nil else { throw CheckFailure("snapshot saw a later write") }
            store?.close()
            store = nil
            let reopened = try LevelDBStore(path: path)
            let count = try reopened.scan(prefix: Array("grant/".utf8)).count
            guard count == 999 else { throw CheckFailure("\(count) entries after reopen, expected 999") }
            return "1,000 puts in one batch, snapshot isolated, 999 after delete and reopen"
        }

        if failures == 0 {
            print("self-check passed.")
        } else {
            print("self-check FAILED: \(failures) step(s)")
            throw ExitCode(1)
        }
    }
}

struct CheckFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
