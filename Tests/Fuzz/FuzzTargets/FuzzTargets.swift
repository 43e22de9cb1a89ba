import ABE
import API
import Consensus
import Encoding
import Foundation
import Ledger
import NIOCore
import P2P
import Pairing
import Shadows
import Storage
import TwinCrypto

/// One decoder that input reaches, driven with arbitrary bytes (Docs/fuzzing.md).
///
/// `check` feeds the bytes to the real decoder and returns the properties they broke: none for a clean refusal
/// or a clean acceptance. A crash (a trap, an out-of-bounds access) is a finding too; libFuzzer sees it directly.
/// The properties are the decoders' promises: every canonical decoding that accepts re-encodes to exactly the input
/// (the encoding is a bijection on what it accepts), a policy's canonical text parses back to the same tree, and the
/// checks behind a decoder (signatures, envelopes, pairings) refuse with a typed error rather than trap.
public struct FuzzTarget: Sendable {
    public let name: String
    public let summary: String
    public let check: @Sendable ([UInt8]) -> [String]
    /// Whether the decoder accepts the bytes (the corpus test holds every seed to it).
    public let accepts: @Sendable ([UInt8]) -> Bool
    /// Valid inputs the corpus starts from (Tests/Fuzz/corpus/NAME/), made deterministically.
    public let seeds: @Sendable () -> [[UInt8]]
}

public enum FuzzTargets {
    public static let all: [FuzzTarget] = [
        transaction, block, consensus, frame, wal, manifest, envelope, abe, policy, api,
    ]

    public static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }

    // MARK: Targets

    static let transaction = FuzzTarget(
        name: "transaction",
        summary: "SignedTransaction: canonical decoding, re-encoding, chain and signature check (mempool admission)",
        check: { bytes in
            var broken: [String] = []
            let decoded = try? Canonical.decode(SignedTransaction.self, from: bytes)
            if let decoded { roundTrip(decoded, bytes, &broken) }
            do {
                let verified = try VerifiedTransaction(bytes: bytes, chainID: decoded?.body.chainID ?? Fixtures.chainID)
                if decoded == nil { broken.append("VerifiedTransaction accepted bytes the decoder refuses") }
                if verified.bytes != bytes { broken.append("VerifiedTransaction changed the bytes") }
            } catch {}
            return broken
        },
        accepts: { (try? Canonical.decode(SignedTransaction.self, from: $0)) != nil },
        seeds: { Fixtures.transactions }
    )

    static let block = FuzzTarget(
        name: "block",
        summary: "Block, LedgerBlock, BlockHeader and CommittedBlock (block sync, proposals, the chain's records)",
        check: { bytes in
            var broken: [String] = []
            decodeRoundTrip(Block.self, bytes, &broken)
            decodeRoundTrip(BlockHeader.self, bytes, &broken)
            decodeRoundTrip(CommittedBlock.self, bytes, &broken)
            if let block = try? Canonical.decode(LedgerBlock.self, from: bytes) {
                roundTrip(block, bytes, &broken)
                for transaction in block.block.transactions {
                    _ = try? VerifiedTransaction(bytes: transaction, chainID: block.block.header.chainID)
                }
            }
            return broken
        },
        accepts: { bytes in (try? Canonical.decode(Block.self, from: bytes)) != nil || (try? Canonical.decode(BlockHeader.self, from: bytes)) != nil
            || (try? Canonical.decode(CommittedBlock.self, from: bytes)) != nil },
        seeds: { [Canonical.encode(Fixtures.block), Canonical.encode(Fixtures.block.header), Canonical.encode(Fixtures.committed)] }
    )

    static let consensus = FuzzTarget(
        name: "consensus",
        summary: "SignedVote, SignedProposal, CommitCertificate: decoding and verification against a validator set",
        check: { bytes in
            var broken: [String] = []
            if let vote = try? Canonical.decode(SignedVote.self, from: bytes) {
                roundTrip(vote, bytes, &broken)
                if let validator = Fixtures.validators.validator(vote.vote.validator) { _ = vote.verify(validator.key) }
            }
            if let proposal = try? Canonical.decode(SignedProposal<LedgerBlock>.self, from: bytes) {
                roundTrip(proposal, bytes, &broken)
                if let validator = Fixtures.validators.validator(proposal.proposal.proposer) { _ = proposal.verify(validator.key) }
            }
            if let certificate = try? Canonical.decode(CommitCertificate.self, from: bytes) {
                roundTrip(certificate, bytes, &broken)
                _ = try? certificate.verify(chainID: Fixtures.chainID, validators: Fixtures.validators)
            }
            return broken
        },
        accepts: { bytes in (try? Canonical.decode(SignedVote.self, from: bytes)).map { $0.verify(Fixtures.validatorKeys[1].publicKey) } == true
            || (try? Canonical.decode(SignedProposal<LedgerBlock>.self, from: bytes)).map { $0.verify(Fixtures.validatorKeys[0].publicKey) } == true
            || (try? Canonical.decode(CommitCertificate.self, from: bytes)).map { (try? $0.verify(chainID: Fixtures.chainID, validators: Fixtures.validators)) != nil } == true },
        seeds: { [Canonical.encode(Fixtures.vote), Canonical.encode(Fixtures.proposal), Canonical.encode(Fixtures.certificate)] }
    )

    static let frame = FuzzTarget(
        name: "frame",
        summary: "P2P frames off a connection (FrameDecoder.next), each message re-framed, and the hello's checks",
        check: { bytes in
            var broken: [String] = []
            var buffer = ByteBuffer(bytes: bytes)
            while true {
                let before = buffer.readerIndex
                guard let message = try? FrameDecoder.next(&buffer) else { break }
                let consumed = Array(bytes[before..<buffer.readerIndex])
                if message.frame != consumed { broken.append("a \(message.kind) message re-frames to other bytes") }
                if case .hello(let hello) = message {
                    _ = try? Fixtures.handshake.check(hello, certified: hello.node)
                }
            }
            return broken
        },
        accepts: { bytes in var buffer = ByteBuffer(bytes: bytes); return (try? FrameDecoder.next(&buffer)) != nil },
        seeds: {
            let messages: [WireMessage] = [
                .hello(Hello(chainID: Fixtures.chainID, genesis: Fixtures.hash(1), node: Fixtures.validatorKeys[0].publicKey.keyID, height: 7)),
                .transaction(Fixtures.transactions[0]), .proposal(Fixtures.proposal), .vote(Fixtures.vote),
                .blockRequest(from: 3, count: 16), .blockResponse([Fixtures.committed]), .status(height: 9),
                .blobRequest([Fixtures.hash(2), Fixtures.hash(3)]), .blobResponse([[1, 2, 3], Array(repeating: 7, count: 64)]),
            ]
            return messages.map(\.frame) + [messages.flatMap(\.frame)]
        }
    )

    static let wal = FuzzTarget(
        name: "wal",
        summary: "The consensus WAL file: record framing and CRC-32C (WriteAheadLog.scan), then each WALEntry",
        check: { bytes in
            var broken: [String] = []
            guard let (records, end) = try? WriteAheadLog.scan(bytes) else { return broken }
            if framed(records) != Array(bytes[..<end]) { broken.append("the records re-frame to other bytes than the log's intact prefix") }
            for record in records { decodeRoundTrip(WALEntry<LedgerBlock>.self, record, &broken) }
            return broken
        },
        accepts: { bytes in (try? WriteAheadLog.scan(bytes)).map { !$0.records.isEmpty && $0.records.allSatisfy { (try? Canonical.decode(WALEntry<LedgerBlock>.self, from: $0)) != nil } } == true },
        seeds: {
            let entries: [WALEntry<LedgerBlock>] = [
                WALEntry(timeMillis: 1_000, event: .tick),
                WALEntry(timeMillis: 1_010, event: .proposal(Fixtures.proposal)),
                WALEntry(timeMillis: 1_020, event: .vote(Fixtures.vote)),
                WALEntry(timeMillis: 1_030, event: .validated(block: Fixtures.ledgerBlock.id, valid: true)),
                WALEntry(timeMillis: 1_040, event: .value(height: 4, round: 0, Fixtures.ledgerBlock)),
            ]
            let records = entries.map { Canonical.encode($0) }
            return [framed(records), framed(Array(records.prefix(2))) + [9, 0, 0]]
        }
    )

    static let manifest = FuzzTarget(
        name: "manifest",
        summary: "Shadow manifests (stored as blobs, replicated between nodes) and the ledger's shadow registration",
        check: { bytes in
            var broken: [String] = []
            if let manifest = try? Canonical.decode(Manifest.self, from: bytes) {
                roundTrip(manifest, bytes, &broken)
                if manifest.chunks.count != Manifest.chunkCount(size: manifest.size, chunkBytes: manifest.chunkBytes) {
                    broken.append("a manifest with \(manifest.chunks.count) chunks for \(manifest.size) bytes was accepted")
                }
            }
            decodeRoundTrip(ShadowRegister.self, bytes, &broken)
            return broken
        },
        accepts: { (try? Canonical.decode(Manifest.self, from: $0)) != nil },
        seeds: {
            let manifests = [
                try? Manifest(size: 0, mediaType: "application/fhir+json", chunks: []),
                try? Manifest(chunkBytes: 4_096, size: 10_000, mediaType: "application/octet-stream",
                              chunks: [Fixtures.hash(4), Fixtures.hash(5), Fixtures.hash(6)]),
            ]
            return manifests.compactMap { $0.map { Canonical.encode($0) } }
        }
    )

    static let envelope = FuzzTarget(
        name: "envelope",
        summary: "Key envelopes (ECIES over secp256k1, AES-256-GCM): parsing and unwrapping with a recipient key",
        check: { bytes in
            var broken: [String] = []
            if let envelope = try? KeyEnvelope(bytes: bytes) {
                if envelope.bytes != bytes { broken.append("KeyEnvelope changed the bytes") }
                if let key = try? envelope.unwrap(with: Fixtures.recipient), bytes != Fixtures.envelope.bytes, key == Fixtures.dataKey {
                    // An envelope other than the one made for the recipient that opens to the same key would mean the
                    // tag checks nothing: AES-GCM forbids it.
                    broken.append("an altered envelope opened to the original data key")
                }
            }
            return broken
        },
        accepts: { bytes in (try? KeyEnvelope(bytes: bytes).unwrap(with: Fixtures.recipient)) == Fixtures.dataKey },
        seeds: { [Fixtures.envelope.bytes] }
    )

    static let abe = FuzzTarget(
        name: "abe",
        summary: "ABE envelopes, ciphertexts, attribute keys and authority keys (subgroup-checked points), and opening",
        check: { bytes in
            var broken: [String] = []
            decodeRoundTrip(AuthorityPublicKey.self, bytes, &broken)
            decodeRoundTrip(AttributeKey.self, bytes, &broken)
            decodeRoundTrip(ABECiphertext.self, bytes, &broken)
            if let envelope = try? Canonical.decode(ABEEnvelope.self, from: bytes) {
                roundTrip(envelope, bytes, &broken)
                if let key = try? envelope.open(gid: Fixtures.gid, keys: Fixtures.attributeKeys),
                   bytes != Fixtures.abeEnvelopeBytes, key == Fixtures.dataKey {
                    broken.append("an altered ABE envelope opened to the original data key")
                }
            }
            return broken
        },
        accepts: { bytes in (try? Canonical.decode(ABEEnvelope.self, from: bytes).open(gid: Fixtures.gid, keys: Fixtures.attributeKeys)) == Fixtures.dataKey
            || (try? Canonical.decode(ABECiphertext.self, from: bytes)) != nil || (try? Canonical.decode(AttributeKey.self, from: bytes)) != nil
            || (try? Canonical.decode(AuthorityPublicKey.self, from: bytes)) != nil },
        seeds: {
            [Fixtures.abeEnvelopeBytes, Fixtures.abeCiphertextBytes, Fixtures.attributeKeys[0].bytes,
             Fixtures.authority.publicKey.bytes]
        }
    )

    static let policy = FuzzTarget(
        name: "policy",
        summary: "The ABE policy language: parsing, the canonical text parsing back to the same tree, the LSSS matrix",
        check: { bytes in
            var broken: [String] = []
            guard let text = String(validating: bytes, as: UTF8.self), let policy = try? Policy(parsing: text) else { return broken }
            do {
                let again = try Policy(parsing: policy.description)
                if again != policy { broken.append("'\(policy)' parses to another tree") }
            } catch {
                broken.append("the canonical text '\(policy)' does not parse: \(error)")
            }
            // The secret-sharing matrix against the tree, for the holder of every attribute and for a subset picked by
            // the input's hash: constants exist exactly when the set satisfies the policy, use only held rows, combine
            // the rows to (1, 0, …, 0), and the short-integer form agrees with them.
            let matrix = LSSSMatrix(policy)
            let attributes = policy.attributes
            let digest = Hashing.sha3(bytes).bytes
            let picked = attributes.enumerated().filter { digest[$0.offset % 32] >> ($0.offset / 32) & 1 == 1 }.map(\.element)
            for held in [Set(attributes), Set(picked)] {
                let constants = policy.reconstruction(for: held)
                guard policy.isSatisfied(by: held) == (constants != nil) else {
                    broken.append("'\(policy)': reconstruction and isSatisfied disagree for \(held.sorted())")
                    continue
                }
                guard let constants else { continue }
                var sum = [Fr](repeating: .zero, count: matrix.columnCount)
                for (row, coefficient) in constants {
                    if !held.contains(attributes[row]) { broken.append("'\(policy)': a constant for an attribute not held") }
                    for column in sum.indices { sum[column] = sum[column] + coefficient * matrix.rows[row][column] }
                }
                if sum != [Fr.one] + [Fr](repeating: .zero, count: max(0, matrix.columnCount - 1)) {
                    broken.append("'\(policy)': the constants do not combine the rows to (1, 0, …, 0)")
                }
                if let small = policy.smallReconstruction(for: held), let scale = Fr(UInt64(small.denominator)).inverse {
                    let full = Dictionary(constants.map { ($0.row, $0.coefficient) }, uniquingKeysWith: +)
                    for (row, coefficient) in small.terms {
                        let magnitude = Fr(coefficient.magnitude) * scale
                        if full[row] != (coefficient < 0 ? Fr.zero - magnitude : magnitude) {
                            broken.append("'\(policy)': the short-integer constants differ from the full ones")
                        }
                    }
                    if small.terms.count != constants.count { broken.append("'\(policy)': the two reconstructions use other rows") }
                }
            }
            return broken
        },
        accepts: { bytes in String(validating: bytes, as: UTF8.self).map { (try? Policy(parsing: $0)) != nil } == true },
        seeds: {
            [
                "HOSP_A.cardiologist", "(HOSP_A.cardiologist and HOSP_A.staff) or NEURO_CENTER.neurologist",
                "2 of (A.x, B.y, C.z)", "A.a and (B.b or 2 of (C.c, D.d, E.e)) and F.f", "a.b OR c.d AND e.f",
            ].map { Array($0.utf8) }
        }
    )

    static let api = FuzzTarget(
        name: "api",
        summary: "HTTP inputs: the transaction submission body, signed request headers, FHIR Consent imports",
        check: { bytes in
            var broken: [String] = []
            for contentType in ["application/json", "application/octet-stream"] {
                if let transaction = try? SubmitRequest.transactionBytes(body: ByteBuffer(bytes: bytes), contentType: contentType) {
                    _ = try? VerifiedTransaction(bytes: transaction, chainID: Fixtures.chainID)
                }
            }
            let header = String(decoding: bytes, as: UTF8.self)
            if let bytes = Hex.decode(header) {
                _ = try? SignedRequest<ReadRequest>.verified(bytes, chainID: Fixtures.chainID)
                _ = try? SignedRequest<UploadRequest>.verified(bytes, chainID: Fixtures.chainID)
                _ = try? SignedRequest<AccessListRequest>.verified(bytes, chainID: Fixtures.chainID)
            }
            _ = try? FHIRConsentImport.read(Data(bytes), target: Fixtures.importTarget)
            return broken
        },
        accepts: { bytes in
            if (try? SubmitRequest.transactionBytes(body: ByteBuffer(bytes: bytes), contentType: "application/json")) != nil { return true }
            if let raw = Hex.decode(String(decoding: bytes, as: UTF8.self)), (try? SignedRequest<ReadRequest>.verified(raw, chainID: Fixtures.chainID)) != nil { return true }
            return (try? FHIRConsentImport.read(Data(bytes), target: Fixtures.importTarget)).map { !$0.grants.isEmpty } == true
        },
        seeds: {
            let submit = #"{"transaction": "\#(Hex.encode(Fixtures.transactions[0]))"}"#
            let seeds = [Array(submit.utf8), Array(Fixtures.readRequestHeader.utf8), Array(Fixtures.consent.utf8)]
            return seeds
        }
    )

    // MARK: Properties

    /// Decodes `bytes` as `T`; if it is accepted, it must re-encode to exactly `bytes`.
    static func decodeRoundTrip<T: CanonicalCodable>(_ type: T.Type, _ bytes: [UInt8], _ broken: inout [String]) {
        if let value = try? Canonical.decode(type, from: bytes) { roundTrip(value, bytes, &broken) }
    }

    public static func roundTrip<T: CanonicalCodable>(_ value: T, _ bytes: [UInt8], _ broken: inout [String]) {
        if Canonical.encode(value) != bytes { broken.append("\(T.self) accepted bytes that re-encode differently") }
    }

    /// Records framed as the WAL writes them: `length:u32le crc32c:u32le payload`.
    static func framed(_ records: [[UInt8]]) -> [UInt8] {
        records.flatMap { record -> [UInt8] in
            let length = UInt32(record.count), crc = CRC32C.checksum(record)
            return withUnsafeBytes(of: length.littleEndian, Array.init) + withUnsafeBytes(of: crc.littleEndian, Array.init) + record
        }
    }
}
