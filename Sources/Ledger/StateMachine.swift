import ABE
import Encoding
import KeyValue
import TwinCrypto

/// The chain's starting point as the state machine needs it (the genesis file adds networking).
public struct LedgerGenesis: Sendable, Hashable {
    public var chainID: String
    public var organizations: [Organization]
    public var parameters: LedgerParameters
    /// The validators of height 1 (their consensus keys and voting power); empty for a chain without consensus.
    public var validators: [ValidatorChange]

    public init(
        chainID: String, organizations: [Organization], parameters: LedgerParameters = LedgerParameters(),
        validators: [ValidatorChange] = []
    ) {
        self.chainID = chainID
        self.organizations = organizations
        self.parameters = parameters
        self.validators = validators
    }
}

/// The block a transaction executes in. Time is the block's time (unix seconds), never a clock.
public struct BlockContext: Sendable, Hashable {
    public var height: UInt64
    public var time: UInt64
    public init(height: UInt64, time: UInt64) {
        self.height = height
        self.time = time
    }
}

/// What an accepted transaction did.
public struct Receipt: Sendable, Hashable {
    public var transaction: Hash32
    public var kind: String
    /// The patient whose history it entered, if any.
    public var patient: Hash32?
    /// The id of what it created (grant, delegation, shadow), if any.
    public var created: Hash32?
}

/// The outcome of one transaction in a block.
public enum TransactionResult: Sendable, Hashable {
    case accepted(Receipt)
    case rejected(Hash32, LedgerError)
}

/// A block's execution: each transaction's result, the state tree after it, and the writes.
public struct BlockExecution: Sendable {
    public let results: [TransactionResult]
    /// The key ids of the transactions' signers, in block order (whose nonces the block may have moved).
    public let signers: [Hash32]
    /// The authenticated state tree after the block (the tree before it is untouched).
    public let tree: StateTree
    /// The state writes, in key order; commit them in one atomic batch with the block.
    public let batch: WriteBatch

    /// The root of the authenticated state tree after the block.
    public var stateRoot: Hash32 { tree.root }
}

/// The ledger's deterministic state machine: the authorization rules of Docs/transactions.md.
///
/// Pure: it reads state through `KeyValueReader`, takes time and height from the block, and returns writes; it
/// performs no IO of its own. A rejected transaction changes nothing (its nonce included); a storage failure aborts
/// the whole block (throws) rather than rejecting a transaction, so a failing disk cannot make nodes diverge.
public struct StateMachine: Sendable {
    public let chainID: String

    public init(chainID: String) { self.chainID = chainID }

    /// The writes that create the genesis state, and the state tree over them.
    public static func genesis(_ genesis: LedgerGenesis) throws(LedgerError) -> (tree: StateTree, batch: WriteBatch) {
        let batch = try genesisBatch(genesis)
        var changes: [StateTree.Change] = []
        for operation in batch.operations {
            if case .put(let key, let value) = operation { changes.append(.init(key: key, value: value)) }
        }
        return (try StateTree.empty.updating(changes), batch)
    }

    /// The genesis state writes alone (without the state tree).
    static func genesisBatch(_ genesis: LedgerGenesis) throws(LedgerError) -> WriteBatch {
        var batch = WriteBatch()
        var names: Set<String> = []
        for organization in genesis.organizations {
            guard isValidName(organization.name), names.insert(organization.name).inserted else {
                throw LedgerError(.invalidField, "organization name \(organization.name) is invalid or repeated")
            }
            batch.put(StateKey.organization(organization.key.keyID), Canonical.encode(organization))
        }
        guard genesis.parameters.emergencyCategories.allSatisfy(isValidCategory) else {
            throw LedgerError(.invalidField, "emergency categories must be valid category names")
        }
        guard genesis.parameters.abe == .standard else {
            throw LedgerError(.invalidField, "this release implements the ABE global parameters of Docs/abe.md only "
                + "(BLS12-381, \(ABEGlobalParameters.standard.hashToCurve), tags \(ABEGlobalParameters.standard.gidDomain) and "
                + "\(ABEGlobalParameters.standard.attributeDomain)); the genesis names others")
        }
        batch.put(StateKey.parametersKey, Canonical.encode(genesis.parameters))
        if !genesis.validators.isEmpty {
            let entry = ValidatorSchedule.Entry(
                effectiveHeight: 1, version: 0, validators: genesis.validators.sorted { $0.key.keyID < $1.key.keyID }
            )
            _ = try entry.set()  // refuses an empty power, a repeat, too many validators or too much power
            batch.put(StateKey.validatorScheduleKey, Canonical.encode(ValidatorSchedule(entries: [entry])))
        }
        return batch
    }

    /// Executes `transactions` in order over `state`, whose authenticated entries `tree` holds.
    public func execute(
        _ transactions: [VerifiedTransaction], on state: any KeyValueReader, tree: StateTree, context: BlockContext
    ) throws(LedgerError) -> BlockExecution {
        var overlay = StateOverlay(base: state)
        let parameters = try overlay.record(LedgerParameters.self, StateKey.parametersKey) ?? LedgerParameters()
        var results: [TransactionResult] = []
        results.reserveCapacity(transactions.count)
        for transaction in transactions {
            var execution = Execution(
                state: overlay, transaction: transaction, context: context, parameters: parameters, chainID: chainID
            )
            // Drop this reference so the execution holds the only one: merging a transaction's writes must not
            // copy the whole block's writes (that would make a block quadratic in its size).
            overlay = StateOverlay(base: state)
            do {
                let receipt = try execution.run()
                execution.state.commitTransaction()
                results.append(.accepted(receipt))
            } catch where error.code == .storage {
                throw error
            } catch {
                execution.state.discardTransaction()
                results.append(.rejected(transaction.id, error))
            }
            overlay = execution.state
        }
        let after = try tree.updating(overlay.authenticatedChanges())
        return BlockExecution(results: results, signers: transactions.map(\.signerID), tree: after, batch: overlay.writeBatch())
    }
}

/// One transaction's execution: validate everything first, then write.
struct Execution {
    var state: StateOverlay
    let transaction: VerifiedTransaction
    let context: BlockContext
    let parameters: LedgerParameters
    let chainID: String

    var body: TransactionBody { transaction.body }
    var signerID: Hash32 { transaction.signerID }

    enum Signer {
        case organization(Organization)
        case participant(Participant)
        /// A validator's consensus key (accepted for `evidence.submit` and `validator.rotate` only).
        case validator

        var participant: Participant? { if case .participant(let p) = self { p } else { nil } }
        var organization: Organization? { if case .organization(let o) = self { o } else { nil } }
    }

    mutating func run() throws(LedgerError) -> Receipt {
        guard body.chainID == chainID else { throw LedgerError(.wrongChain, "transaction is for \(body.chainID)") }
        let signer = try resolveSigner()
        let lastNonce = try state.record(UInt64.self, StateKey.nonce(signerID)) ?? 0
        guard body.nonce > lastNonce else {
            throw LedgerError(.staleNonce, "nonce \(body.nonce) is not above the last accepted \(lastNonce)")
        }
        let receipt: Receipt
        switch body.payload {
        case .enroll(let p): receipt = try enroll(p, signer)
        case .authorityPublish(let p): receipt = try publishAuthority(p, signer, rotate: false)
        case .authorityRotate(let p): receipt = try publishAuthority(p, signer, rotate: true)
        case .authorityAttributes(let p): receipt = try reviseAuthority(p, signer)
        case .attributeIssue(let p): receipt = try recordIssuance(p, signer)
        case .shadowRegister(let p): receipt = try registerShadow(p, signer)
        case .shadowRewrap(let p): receipt = try rewrapShadow(p, signer)
        case .consentGrant(let p): receipt = try grantConsent(p, signer)
        case .consentRevoke(let p): receipt = try revokeConsent(p, signer)
        case .delegationGrant(let p): receipt = try grantDelegation(p, signer)
        case .delegationRevoke(let p): receipt = try revokeDelegation(p, signer)
        case .auditAnchor(let p): receipt = try anchorAudit(p, signer)
        case .shadowErase(let p): receipt = try eraseShadow(p, signer)
        case .breakGlass(let p): receipt = try breakGlass(p, signer)
        case .validatorsUpdate(let p): receipt = try updateValidators(p, signer)
        case .evidenceSubmit(let p): receipt = try submitEvidence(p)  // any known signer, a validator included
        case .validatorRotate(let p): receipt = try rotateValidator(p)  // a validator's consensus key
        case .keyRotate(let p): receipt = try rotateKey(p, signer)
        }
        state.put(body.nonce, at: StateKey.nonce(signerID))
        return receipt
    }

    func resolveSigner() throws(LedgerError) -> Signer {
        if let organization = try state.record(Organization.self, StateKey.organization(signerID)) {
            return .organization(organization)
        }
        if let participant = try state.record(Participant.self, StateKey.participant(signerID)) {
            return .participant(participant)
        }
        if let retired = try state.record(RetiredKey.self, StateKey.retiredKey(signerID)) {
            throw LedgerError(.unauthorized, "key \(signerID.hex.prefix(16))… was rotated at height \(retired.height); sign with \(retired.successor.hex.prefix(16))…")
        }
        // A validator's consensus key may sign evidence (the node that saw the double vote submits it) and its own
        // rotation.
        if body.payload.isValidatorSigned,
            let schedule = try state.record(ValidatorSchedule.self, StateKey.validatorScheduleKey),
            schedule.entries.contains(where: { $0.validators.contains { $0.key.keyID == signerID } })
        {
            return .validator
        }
        throw LedgerError(.unknownSigner, "signer \(signerID.hex.prefix(16))… is not enrolled")
    }

    func receipt(patient: Hash32? = nil, created: Hash32? = nil) -> Receipt {
        Receipt(transaction: transaction.id, kind: body.payload.kind, patient: patient, created: created)
    }

    // MARK: Helpers

    /// The patient's current participant record, or not_found.
    func patient(_ id: Hash32) throws(LedgerError) -> Participant {
        guard let keyID = try state.record(Hash32.self, StateKey.patient(id)),
            let participant = try state.record(Participant.self, StateKey.participant(keyID))
        else { throw LedgerError(.notFound, "no patient \(id.hex.prefix(16))…") }
        return participant
    }

    /// True if the signer is this patient.
    func signerIsPatient(_ patientID: Hash32, _ signer: Signer) -> Bool {
        signer.participant?.role == .patient && signer.participant?.patientID == patientID
    }

    /// True if the signer holds an active delegation from the patient with `power` over `categories`.
    func signerIsDelegate(
        of patientID: Hash32, _ power: DelegatedPowers, over categories: [String]
    ) throws(LedgerError) -> Bool {
        for key in try state.keys(prefix: StateKey.delegateDelegations(signerID, patientID)) {
            guard let id = Hash32(bytes: key.suffix(32)),
                let delegation = try state.record(Delegation.self, StateKey.delegation(id))
            else { continue }
            if delegation.allows(power, over: categories, at: context.time) { return true }
        }
        return false
    }

    /// The categories a scope touches: its categories plus those of each named shadow, which must be the patient's
    /// and not erased.
    func categories(of scope: Scope, patient: Hash32) throws(LedgerError) -> [String] {
        var result = scope.categories
        for id in scope.shadows {
            guard let shadow = try state.record(Shadow.self, StateKey.shadow(id)) else {
                throw LedgerError(.notFound, "no shadow \(id.hex.prefix(16))…")
            }
            guard shadow.registration.patient == patient else {
                throw LedgerError(.invalidField, "shadow \(id.hex.prefix(16))… belongs to another patient")
            }
            guard !shadow.isErased else { throw LedgerError(.erased, "shadow \(id.hex.prefix(16))… was erased") }
            result.append(contentsOf: shadow.registration.categories)
        }
        return result
    }

    func checkCategories(_ categories: [String]) throws(LedgerError) {
        for category in categories where !isValidCategory(category) {
            throw LedgerError(.invalidField, "category \"\(category)\" is not lower-case dotted words")
        }
    }

    mutating func appendHistory(_ patientID: Hash32) throws(LedgerError) {
        let head = try state.record(HistoryHead.self, StateKey.historyHead(patientID)) ?? .empty
        let next = head.appending(transaction.id)
        state.put(next, at: StateKey.historyHead(patientID))
        state.put(transaction.id, at: StateKey.historyEntry(patientID, head.count))
    }

    // MARK: Rules

    mutating func enroll(_ p: Enroll, _ signer: Signer) throws(LedgerError) -> Receipt {
        guard let organization = signer.organization else {
            throw LedgerError(.unauthorized, "only a genesis organization enrolls participants")
        }
        guard p.organization == organization.name else {
            throw LedgerError(.unauthorized, "\(organization.name) cannot enroll into \(p.organization)")
        }
        let keyID = p.key.keyID
        guard try state.get(StateKey.participant(keyID)) == nil, try state.get(StateKey.organization(keyID)) == nil else {
            throw LedgerError(.alreadyExists, "key \(keyID.hex.prefix(16))… is already enrolled")
        }
        // A retired key would take its patient id back (the id is derived from the first key), and a consensus key
        // signs nothing else.
        guard try state.get(StateKey.retiredKey(keyID)) == nil, try state.get(StateKey.validatorNode(keyID)) == nil else {
            throw LedgerError(.alreadyExists, "key \(keyID.hex.prefix(16))… was rotated out or is a validator key")
        }
        let pid = p.role == .patient ? patientID(for: p.key) : nil
        if let pid, try state.get(StateKey.patient(pid)) != nil {
            throw LedgerError(.alreadyExists, "patient \(pid.hex.prefix(16))… exists")
        }
        state.put(
            Participant(key: p.key, role: p.role, organization: p.organization, patientID: pid,
                        enrolledHeight: context.height),
            at: StateKey.participant(keyID)
        )
        if let pid {
            state.put(keyID, at: StateKey.patient(pid))
            try appendHistory(pid)
        }
        return receipt(patient: pid, created: keyID)
    }

    mutating func publishAuthority(_ p: AuthorityKeys, _ signer: Signer, rotate: Bool) throws(LedgerError) -> Receipt {
        guard let participant = signer.participant, participant.role == .authority else {
            throw LedgerError(.unauthorized, "only an enrolled authority key publishes attribute keys")
        }
        let name = participant.organization
        try checkAttributeVersions(p.attributes, allowEmpty: false)
        let publicKey: ABE.AuthorityPublicKey
        do { publicKey = try ABE.AuthorityPublicKey(bytes: p.key) } catch {
            throw LedgerError(.invalidField, "the key is not an ABE authority public key: \(error.message)")
        }
        guard publicKey.authority == name, publicKey.epoch == p.epoch else {
            throw LedgerError(.invalidField, "the key is \(publicKey.authority)'s for epoch \(publicKey.epoch), not \(name)'s for \(p.epoch)")
        }
        let existing = try state.record(Authority.self, StateKey.authority(name))
        if rotate {
            guard let existing else { throw LedgerError(.notFound, "authority \(name) has not published yet") }
            guard existing.key == signerID else {
                throw LedgerError(.unauthorized, "only the key that published \(name) may rotate it")
            }
            guard p.epoch > existing.epoch else {
                throw LedgerError(.badSequence, "epoch \(p.epoch) is not above the current \(existing.epoch)")
            }
            for old in existing.attributes {
                if let new = p.attributes.first(where: { $0.name == old.name }), new.version < old.version {
                    throw LedgerError(.badSequence, "\(name).\(old.name) would go back from version \(old.version) to \(new.version)")
                }
            }
        } else {
            guard existing == nil else { throw LedgerError(.alreadyExists, "authority \(name) already published") }
            guard p.epoch == 1 else { throw LedgerError(.badSequence, "the first epoch is 1, got \(p.epoch)") }
        }
        state.put(
            Authority(name: name, key: signerID, epoch: p.epoch, publicKey: p.key, attributes: p.attributes,
                      height: context.height),
            at: StateKey.authority(name)
        )
        return receipt()
    }

    /// A policy envelope: its policy in canonical form, an epoch for exactly the policy's authorities, each the
    /// authority's current one (a write always wraps under the current epochs: that is the lazy re-wrap).
    func checkPolicyEnvelope(_ envelope: PolicyEnvelope) throws(LedgerError) {
        let policy: ABE.Policy
        do { policy = try ABE.Policy(parsing: envelope.policy) } catch {
            throw LedgerError(.invalidField, "the policy does not parse (\(error.code.rawValue)): \(error.message)")
        }
        guard policy.description == envelope.policy else {
            throw LedgerError(.invalidField, "the policy is not in its canonical form: \(policy)")
        }
        let authorities = Set(policy.attributes.map(\.authority))
        guard Set(envelope.epochs.keys) == authorities else {
            throw LedgerError(.invalidField, "the envelope's epochs are not exactly those of the policy's authorities")
        }
        for name in authorities.sorted() {
            guard let authority = try state.record(Authority.self, StateKey.authority(name)) else {
                throw LedgerError(.notFound, "authority \(name) has not published")
            }
            guard envelope.epochs[name] == authority.epoch else {
                throw LedgerError(.badSequence, "\(name) is at epoch \(authority.epoch): wrap under the current epochs")
            }
        }
    }

    mutating func unindex(_ envelope: PolicyEnvelope, shadow: Hash32) {
        for (authority, epoch) in envelope.epochs { state.delete(StateKey.policyEnvelope(authority, epoch, shadow)) }
    }

    /// A policy in the language of Docs/abe.md (parsed, limits, no repeated attribute).
    func checkPolicy(_ text: String) throws(LedgerError) {
        do { _ = try ABE.Policy(parsing: text) } catch {
            throw LedgerError(.invalidField, "the policy does not parse (\(error.code.rawValue)): \(error.message)")
        }
    }

    /// Attribute names valid (as policy parts) and distinct, versions at least 1.
    func checkAttributeVersions(_ attributes: [AttributeVersion], allowEmpty: Bool) throws(LedgerError) {
        guard allowEmpty || !attributes.isEmpty else { throw LedgerError(.invalidField, "no attributes") }
        var seen: Set<String> = []
        for attribute in attributes {
            guard (try? ABE.AttributeName(authority: "A", name: attribute.name)) != nil, seen.insert(attribute.name).inserted,
                  attribute.version >= 1 else {
                throw LedgerError(.invalidField, "attribute \(attribute.name) is invalid, repeated or at version 0")
            }
        }
    }

    /// The authority the signer published, or why not.
    func ownAuthority(_ signer: Signer) throws(LedgerError) -> Authority {
        guard let participant = signer.participant, participant.role == .authority else {
            throw LedgerError(.unauthorized, "only an enrolled authority key manages attributes")
        }
        guard let authority = try state.record(Authority.self, StateKey.authority(participant.organization)) else {
            throw LedgerError(.notFound, "authority \(participant.organization) has not published yet")
        }
        guard authority.key == signerID else {
            throw LedgerError(.unauthorized, "only the key that published \(authority.name) manages its attributes")
        }
        return authority
    }

    mutating func reviseAuthority(_ p: AuthorityAttributes, _ signer: Signer) throws(LedgerError) -> Receipt {
        var authority = try ownAuthority(signer)
        try checkAttributeVersions(p.attributes, allowEmpty: false)
        for change in p.attributes {
            if let index = authority.attributes.firstIndex(where: { $0.name == change.name }) {
                guard change.version > authority.attributes[index].version else {
                    throw LedgerError(.badSequence,
                                      "\(authority.name).\(change.name) is at version \(authority.attributes[index].version); a change raises it")
                }
                authority.attributes[index].version = change.version
            } else {
                guard authority.attributes.count < Limits.attributesMax else {
                    throw LedgerError(.invalidField, "an authority declares at most \(Limits.attributesMax) attributes")
                }
                authority.attributes.append(change)
            }
        }
        authority.height = context.height
        state.put(authority, at: StateKey.authority(authority.name))
        return receipt()
    }

    mutating func recordIssuance(_ p: AttributeIssue, _ signer: Signer) throws(LedgerError) -> Receipt {
        let authority = try ownAuthority(signer)
        guard let version = authority.version(of: p.attribute) else {
            throw LedgerError(.notFound, "\(authority.name) declares no attribute \(p.attribute)")
        }
        guard p.version == version, p.epoch == authority.epoch else {
            throw LedgerError(.badSequence, "\(authority.name).\(p.attribute) is at version \(version), epoch \(authority.epoch)")
        }
        guard try state.record(Participant.self, StateKey.participant(p.user)) != nil else {
            throw LedgerError(.notFound, "no participant \(p.user)")
        }
        state.put(
            Issuance(user: p.user, authority: authority.name, attribute: p.attribute, version: p.version, epoch: p.epoch,
                     digest: p.digest, height: context.height),
            at: StateKey.issuance(p.user, authority.name, p.attribute)
        )
        return receipt()
    }

    mutating func registerShadow(_ p: ShadowRegister, _ signer: Signer) throws(LedgerError) -> Receipt {
        guard !p.categories.isEmpty else { throw LedgerError(.invalidField, "a shadow needs at least one category") }
        try checkCategories(p.categories)
        if let envelope = p.policy { try checkPolicyEnvelope(envelope) }
        _ = try patient(p.patient)
        let existing = try state.record(Shadow.self, StateKey.shadow(p.shadow))
        if let existing {
            guard existing.registration.patient == p.patient else {
                throw LedgerError(.invalidField, "shadow belongs to another patient")
            }
            guard !existing.isErased else { throw LedgerError(.erased, "shadow was erased") }
            guard p.version == existing.registration.version + 1 else {
                throw LedgerError(.badSequence, "version \(p.version) does not follow \(existing.registration.version)")
            }
        } else {
            guard p.version == 1 else { throw LedgerError(.badSequence, "a new shadow starts at version 1") }
        }
        var allowed = signerIsPatient(p.patient, signer)
        if !allowed { allowed = try signerIsDelegate(of: p.patient, .register, over: p.categories) }
        if !allowed {
            allowed = try signerHoldsWriteGrant(
                patient: p.patient, shadow: existing == nil ? nil : p.shadow, categories: p.categories
            )
        }
        guard allowed else {
            throw LedgerError(.unauthorized, "neither the patient, a delegate, nor holder of a write grant")
        }
        state.put(Shadow(registration: p, registeredBy: signerID, height: context.height), at: StateKey.shadow(p.shadow))
        if let old = existing?.registration.policy { unindex(old, shadow: p.shadow) }
        if let new = p.policy {
            for (authority, epoch) in new.epochs { state.putRaw([], at: StateKey.policyEnvelope(authority, epoch, p.shadow)) }
        }
        state.putRaw([], at: StateKey.patientShadow(p.patient, p.shadow))
        state.put(p, at: StateKey.shadowVersion(p.shadow, p.version))
        try appendHistory(p.patient)
        return receipt(patient: p.patient, created: p.shadow)
    }

    mutating func rewrapShadow(_ p: ShadowRewrap, _ signer: Signer) throws(LedgerError) -> Receipt {
        guard var shadow = try state.record(Shadow.self, StateKey.shadow(p.shadow)) else {
            throw LedgerError(.notFound, "no shadow \(p.shadow.hex.prefix(16))…")
        }
        guard !shadow.isErased else { throw LedgerError(.erased, "shadow was erased") }
        var registration = shadow.registration
        guard p.version == registration.version else {
            throw LedgerError(.badSequence, "version \(p.version) is not the current \(registration.version)")
        }
        guard let old = registration.policy else {
            throw LedgerError(.invalidField, "this version has no policy envelope to re-wrap")
        }
        guard p.policy.policy == old.policy else {
            throw LedgerError(.invalidField, "a re-wrap keeps the policy (a new policy is a new version)")
        }
        guard p.policy.address != old.address else { throw LedgerError(.invalidField, "the envelope is the same blob") }
        try checkPolicyEnvelope(p.policy)
        var allowed = signerIsPatient(registration.patient, signer)
        if !allowed { allowed = try signerIsDelegate(of: registration.patient, .register, over: registration.categories) }
        if !allowed {
            allowed = try signerHoldsWriteGrant(patient: registration.patient, shadow: p.shadow, categories: registration.categories)
        }
        guard allowed else { throw LedgerError(.unauthorized, "neither the patient, a delegate, nor holder of a write grant") }
        unindex(old, shadow: p.shadow)
        state.putRaw([], at: StateKey.retiredEnvelope(p.shadow, old.address))
        registration.policy = p.policy
        for (authority, epoch) in p.policy.epochs { state.putRaw([], at: StateKey.policyEnvelope(authority, epoch, p.shadow)) }
        shadow.registration = registration
        state.put(shadow, at: StateKey.shadow(p.shadow))
        state.put(registration, at: StateKey.shadowVersion(p.shadow, registration.version))
        try appendHistory(registration.patient)
        return receipt(patient: registration.patient, created: p.shadow)
    }

    /// An active grant to the signer with the write action covering every category (or naming the shadow).
    func signerHoldsWriteGrant(patient: Hash32, shadow: Hash32?, categories: [String]) throws(LedgerError) -> Bool {
        for key in try state.keys(prefix: StateKey.granteeGrants(signerID, patient)) {
            guard let id = Hash32(bytes: key.suffix(32)),
                let grant = try state.record(Grant.self, StateKey.grant(id)),
                grant.isActive(at: context.time), grant.actions.contains(.write)
            else { continue }
            if let shadow, grant.scope.shadows.contains(shadow) { return true }
            if categories.allSatisfy({ c in grant.scope.categories.contains { category($0, covers: c) } }) { return true }
        }
        return false
    }

    mutating func grantConsent(_ p: ConsentGrant, _ signer: Signer) throws(LedgerError) -> Receipt {
        _ = try patient(p.patient)
        guard !p.scope.isEmpty else { throw LedgerError(.invalidField, "empty scope") }
        guard !p.actions.isEmpty else { throw LedgerError(.invalidField, "no actions") }
        try checkCategories(p.scope.categories)
        if let until = p.validUntil {
            guard until > p.validFrom, until > context.time else {
                throw LedgerError(.invalidField, "validity period ends before it starts or in the past")
            }
        }
        switch p.grantee {
        case .participant(let id):
            guard let grantee = try state.record(Participant.self, StateKey.participant(id)) else {
                throw LedgerError(.notFound, "grantee \(id.hex.prefix(16))… is not enrolled")
            }
            guard grantee.patientID != p.patient else { throw LedgerError(.invalidField, "a patient cannot grant to self") }
        case .policy(let text):
            try checkPolicy(text)
        }
        let touched = try categories(of: p.scope, patient: p.patient)
        try checkEnvelopes(p)
        var allowed = signerIsPatient(p.patient, signer)
        if !allowed { allowed = try signerIsDelegate(of: p.patient, .grant, over: touched) }
        guard allowed else {
            throw LedgerError(.unauthorized, "only the patient or a delegate with grant power over the scope")
        }
        let grant = Grant(
            id: transaction.id, patient: p.patient, grantee: p.grantee, actions: p.actions, scope: p.scope,
            purpose: p.purpose, validFrom: p.validFrom, validUntil: p.validUntil, grantor: signerID,
            createdHeight: context.height, breakGlassReason: nil, envelopes: p.envelopes
        )
        storeNewGrant(grant)
        try appendHistory(p.patient)
        return receipt(patient: p.patient, created: grant.id)
    }

    /// A grant's key envelopes (Docs/transactions.md, "consent.grant"): only for a participant grantee and the read
    /// action, one per shadow, each for a shadow of the patient's that the scope covers, live, at its current version.
    func checkEnvelopes(_ p: ConsentGrant) throws(LedgerError) {
        guard !p.envelopes.isEmpty else { return }
        guard case .participant = p.grantee else {
            throw LedgerError(.invalidField, "key envelopes are for a participant grantee, not a policy")
        }
        guard p.actions.contains(.read) else { throw LedgerError(.invalidField, "key envelopes need the read action") }
        var seen = Set<Hash32>()
        for envelope in p.envelopes {
            guard seen.insert(envelope.shadow).inserted else {
                throw LedgerError(.invalidField, "two envelopes for shadow \(envelope.shadow.hex.prefix(16))…")
            }
            guard let shadow = try state.record(Shadow.self, StateKey.shadow(envelope.shadow)) else {
                throw LedgerError(.notFound, "no shadow \(envelope.shadow.hex.prefix(16))…")
            }
            let registration = shadow.registration
            guard registration.patient == p.patient else {
                throw LedgerError(.invalidField, "shadow \(envelope.shadow.hex.prefix(16))… belongs to another patient")
            }
            guard !shadow.isErased else { throw LedgerError(.erased, "shadow \(envelope.shadow.hex.prefix(16))… was erased") }
            let covered = p.scope.shadows.contains(envelope.shadow)
                || registration.categories.allSatisfy { needed in p.scope.categories.contains { category($0, covers: needed) } }
            guard covered else {
                throw LedgerError(.invalidField, "shadow \(envelope.shadow.hex.prefix(16))… is outside the grant's scope")
            }
            guard envelope.version == registration.version else {
                throw LedgerError(.badSequence, "the envelope is for version \(envelope.version), the shadow is at \(registration.version)")
            }
        }
    }

    mutating func storeNewGrant(_ grant: Grant) {
        state.put(grant, at: StateKey.grant(grant.id))
        state.putRaw([], at: StateKey.patientGrant(grant.patient, grant.id))
        if case .participant(let grantee) = grant.grantee {
            state.putRaw([], at: StateKey.granteeGrant(grantee, grant.patient, grant.id))
        }
        for envelope in grant.envelopes {
            state.put(envelope, at: StateKey.shadowGrantEnvelope(envelope.shadow, grant.id))
        }
    }

    mutating func revokeConsent(_ p: ConsentRevoke, _ signer: Signer) throws(LedgerError) -> Receipt {
        guard var grant = try state.record(Grant.self, StateKey.grant(p.grant)) else {
            throw LedgerError(.notFound, "no grant \(p.grant.hex.prefix(16))…")
        }
        guard grant.revokedHeight == nil else { throw LedgerError(.alreadyRevoked, "grant already revoked") }
        let touched = grant.scope.categories + (try shadowCategories(grant.scope.shadows))
        var allowed = signerIsPatient(grant.patient, signer) || grant.grantor == signerID
        if !allowed { allowed = try signerIsDelegate(of: grant.patient, .revoke, over: touched) }
        guard allowed else {
            throw LedgerError(.unauthorized, "only the patient, the grantor, or a delegate with revoke power")
        }
        grant.revokedHeight = context.height
        grant.revokedBy = signerID
        state.put(grant, at: StateKey.grant(grant.id))
        try appendHistory(grant.patient)
        return receipt(patient: grant.patient, created: grant.id)
    }

    /// Categories of shadows named in a scope, erased ones included (revoking must stay possible).
    func shadowCategories(_ ids: [Hash32]) throws(LedgerError) -> [String] {
        var result: [String] = []
        for id in ids {
            if let shadow = try state.record(Shadow.self, StateKey.shadow(id)) {
                result.append(contentsOf: shadow.registration.categories)
            }
        }
        return result
    }

    mutating func grantDelegation(_ p: DelegationGrant, _ signer: Signer) throws(LedgerError) -> Receipt {
        _ = try patient(p.patient)
        guard signerIsPatient(p.patient, signer) else {
            throw LedgerError(.unauthorized, "only the patient delegates; a delegate cannot re-delegate")
        }
        guard let delegate = try state.record(Participant.self, StateKey.participant(p.delegate)) else {
            throw LedgerError(.notFound, "delegate \(p.delegate.hex.prefix(16))… is not enrolled")
        }
        guard delegate.patientID != p.patient else { throw LedgerError(.invalidField, "a patient cannot delegate to self") }
        guard !p.powers.isEmpty else { throw LedgerError(.invalidField, "no powers delegated") }
        try checkCategories(p.categories)
        if let until = p.validUntil, until <= context.time {
            throw LedgerError(.invalidField, "delegation would end in the past")
        }
        let delegation = Delegation(
            id: transaction.id, patient: p.patient, delegate: p.delegate, powers: p.powers, categories: p.categories,
            validUntil: p.validUntil, createdHeight: context.height
        )
        state.put(delegation, at: StateKey.delegation(delegation.id))
        state.putRaw([], at: StateKey.patientDelegation(p.patient, delegation.id))
        state.putRaw([], at: StateKey.delegateDelegation(p.delegate, p.patient, delegation.id))
        try appendHistory(p.patient)
        return receipt(patient: p.patient, created: delegation.id)
    }

    mutating func revokeDelegation(_ p: DelegationRevoke, _ signer: Signer) throws(LedgerError) -> Receipt {
        guard var delegation = try state.record(Delegation.self, StateKey.delegation(p.delegation)) else {
            throw LedgerError(.notFound, "no delegation \(p.delegation.hex.prefix(16))…")
        }
        guard signerIsPatient(delegation.patient, signer) else {
            throw LedgerError(.unauthorized, "only the patient revokes a delegation")
        }
        guard delegation.revokedHeight == nil else { throw LedgerError(.alreadyRevoked, "delegation already revoked") }
        delegation.revokedHeight = context.height
        state.put(delegation, at: StateKey.delegation(delegation.id))
        try appendHistory(delegation.patient)
        return receipt(patient: delegation.patient, created: delegation.id)
    }

    mutating func anchorAudit(_ p: AuditAnchor, _ signer: Signer) throws(LedgerError) -> Receipt {
        guard signer.organization != nil || signer.participant?.role == .node else {
            throw LedgerError(.unauthorized, "only an organization's node key anchors audit batches")
        }
        guard p.count > 0 else { throw LedgerError(.invalidField, "an anchor covers at least one record") }
        let next = try state.record(UInt64.self, StateKey.anchorHead(signerID)) ?? 0
        guard p.firstSequence == next else {
            throw LedgerError(.badSequence, "anchor starts at \(p.firstSequence); the next record is \(next)")
        }
        let (end, overflow) = p.firstSequence.addingReportingOverflow(p.count)
        guard !overflow else { throw LedgerError(.invalidField, "sequence overflows") }
        state.put(AnchorRecord(node: signerID, anchor: p, height: context.height), at: StateKey.anchor(signerID, next))
        state.put(end, at: StateKey.anchorHead(signerID))
        return receipt()
    }

    mutating func eraseShadow(_ p: ShadowErase, _ signer: Signer) throws(LedgerError) -> Receipt {
        guard var shadow = try state.record(Shadow.self, StateKey.shadow(p.shadow)) else {
            throw LedgerError(.notFound, "no shadow \(p.shadow.hex.prefix(16))…")
        }
        guard !shadow.isErased else { throw LedgerError(.erased, "shadow already erased") }
        let patientID = shadow.registration.patient
        var allowed = signerIsPatient(patientID, signer)
        if !allowed { allowed = try signerIsDelegate(of: patientID, .erase, over: shadow.registration.categories) }
        guard allowed else { throw LedgerError(.unauthorized, "only the patient or a delegate with erase power") }
        shadow.erasedHeight = context.height
        state.put(shadow, at: StateKey.shadow(p.shadow))
        if let envelope = shadow.registration.policy { unindex(envelope, shadow: p.shadow) }
        try appendHistory(patientID)
        return receipt(patient: patientID, created: p.shadow)
    }

    mutating func breakGlass(_ p: BreakGlass, _ signer: Signer) throws(LedgerError) -> Receipt {
        guard signer.participant?.role == .emergency else {
            throw LedgerError(.unauthorized, "only an emergency-role practitioner may break the glass")
        }
        _ = try patient(p.patient)
        guard !p.reason.trimmingWhitespace.isEmpty else { throw LedgerError(.invalidField, "a reason is required") }
        guard !parameters.emergencyCategories.isEmpty else {
            throw LedgerError(.invalidField, "this chain defines no emergency categories")
        }
        let grant = Grant(
            id: transaction.id, patient: p.patient, grantee: .participant(signerID), actions: .read,
            scope: Scope(categories: parameters.emergencyCategories), purpose: .emergencyTreatment,
            validFrom: context.time, validUntil: context.time + parameters.breakGlassSeconds, grantor: signerID,
            createdHeight: context.height, breakGlassReason: p.reason
        )
        storeNewGrant(grant)
        try appendHistory(p.patient)
        return receipt(patient: p.patient, created: grant.id)
    }

}

extension String {
    var trimmingWhitespace: Substring {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return Substring(scalars[first...last])
    }
}
