import Encoding
import Foundation
import Hummingbird
import Ledger
import NIOCore
import TwinCrypto

// JSON shapes of the HTTP API (Docs/openapi.yaml). Hashes, keys and bytes are lower-case hex.

public struct SubmitRequest: Codable, Sendable {
    public let transaction: String
    public init(transaction: String) { self.transaction = transaction }

    /// The transaction in a submission's body: the raw bytes with content type `application/octet-stream`, otherwise
    /// the JSON `{"transaction": "<hex>"}`; `400 malformed` for anything else.
    public static func transactionBytes(body: ByteBuffer, contentType: String?) throws(APIError) -> [UInt8] {
        if contentType?.hasPrefix("application/octet-stream") == true { return Array(buffer: body) }
        guard let submit = try? JSONDecoder().decode(SubmitRequest.self, from: Data(buffer: body)),
              let decoded = Hex.decode(submit.transaction)
        else { throw APIError(.badRequest, "malformed", "body must be {\"transaction\": \"<hex>\"}") }
        return decoded
    }
}

public struct SubmitResponse: ResponseEncodable, Decodable, Sendable {
    public let id: String
    public let status: String
    public let height: UInt64?
    public let code: String?
}

public struct MerkleProofJSON: Codable, Sendable {
    public let index: UInt64
    public let count: UInt64
    public let path: [String]
    init(_ proof: MerkleProof) {
        index = proof.index
        count = proof.count
        path = proof.path.map(\.hex)
    }
}

public struct HeaderJSON: Codable, Sendable {
    public let chainID: String
    public let height: UInt64
    public let timeMs: UInt64
    public let previousBlock: String
    public let transactionCount: UInt64
    public let transactionsRoot: String
    public let resultsRoot: String
    public let stateRoot: String
    public let proposer: String
    public let lastCommit: String
    public let hash: String

    init(_ header: BlockHeader) {
        chainID = header.chainID
        height = header.height
        timeMs = header.timeMillis
        previousBlock = header.previousBlock.hex
        transactionCount = header.transactionCount
        transactionsRoot = header.transactionsRoot.hex
        resultsRoot = header.resultsRoot.hex
        stateRoot = header.stateRoot.hex
        proposer = header.proposer.hex
        lastCommit = header.lastCommit.hex
        hash = header.hash.hex
    }

    enum CodingKeys: String, CodingKey {
        case height, proposer, hash
        case chainID = "chain_id"
        case timeMs = "time_ms"
        case previousBlock = "previous_block"
        case transactionCount = "transaction_count"
        case transactionsRoot = "transactions_root"
        case resultsRoot = "results_root"
        case stateRoot = "state_root"
        case lastCommit = "last_commit"
    }
}

public struct TransactionStatusResponse: ResponseEncodable, Decodable, Sendable {
    public let id: String
    public let status: String
    public let kind: String?
    public let signer: String?
    public let nonce: UInt64?
    public let height: UInt64?
    public let index: UInt64?
    public let accepted: Bool?
    public let code: String?
    public let transaction: String?
    public let header: HeaderJSON?
    public let transactionProof: MerkleProofJSON?
    public let outcomeProof: MerkleProofJSON?

    enum CodingKeys: String, CodingKey {
        case id, status, kind, signer, nonce, height, index, accepted, code, transaction, header
        case transactionProof = "transaction_proof"
        case outcomeProof = "outcome_proof"
    }
}

public struct BlockTransactionJSON: Codable, Sendable {
    public let id: String
    public let kind: String
    public let signer: String
    public let accepted: Bool
    public let code: String
}

public struct BlockResponse: ResponseEncodable, Decodable, Sendable {
    public let header: HeaderJSON
    public let transactions: [BlockTransactionJSON]
}

/// A block as committed, for clients that verify it themselves (an auditor's light client): the canonical block
/// bytes (Docs/blocks.md), each transaction's outcome (their Merkle root is the header's `results_root`), and the
/// block's commit certificate in canonical bytes (Docs/consensus.md), absent until the node holds it.
public struct RawBlockResponse: ResponseEncodable, Decodable, Sendable {
    public let height: UInt64
    public let block: String
    public let outcomes: [RawOutcomeJSON]
    public let certificate: String?
}

public struct RawOutcomeJSON: Codable, Sendable {
    public let transaction: String
    /// Empty when accepted.
    public let code: String
}

public struct StateProofJSON: Codable, Sendable {
    public let siblings: [String]
    public let terminal: String
    public let leafKey: String?
    public let leafValue: String?

    init(_ proof: StateTree.Proof) {
        siblings = proof.siblings.map(\.hex)
        switch proof.terminal {
        case .empty:
            terminal = "empty"
            leafKey = nil
            leafValue = nil
        case .leaf(let key, let value):
            terminal = "leaf"
            leafKey = key.hex
            leafValue = value.hex
        }
    }

    enum CodingKeys: String, CodingKey {
        case siblings, terminal
        case leafKey = "leaf_key_hash"
        case leafValue = "leaf_value_hash"
    }
}

public struct StateResponse: ResponseEncodable, Decodable, Sendable {
    public let key: String
    public let exists: Bool
    public let value: String?
    public let stateRoot: String
    public let height: UInt64
    public let proof: StateProofJSON

    enum CodingKeys: String, CodingKey {
        case key, exists, value, height, proof
        case stateRoot = "state_root"
    }
}

public struct GrantJSON: Codable, Sendable {
    public let id: String
    public let patient: String
    public let granteeKeyID: String?
    public let granteePolicy: String?
    public let actions: [String]
    public let shadows: [String]
    public let categories: [String]
    public let purpose: String
    public let validFrom: UInt64
    public let validUntil: UInt64?
    public let grantor: String
    public let createdHeight: UInt64
    public let revokedHeight: UInt64?
    public let revokedBy: String?
    public let breakGlassReason: String?
    public let active: Bool
    /// The key envelopes the grant carries for its grantee.
    public let envelopes: [ShadowEnvelopeJSON]

    init(_ grant: Grant, now: UInt64) {
        id = grant.id.hex
        patient = grant.patient.hex
        switch grant.grantee {
        case .participant(let key):
            granteeKeyID = key.hex
            granteePolicy = nil
        case .policy(let policy):
            granteeKeyID = nil
            granteePolicy = policy
        }
        actions = grant.actions.names
        shadows = grant.scope.shadows.map(\.hex)
        categories = grant.scope.categories
        purpose = grant.purpose.rawValue
        validFrom = grant.validFrom
        validUntil = grant.validUntil
        grantor = grant.grantor.hex
        createdHeight = grant.createdHeight
        revokedHeight = grant.revokedHeight
        revokedBy = grant.revokedBy?.hex
        breakGlassReason = grant.breakGlassReason
        active = grant.isActive(at: now)
        envelopes = grant.envelopes.map(ShadowEnvelopeJSON.init)
    }

    enum CodingKeys: String, CodingKey {
        case id, patient, actions, shadows, categories, purpose, grantor, active, envelopes
        case granteeKeyID = "grantee_key_id"
        case granteePolicy = "grantee_policy"
        case validFrom = "valid_from"
        case validUntil = "valid_until"
        case createdHeight = "created_height"
        case revokedHeight = "revoked_height"
        case revokedBy = "revoked_by"
        case breakGlassReason = "break_glass_reason"
    }
}

/// Where a grant keeps a shadow's data key for its grantee.
public struct ShadowEnvelopeJSON: Codable, Sendable {
    public let shadow: String
    public let version: UInt64
    public let address: String

    init(_ envelope: ShadowEnvelope) {
        (shadow, version, address) = (envelope.shadow.hex, envelope.version, envelope.address.hex)
    }
}

/// A registered shadow as the ledger keeps it (its latest version).
public struct ShadowJSON: Codable, Sendable {
    public let id: String
    public let patient: String
    public let version: UInt64
    public let categories: [String]
    public let manifest: String
    public let size: UInt64
    /// Key envelopes named at registration: recipient key id and envelope address.
    public let envelopes: [RecipientEnvelopeJSON]
    /// The data key wrapped under an ABE policy, if it was.
    public let policy: PolicyEnvelopeJSON?
    public let registeredBy: String
    public let height: UInt64
    public let erasedHeight: UInt64?

    init(_ shadow: Shadow) {
        let r = shadow.registration
        (id, patient, version, categories) = (r.shadow.hex, r.patient.hex, r.version, r.categories)
        (manifest, size) = (r.manifest.hex, r.size)
        policy = r.policy.map { PolicyEnvelopeJSON(policy: $0.policy, address: $0.address.hex, epochs: $0.epochs) }
        envelopes = r.envelopes.map { RecipientEnvelopeJSON(recipient: $0.recipient.hex, address: $0.address.hex) }
        (registeredBy, height, erasedHeight) = (shadow.registeredBy.hex, shadow.height, shadow.erasedHeight)
    }

    enum CodingKeys: String, CodingKey {
        case id, patient, version, categories, manifest, size, envelopes, policy, height
        case registeredBy = "registered_by"
        case erasedHeight = "erased_height"
    }
}

public struct PolicyEnvelopeJSON: Codable, Sendable {
    public let policy: String
    /// Content address of the ABE envelope blob (Docs/abe.md, "Encodings").
    public let address: String
    /// The epoch of each of the policy's authorities the envelope was made under.
    public let epochs: [String: UInt64]
}

public struct RecipientEnvelopeJSON: Codable, Sendable {
    public let recipient: String
    public let address: String
}

public struct ShadowsResponse: ResponseEncodable, Decodable, Sendable {
    public let patient: String
    public let height: UInt64
    public let shadows: [ShadowJSON]
}

public struct GrantsResponse: ResponseEncodable, Decodable, Sendable {
    public let patient: String
    public let height: UInt64
    public let grants: [GrantJSON]
}

public struct DelegationJSON: Codable, Sendable {
    public let id: String
    public let patient: String
    public let delegate: String
    public let powers: [String]
    public let categories: [String]
    public let validUntil: UInt64?
    public let createdHeight: UInt64
    public let revokedHeight: UInt64?
    public let active: Bool

    init(_ d: Delegation, now: UInt64) {
        id = d.id.hex
        patient = d.patient.hex
        delegate = d.delegate.hex
        powers = [(DelegatedPowers.grant, "grant"), (.revoke, "revoke"), (.erase, "erase"), (.register, "register")]
            .filter { d.powers.contains($0.0) }.map(\.1)
        categories = d.categories
        validUntil = d.validUntil
        createdHeight = d.createdHeight
        revokedHeight = d.revokedHeight
        active = d.isActive(at: now)
    }

    enum CodingKeys: String, CodingKey {
        case id, patient, delegate, powers, categories, active
        case validUntil = "valid_until"
        case createdHeight = "created_height"
        case revokedHeight = "revoked_height"
    }
}

public struct DelegationsResponse: ResponseEncodable, Decodable, Sendable {
    public let patient: String
    public let delegations: [DelegationJSON]
}

public struct HistoryEntryJSON: Codable, Sendable {
    public let index: Int
    public let transaction: String
    public let kind: String?
    public let signer: String?
    public let height: UInt64?
}

public struct HistoryResponse: ResponseEncodable, Decodable, Sendable {
    public let patient: String
    public let count: UInt64
    public let head: String
    public let entries: [HistoryEntryJSON]
    public let stateRoot: String
    public let height: UInt64
    public let proof: StateProofJSON

    enum CodingKeys: String, CodingKey {
        case patient, count, head, entries, height, proof
        case stateRoot = "state_root"
    }
}

public struct ParticipantJSON: Codable, Sendable {
    public let publicKey: String
    public let role: String
    public let organization: String
    public let patientID: String?
    public let enrolledHeight: UInt64

    enum CodingKeys: String, CodingKey {
        case role, organization
        case publicKey = "public_key"
        case patientID = "patient_id"
        case enrolledHeight = "enrolled_height"
    }
}

public struct AccountResponse: ResponseEncodable, Decodable, Sendable {
    public let keyID: String
    public let nonce: UInt64
    public let participant: ParticipantJSON?
    public let organization: String?

    enum CodingKeys: String, CodingKey {
        case nonce, participant, organization
        case keyID = "key_id"
    }
}

public struct HealthResponse: ResponseEncodable, Decodable, Sendable {
    public let status: String
    public let chainID: String
    public let height: UInt64
    /// The hash of the block at `height` (absent at height 0).
    public let block: String?
    public let mempool: Int
    /// "validator" or "follower".
    public let role: String
    /// Connected peers (after the hello check).
    public let peers: Int
    /// The highest committed height a peer reported.
    public let bestPeerHeight: UInt64
    /// No peer is more than one height ahead: the node is in consensus (or following), not syncing.
    public let caughtUp: Bool

    enum CodingKeys: String, CodingKey {
        case status, height, block, mempool, role, peers
        case chainID = "chain_id"
        case bestPeerHeight = "best_peer_height"
        case caughtUp = "caught_up"
    }
}

/// `GET /v1/consortium`: what the explorer's status panel shows. The validator sets of the schedule (the one in
/// force at the head and any pending), the head, the head's commit certificate (its round and signers), and this
/// node's view of the network.
public struct ConsortiumResponse: ResponseEncodable, Decodable, Sendable {
    public struct ValidatorSetJSON: Codable, Sendable {
        public let version: UInt64
        public let effectiveHeight: UInt64
        public let validators: [ValidatorJSON]
        enum CodingKeys: String, CodingKey {
            case version, validators
            case effectiveHeight = "effective_height"
        }
    }

    public struct ValidatorJSON: Codable, Sendable {
        public let keyID: String
        public let publicKey: String
        public let power: UInt64
        enum CodingKeys: String, CodingKey {
            case power
            case keyID = "key_id"
            case publicKey = "public_key"
        }
    }

    public struct LastCommitJSON: Codable, Sendable {
        public let height: UInt64
        public let round: Int
        public let signers: [String]
    }

    public let chainID: String
    public let height: UInt64
    public let block: String?
    public let timeMs: UInt64
    public let role: String
    public let peers: Int
    public let bestPeerHeight: UInt64
    public let caughtUp: Bool
    public let validatorSets: [ValidatorSetJSON]
    public let lastCommit: LastCommitJSON?

    enum CodingKeys: String, CodingKey {
        case height, block, role, peers
        case chainID = "chain_id"
        case timeMs = "time_ms"
        case bestPeerHeight = "best_peer_height"
        case caughtUp = "caught_up"
        case validatorSets = "validator_sets"
        case lastCommit = "last_commit"
    }
}
