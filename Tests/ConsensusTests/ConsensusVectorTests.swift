// Consensus message golden vectors (Tests/Vectors/consensus-vectors.json), from an independent Python encoder and
// BIP340 signer (Tests/Vectors/gen_consensus_vectors.py): votes, proposals and a commit certificate encode to the
// same bytes, sign to the same signatures, decode back, and the certificate verifies; altered copies do not.
import Consensus
import Encoding
import Foundation
import TestSupport
import Testing
import TwinCrypto

struct ConsensusVectors: Decodable {
    struct Key: Decodable { let secret: String, public_key: String, id: String }
    struct VoteCase: Decodable {
        let validator: Int, height: String, round: Int, type: UInt64, block: String?
        let encoded: String, signing_bytes: String, signature: String
    }
    struct ProposalCase: Decodable {
        let proposer: Int, height: UInt64, round: Int, valid_round: Int, block: String, encoded: String, signature: String
    }
    struct CertificateCase: Decodable { let height: UInt64, round: Int, block: String, signers: [Int], encoded: String }
    let chain_id: String, aux: String
    let validators: [Key]
    let votes: [VoteCase]
    let proposals: [ProposalCase]
    let certificate: CertificateCase
}

@Suite("Consensus vectors")
struct ConsensusVectorTests {
    func load() throws -> ConsensusVectors {
        try JSONDecoder().decode(ConsensusVectors.self, from: Data(try loadVector("consensus-vectors.json").utf8))
    }

    func hex(_ text: String) throws -> [UInt8] { try #require(Hex.decode(text)) }
    func hash(_ text: String) throws -> Hash32 { try #require(Hash32(hex: text)) }

    @Test("votes and proposals encode, sign and decode exactly as the independent implementation")
    func messages() throws {
        let vectors = try load()
        let keys = try vectors.validators.map { try SecretKey(bytes: try hex($0.secret)) }
        for (key, entry) in zip(keys, vectors.validators) { #expect(key.publicKey.keyID == (try hash(entry.id))) }
        let aux = try hex(vectors.aux)
        for c in vectors.votes {
            let vote = Vote(
                chainID: vectors.chain_id, height: try #require(UInt64(c.height)), round: c.round,
                type: try #require(VoteType(rawValue: c.type)), block: try c.block.map(hash),
                validator: keys[c.validator].publicKey.keyID
            )
            #expect(Canonical.encode(vote) == (try hex(c.encoded)), "vote \(vote)")
            #expect(vote.signingBytes == (try hex(c.signing_bytes)))
            let signature = try keys[c.validator].sign(vote.signingBytes, auxiliaryRandom: aux)
            #expect(signature.bytes == (try hex(c.signature)))
            #expect(try Canonical.decode(Vote.self, from: try hex(c.encoded)) == vote)
            #expect(SignedVote(vote: vote, signature: signature).verify(keys[c.validator].publicKey))
        }
        for c in vectors.proposals {
            let proposal = Proposal(
                chainID: vectors.chain_id, height: c.height, round: c.round, block: try hash(c.block),
                validRound: c.valid_round, proposer: keys[c.proposer].publicKey.keyID
            )
            #expect(Canonical.encode(proposal) == (try hex(c.encoded)))
            #expect(try keys[c.proposer].sign(proposal.signingBytes, auxiliaryRandom: aux).bytes == (try hex(c.signature)))
            #expect(try Canonical.decode(Proposal.self, from: try hex(c.encoded)) == proposal)
        }
    }

    @Test("the commit certificate decodes, re-encodes and verifies; fewer signers, repeats, strangers or another chain fail")
    func certificate() throws {
        let vectors = try load()
        let keys = try vectors.validators.map { try SecretKey(bytes: try hex($0.secret)) }
        let validators = try ValidatorSet(keys.map { Validator(key: $0.publicKey, power: 1) })
        let bytes = try hex(vectors.certificate.encoded)
        let certificate = try Canonical.decode(CommitCertificate.self, from: bytes)
        #expect(Canonical.encode(certificate) == bytes)
        let block = try hash(vectors.certificate.block)
        #expect(certificate.height == vectors.certificate.height && certificate.block == block)
        try certificate.verify(chainID: vectors.chain_id, validators: validators)

        func fails(_ c: CommitCertificate, chain: String? = nil) -> Bool {
            (try? c.verify(chainID: chain ?? vectors.chain_id, validators: validators)) == nil
        }
        var short = certificate
        short.signatures.removeLast()
        #expect(fails(short), "2 of 4 is not more than 2/3")
        var repeated = certificate
        repeated.signatures[1] = repeated.signatures[0]
        #expect(fails(repeated))
        var tampered = certificate
        tampered.round = 2
        #expect(fails(tampered), "signatures are over round 1")
        let stranger = try SecretKey()
        var withStranger = certificate
        let strangerVote = Vote(chainID: vectors.chain_id, height: 12, round: 1, type: .precommit, block: certificate.block,
                                validator: stranger.publicKey.keyID)
        withStranger.signatures[0] = .init(validator: stranger.publicKey.keyID, signature: try stranger.sign(strangerVote.signingBytes))
        withStranger.signatures.sort { $0.validator < $1.validator }
        #expect(fails(withStranger))
        #expect(fails(certificate, chain: "another-chain"))
        // Truncated or extended bytes do not decode.
        #expect(throws: CanonicalDecodingError.self) { try Canonical.decode(CommitCertificate.self, from: Array(bytes.dropLast())) }
        #expect(throws: CanonicalDecodingError.self) { try Canonical.decode(CommitCertificate.self, from: bytes + [0]) }
    }
}
