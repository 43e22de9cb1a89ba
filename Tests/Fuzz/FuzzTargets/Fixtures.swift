import ABE
import API
import Consensus
import Encoding
import Foundation
import Ledger
import P2P
import TestSupport
import TwinCrypto

/// The fixed keys, validators and values the targets check against and the seeds are made of. Everything is derived
/// from constants, so a seed written by one run opens or verifies the same way in the next.
enum Fixtures {
    static let chainID = "twinledger-fuzz"

    static func hash(_ n: UInt8) -> Hash32 { Hashing.sha3([n]) }

    /// A fixture that cannot fail unless the code under test is broken; the harness stops with the reason.
    static func make<T>(_ what: String, _ body: () throws -> T) -> T {
        do { return try body() } catch {
            FileHandle.standardError.write(Data("fuzz fixture \(what) failed: \(error)\n".utf8))
            exit(70)
        }
    }

    static let validatorKeys: [SecretKey] = (1...4).map { n in
        make("validator key \(n)") { try SecretKey(bytes: Hashing.sha3(Array("fuzz validator \(n)".utf8)).bytes) }
    }

    static let validators: ValidatorSet = make("validator set") {
        try ValidatorSet(validatorKeys.map { Validator(key: $0.publicKey, power: 10) })
    }

    static let handshake = HandshakePolicy(chainID: chainID, genesis: hash(1), nodes: Set(validatorKeys.map(\.publicKey.keyID)))

    /// The signed transactions of Tests/Vectors/transaction-vectors.json: every kind, signed (their chain is the
    /// vectors' own; the targets check each against the chain it names).
    static let transactions: [[UInt8]] = make("transaction vectors") {
        let data = Data(try loadVector("transaction-vectors.json").utf8)
        let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        let vectors = object?["vectors"] as? [[String: Any]] ?? []
        let signed = vectors.compactMap { ($0["signed"] as? String).flatMap(Hex.decode) }
        guard signed.count == vectors.count, !signed.isEmpty else { throw TestSupportError.missing("signed transactions in the vectors") }
        return signed
    }

    static let block: Block = {
        let header = BlockHeader(
            chainID: chainID, height: 4, timeMillis: 1_700_000_000_000, previousBlock: hash(10), transactionCount: 2,
            transactionsRoot: hash(11), resultsRoot: hash(12), stateRoot: hash(13), proposer: validatorKeys[0].publicKey,
            lastCommit: hash(14))
        return Block(header: header, transactions: Array(transactions.prefix(2)), lastCommit: Canonical.encode(certificate))
    }()

    static let ledgerBlock = LedgerBlock(block)

    static let vote: SignedVote = make("vote") {
        try SignedVote(signing: Vote(chainID: chainID, height: 4, round: 0, type: .prevote, block: ledgerBlock.id,
                                     validator: validatorKeys[1].publicKey.keyID), with: validatorKeys[1])
    }

    static let proposal: SignedProposal<LedgerBlock> = make("proposal") {
        let proposal = Proposal(chainID: chainID, height: 4, round: 0, block: ledgerBlock.id, validRound: -1,
                                proposer: validatorKeys[0].publicKey.keyID)
        return try SignedProposal(signing: proposal, value: ledgerBlock, with: validatorKeys[0])
    }

    /// Precommits of three of the four validators for a block at height 3.
    static let certificate: CommitCertificate = make("certificate") {
        let precommits = try validatorKeys.prefix(3).map { key in
            try SignedVote(signing: Vote(chainID: chainID, height: 3, round: 1, type: .precommit, block: hash(10),
                                         validator: key.publicKey.keyID), with: key)
        }
        return CommitCertificate(chainID: chainID, height: 3, round: 1, block: hash(10), precommits: precommits)
    }

    static let committed = CommittedBlock(block: block, certificate: certificate)

    /// The first vector of Tests/Vectors/envelope-vectors.json (made by Python's cryptography): its recipient key opens it.
    static let (recipient, dataKey, envelope): (SecretKey, [UInt8], KeyEnvelope) = make("envelope vector") {
        let data = Data(try loadVector("envelope-vectors.json").utf8)
        let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        guard let first = (object?["vectors"] as? [[String: Any]])?.first,
              let secret = (first["recipient_secret"] as? String).flatMap(Hex.decode),
              let key = (first["data_key"] as? String).flatMap(Hex.decode),
              let bytes = (first["envelope"] as? String).flatMap(Hex.decode)
        else { throw TestSupportError.missing("the first envelope vector") }
        return (try SecretKey(bytes: secret), key, try KeyEnvelope(bytes: bytes))
    }

    // ABE: one authority, a user holding two of its attributes, and a data key wrapped under a policy they satisfy.
    static let gid = Array("fuzz-user".utf8)

    static let authority: AuthoritySecretKey = make("authority") {
        var random = SeededRandom(seed: 0xF022)
        return try AuthoritySecretKey.generate(authority: "HOSP_A", epoch: 1, using: &random)
    }

    static let attributeKeys: [AttributeKey] = make("attribute keys") {
        var random = SeededRandom(seed: 0xF023)
        return try ["cardiologist", "staff"].map { name in
            try authority.issue(gid: gid, attribute: try AttributeName(authority: "HOSP_A", name: name), version: 1, using: &random)
        }
    }

    /// The envelope's and its ciphertext's bytes only: a `Policy` held for the life of the process would be reported
    /// by LeakSanitizer, which cannot follow Swift's pointers to an indirect enum's boxes when the case is kept in the
    /// pointer's spare bits (Docs/fuzzing.md, "Leaks").
    static let (abeEnvelopeBytes, abeCiphertextBytes): ([UInt8], [UInt8]) = make("ABE envelope") {
        var random = SeededRandom(seed: 0xF024)
        let policy = try Policy(parsing: "HOSP_A.cardiologist and HOSP_A.staff or HOSP_A.neurologist")
        let versions = Dictionary(uniqueKeysWithValues: policy.attributes.map { ($0, UInt64(1)) })
        let envelope = try ABEEnvelope.seal(dataKey, policy: policy, authorities: ["HOSP_A": authority.publicKey],
                                            versions: versions, using: &random)
        return (envelope.bytes, envelope.ciphertext.bytes)
    }

    /// A signed read request, hex as the `TwinLedger-Read` header carries it.
    static let readRequestHeader: String = make("read request") {
        let request = ReadRequest(chainID: chainID, requester: validatorKeys[2].publicKey, shadow: hash(20), blob: hash(21),
                                  purpose: .treatment, timeMillis: 1_700_000_000_000, nonce: Array(repeating: 5, count: ReadRequest.nonceBytes))
        return try SignedRequest(signing: request, with: validatorKeys[2]).headerValue
    }

    static let importTarget = FHIRConsentImport.Target(patient: hash(8), grantee: .participant(hash(9)), categories: ["research.mdat"],
                                                nowSeconds: 1_750_000_000)

    /// A FHIR R4 Consent in the shape of the MII broad consent: a base deny with two permits.
    static let consent = #"""
    {"resourceType":"Consent","id":"fuzz","status":"active",
     "scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"research"}]},
     "category":[{"coding":[{"system":"http://loinc.org","code":"57016-8"}]}],
     "patient":{"reference":"Patient/p"},"dateTime":"2024-01-01",
     "policy":[{"uri":"urn:oid:2.16.840.1.113883.3.1937.777.24.2.1790"}],
     "provision":{"type":"deny","period":{"start":"2024-01-01","end":"2054-01-01"},"provision":[
       {"type":"permit","period":{"start":"2024-01-01","end":"2029-01-01"},
        "code":[{"coding":[{"system":"urn:oid:2.16.840.1.113883.3.1937.777.24.5.3","code":"2.16.840.1.113883.3.1937.777.24.5.3.8"}]}]},
       {"type":"permit","period":{"start":"2024-01-01","end":"2054-01-01"},
        "code":[{"coding":[{"system":"urn:oid:2.16.840.1.113883.3.1937.777.24.5.3","code":"2.16.840.1.113883.3.1937.777.24.5.3.46"}]}]}]}}
    """#
}
