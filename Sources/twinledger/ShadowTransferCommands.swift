import ABE
import API
import ArgumentParser
import Encoding
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Ledger
import TwinCrypto

extension ShadowCommand {
    /// Encrypts a file on this machine, uploads it, wraps its data key for the signer (and any other recipients), and
    /// registers the shadow (Docs/shadows.md, "Client-side encryption").
    struct Put: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Encrypt a file, upload it to a node, and register it as a shadow of a patient."
        )
        @OptionGroup var signer: SignerOptions
        @Option(help: "Patient id (default: the signer's own).") var patient: String?
        @Option(help: "Comma-separated categories, e.g. neuro.mri.") var categories: String
        @Option(help: "Shadow id, for a new version of an existing shadow (default: a new random id).") var shadow: String?
        @Option(help: "Version (1 for a new shadow; each version has its own data key).") var version: UInt64 = 1
        @Option(help: "Also wrap the data key for these keys (x-only public keys, hex), comma-separated.") var recipients: String?
        @Flag(help: "Do not wrap the data key for the holders of active read grants that cover the shadow.") var noGrantees = false
        @Option(help: "Also wrap the data key under this ABE policy, e.g. \"(HOSP_A.cardiologist and HOSP_A.staff) or NEURO.neurologist\" (Docs/abe.md).")
        var policy: String?
        @Argument(help: "The file to encrypt and upload.") var file: String
        @OptionGroup var wallet: WalletOptions

        func run() async throws {
            let key = try signer.load()
            let client = try wallet.client()
            var parsedPolicy: ABE.Policy?
            if let policy {
                do { parsedPolicy = try ABE.Policy(parsing: policy) } catch {
                    throw ValidationError("--policy: \(error.message) (\(error.code.rawValue))")
                }
            }
            let health: HealthResponse = try await client.get("health")
            let patientID = try await patientOrOwn(patient, key, wallet)
            let id = try shadow.map { try hash($0, "--shadow") } ?? Hashing.sha3(SecureRandom.bytes(32))
            guard let input = FileHandle(forReadingAtPath: file) else { throw ValidationError("cannot read \(file)") }
            defer { try? input.close() }
            let size = UInt64((try? FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)??.uint64Value ?? 0)
            let mediaType = fhirMediaType(file, size: size) ?? "application/octet-stream"

            // Encrypt segment by segment into a temporary file (memory holds one segment).
            let dataKey = SecureRandom.bytes(32)
            let cipher = try ShadowCipher(dataKey: dataKey, shadow: id, version: version)
            let count = cipher.segmentCount(plaintextSize: size)
            let sealedPath = NSTemporaryDirectory() + "twinledger-shadow-\(UUID().uuidString).bin"
            guard FileManager.default.createFile(atPath: sealedPath, contents: nil), let sealed = FileHandle(forWritingAtPath: sealedPath) else {
                throw ValidationError("cannot write \(sealedPath)")
            }
            defer { try? FileManager.default.removeItem(atPath: sealedPath) }
            for index in 0..<count {
                let segment = try input.read(upToCount: ShadowCipher.plaintextSegmentBytes).map { [UInt8]($0) } ?? []
                try sealed.write(contentsOf: try cipher.seal(segment, index: index, count: count))
                progress("encrypting", Double(index + 1) / Double(count))
            }
            try sealed.close()
            let ciphertextSize = cipher.ciphertextSize(plaintextSize: size)

            let upload = try await uploadFile(URL(fileURLWithPath: sealedPath), size: ciphertextSize, mediaType: mediaType,
                                              patient: patientID, key: key, chainID: health.chainID, client: client)
            guard let manifest = Hash32(hex: upload.manifest) else { throw WalletError("the node answered a bad manifest address") }
            // A key envelope per recipient, each uploaded as a blob of its own: the signer, the keys named, and
            // (unless told not to) everyone holding an active read grant that covers this shadow.
            let keys = ShadowKeys(client: client, chainID: health.chainID, key: key)
            var recipientKeys = [key.publicKey]
            for text in list(recipients) {
                guard let bytes = Hex.decode(text), let recipient = try? PublicKey(bytes: bytes) else {
                    throw ValidationError("--recipients: \(text) is not an x-only public key")
                }
                if !recipientKeys.contains(recipient) { recipientKeys.append(recipient) }
            }
            if !noGrantees {
                for reader in try await keys.readers(of: patientID, shadow: id, categories: list(categories))
                where !recipientKeys.contains(reader) {
                    recipientKeys.append(reader)
                }
            }
            var envelopes: [EnvelopeReference] = []
            for recipient in recipientKeys {
                let address = try await keys.uploadEnvelope(dataKey, for: recipient, patient: patientID)
                envelopes.append(EnvelopeReference(recipient: recipient.keyID, address: address))
            }
            // Under the policy: with the authorities' current keys and versions, proven by the ledger.
            var policyEnvelope: PolicyEnvelope?
            if let parsedPolicy {
                let (sealed, epochs) = try await ABEWallet(client: client).seal(dataKey, policy: parsedPolicy)
                let address = try await keys.uploadBlob(sealed.bytes, mediaType: "application/vnd.twinledger.abe-envelope", patient: patientID)
                policyEnvelope = PolicyEnvelope(policy: parsedPolicy.description, address: address, epochs: epochs)
            }
            let register = ShadowRegister(shadow: id, patient: patientID, version: version, categories: list(categories),
                                          manifest: manifest, size: ciphertextSize, envelopes: envelopes, policy: policyEnvelope)
            try await submitAndReport(.shadowRegister(register), key: key, wallet: wallet)
            if !wallet.json {
                print("  shadow id \(id.hex), version \(version), \(size) bytes encrypted to \(ciphertextSize) in \(upload.chunks.count) chunks")
                print("  manifest \(manifest.hex); media type \(mediaType); data key wrapped for \(envelopes.count) key(s)")
                if let policyEnvelope {
                    let epochs = policyEnvelope.epochs.sorted { $0.key < $1.key }.map { "\($0.key) epoch \($0.value)" }.joined(separator: ", ")
                    print("  and under the policy \(policyEnvelope.policy) (\(epochs))")
                }
            }
        }
    }

    /// Downloads a shadow with a signed read, unwraps the data key from the signer's envelope, checks and decrypts
    /// every segment, and writes the plaintext.
    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Download a shadow, check it, and decrypt it to a file.")
        @OptionGroup var signer: SignerOptions
        @Option(help: "Shadow id.") var shadow: String
        @Option(help: "Purpose of the read: TREAT, ETREAT, CAREMGT, HRESCH, PUBHLTH or PATRQT.") var purpose = "PATRQT"
        @Option(help: "Where to write the decrypted file.") var out: String
        @Option(help: "Comma-separated attribute key files (authority issue-key), to open a policy envelope.") var attributeKeys: String?
        @Option(help: "Comma-separated key files the signer rotated away from (keys rotate), to open envelopes made for them.")
        var previousKeys: String?
        @OptionGroup var wallet: WalletOptions

        func run() async throws {
            let key = try signer.load()
            let client = try wallet.client()
            guard let purpose = Purpose(rawValue: purpose) else { throw ValidationError("--purpose: unknown purpose \(purpose)") }
            let id = try hash(shadow, "--shadow")
            let health: HealthResponse = try await client.get("health")
            var keys = ShadowKeys(client: client, chainID: health.chainID, key: key)
            keys.previousKeys = try list(previousKeys).map { try KeyFile.load(from: $0, passphrase: try signer.passphrase.passphrase()) }
            let record = try await keys.shadow(id)
            let registration = record.registration
            let attributeKeys = try list(attributeKeys).map { try ABEKeyFile.attributeKey($0) }
            let dataKey = try await keys.dataKey(of: record, purpose: purpose, attributeKeys: attributeKeys)
            progress("downloading", 0)
            let downloaded = try await keys.download("v1/shadows/\(id.hex)/payload", shadow: id, blob: registration.manifest, purpose: purpose)
            defer { try? FileManager.default.removeItem(at: downloaded) }
            progress("downloading", 1)
            let received = UInt64((try? FileManager.default.attributesOfItem(atPath: downloaded.path)[.size] as? NSNumber)??.uint64Value ?? 0)
            guard received == registration.size else {
                throw WalletError("the node sent \(received) bytes of \(registration.size): incomplete, try again")
            }
            guard let payload = FileHandle(forReadingAtPath: downloaded.path) else { throw WalletError("cannot read the download") }
            defer { try? payload.close() }
            // Decrypted segment by segment (memory holds one); a segment that does not open leaves no output file.
            let cipher = try ShadowCipher(dataKey: dataKey, shadow: id, version: registration.version)
            let sealedBytes = ShadowCipher.plaintextSegmentBytes + ShadowCipher.overheadBytes
            let count = max(1, (received + UInt64(sealedBytes) - 1) / UInt64(sealedBytes))
            guard FileManager.default.createFile(atPath: out, contents: nil, attributes: [.posixPermissions: 0o600]),
                let output = FileHandle(forWritingAtPath: out)
            else { throw ValidationError("cannot write \(out)") }
            defer { try? output.close() }
            var written = 0
            for index in 0..<count {
                let segment = try payload.read(upToCount: sealedBytes).map { [UInt8]($0) } ?? []
                let plaintext: [UInt8]
                do { plaintext = try cipher.open(segment, index: index, count: count) } catch {
                    try? FileManager.default.removeItem(atPath: out)
                    throw WalletError("segment \(index) does not decrypt: the payload was altered or the key is wrong")
                }
                try output.write(contentsOf: plaintext)
                written += plaintext.count
                progress("decrypting", Double(index + 1) / Double(count))
            }
            print("shadow \(id.hex) version \(registration.version): \(written) bytes checked, decrypted and written to \(out)")
        }
    }
}

/// Uploads a file with a signed upload request; returns the node's answer.
func uploadFile(_ file: URL, size: UInt64, mediaType: String, patient: Hash32, key: SecretKey, chainID: String,
                client: NodeClient, quiet: Bool = false) async throws -> UploadResponse {
    let request = UploadRequest(chainID: chainID, uploader: key.publicKey, patient: patient, size: size, mediaType: mediaType,
                                timeMillis: UInt64(Date().timeIntervalSince1970 * 1_000), nonce: SecureRandom.bytes(16))
    var http = client.request("v1/shadows/upload", method: "POST",
                              headers: ["TwinLedger-Upload": try SignedUploadRequest(signing: request, with: key).headerValue,
                                        "Content-Type": "application/octet-stream", "Content-Length": "\(size)"])
    http.timeoutInterval = 3_600
    if !quiet { progress("uploading", 0) }
    let data = try await client.raw(http, uploading: file)
    if !quiet { progress("uploading", 1) }
    do { return try JSONDecoder().decode(UploadResponse.self, from: data) } catch {
        throw WalletError("unexpected answer from the node: \(error)")
    }
}

/// A progress line on standard error (a terminal sees it redrawn; a log sees one line per step).
func progress(_ what: String, _ fraction: Double) {
    let width = 30
    let filled = Int((fraction * Double(width)).rounded(.down))
    let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
    FileHandle.standardError.write(Data("\r\(what) [\(bar)] \(Int(fraction * 100))%\(fraction >= 1 ? "\n" : "")".utf8))
}

/// For a FHIR Bundle (JSON with resourceType "Bundle"), the media type naming the resource types it holds, e.g.
/// `application/fhir+json;bundle=Condition,Observation,Patient`; nil for anything else (or a file over 64 MiB).
func fhirMediaType(_ path: String, size: UInt64) -> String? {
    guard size <= 64 << 20, let data = FileManager.default.contents(atPath: path),
        let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
        object["resourceType"] as? String == "Bundle"
    else { return nil }
    let entries = object["entry"] as? [[String: Any]] ?? []
    let types = Set(entries.compactMap { ($0["resource"] as? [String: Any])?["resourceType"] as? String }
        .filter { $0.allSatisfy { $0.isLetter } })
    let label = types.sorted().joined(separator: ",")
    let media = "application/fhir+json;bundle=" + label
    return media.utf8.count <= 127 ? media : "application/fhir+json;bundle"
}

extension ShadowCommand {
    /// Re-wraps policy envelopes left on an old authority epoch under the current epochs (`shadow.rewrap`): the
    /// on-demand form of the lazy re-wrap that every new version does anyway (Docs/abe.md, "Epochs and versions").
    struct Rewrap: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-wrap shadows' policy envelopes under the authorities' current epochs (after a rotation)."
        )
        @OptionGroup var signer: SignerOptions
        @Option(help: "The shadow to re-wrap.") var shadow: String?
        @Option(help: "Or: every shadow of this patient (default: the signer's own) whose envelope is on an old epoch.")
        var patient: String?
        @Option(help: "Comma-separated attribute key files, if the signer holds no envelope of its own.") var attributeKeys: String?
        @Option(help: "Purpose of the reads that fetch the data keys.") var purpose = "PATRQT"
        @OptionGroup var wallet: WalletOptions

        func run() async throws {
            let key = try signer.load()
            let client = try wallet.client()
            guard let purpose = Purpose(rawValue: purpose) else { throw ValidationError("--purpose: unknown purpose \(purpose)") }
            let health: HealthResponse = try await client.get("health")
            let keys = ShadowKeys(client: client, chainID: health.chainID, key: key)
            let abe = ABEWallet(client: client)
            let attributeKeys = try list(attributeKeys).map { try ABEKeyFile.attributeKey($0) }
            var targets: [Hash32] = []
            if let shadow {
                targets = [try hash(shadow, "--shadow")]
            } else {
                let owner = try await patientOrOwn(patient, key, wallet)
                let listed: ShadowsResponse = try await client.get("v1/patients/\(owner.hex)/shadows")
                targets = listed.shadows.filter { $0.erasedHeight == nil && $0.policy != nil }.compactMap { Hash32(hex: $0.id) }
            }
            var rewrapped = 0, current = 0
            for id in targets {
                let record = try await keys.shadow(id)
                guard let envelope = record.registration.policy else {
                    if shadow != nil { throw ValidationError("shadow \(id.hex.prefix(16))… has no policy envelope") }
                    continue
                }
                var epochs: [String: UInt64] = [:]
                for name in envelope.epochs.keys.sorted() { epochs[name] = try await abe.authority(name).record.epoch }
                guard epochs != envelope.epochs else { current += 1; continue }
                let dataKey = try await keys.dataKey(of: record, purpose: purpose, attributeKeys: attributeKeys)
                let policy = try ABE.Policy(parsing: envelope.policy)
                let (sealed, newEpochs) = try await abe.seal(dataKey, policy: policy)
                let address = try await keys.uploadBlob(sealed.bytes, mediaType: "application/vnd.twinledger.abe-envelope",
                                                        patient: record.registration.patient)
                let rewrap = ShadowRewrap(shadow: id, version: record.registration.version,
                                          policy: PolicyEnvelope(policy: envelope.policy, address: address, epochs: newEpochs))
                try await submitAndReport(.shadowRewrap(rewrap), key: key, wallet: wallet)
                rewrapped += 1
            }
            if !wallet.json { print("re-wrapped \(rewrapped) shadow(s); \(current) already under the current epochs") }
        }
    }
}
