import Encoding
import KeyValue
import Ledger
import TestSupport
import Testing
import TwinCrypto

/// A ledger on a real store with two genesis organizations, and helpers to sign, submit and inspect.
final class LedgerWorld {
    let chainID = "twinledger-test"
    let store: any KeyValueStore
    let machine: StateMachine
    let hospitalA: SecretKey
    let hospitalB: SecretKey
    /// Four validators of power 1 in the genesis.
    let validatorKeys: [SecretKey]
    var height: UInt64 = 0
    /// The state root after the last committed block.
    var lastRoot: Hash32 = .zero
    /// The state tree after the last committed block.
    var tree = StateTree.empty
    var time: UInt64 = 1_800_000_000
    private var nonces: [Hash32: UInt64] = [:]
    /// With a seed, keys and signatures are reproducible, so two worlds with one seed build identical chains.
    private var random: SeededRandom?
    let parameters = LedgerParameters(breakGlassSeconds: 3_600, emergencyCategories: ["emergency", "medication"])

    init(store: any KeyValueStore = MemoryStore(), seed: UInt64? = nil) throws {
        self.store = store
        machine = StateMachine(chainID: chainID)
        random = seed.map(SeededRandom.init(seed:))
        hospitalA = try Self.key(&random)
        hospitalB = try Self.key(&random)
        var generator = random
        var validators: [SecretKey] = []
        for _ in 0..<4 { validators.append(try Self.key(&generator)) }
        random = generator
        validatorKeys = validators
        let genesis = LedgerGenesis(
            chainID: chainID,
            organizations: [
                Organization(name: "HOSP_A", key: hospitalA.publicKey),
                Organization(name: "HOSP_B", key: hospitalB.publicKey),
            ],
            parameters: parameters,
            validators: validatorKeys.map { ValidatorChange(key: $0.publicKey, power: 1) }
        )
        try store.write(try StateMachine.genesis(genesis).batch, sync: false)
        tree = try StateTree.load(store)
    }

    static func key(_ random: inout SeededRandom?) throws -> SecretKey {
        guard var generator = random else { return try SecretKey() }
        defer { random = generator }
        while true {
            if let key = try? SecretKey(bytes: generator.bytes(32)) { return key }
        }
    }

    func newKey() throws -> SecretKey { try Self.key(&random) }

    /// A signed, verified transaction with the signer's next nonce (or the one given).
    func tx(_ key: SecretKey, _ payload: Payload, nonce: UInt64? = nil) throws -> VerifiedTransaction {
        let id = key.publicKey.keyID
        let n = nonce ?? (nonces[id] ?? 0) + 1
        nonces[id] = max(nonces[id] ?? 0, n)
        let body = TransactionBody(chainID: chainID, signer: key.publicKey, nonce: n, payload: payload)
        let aux = random?.bytes(32)
        return try VerifiedTransaction(
            try SignedTransaction(signing: body, with: key, auxiliaryRandom: aux), chainID: chainID
        )
    }

    /// Executes one block and commits its writes.
    @discardableResult
    func commit(_ transactions: [VerifiedTransaction]) throws -> [TransactionResult] {
        height += 1
        time += 5
        let execution = try machine.execute(
            transactions, on: store, tree: tree, context: BlockContext(height: height, time: time)
        )
        try store.write(execution.batch, sync: false)
        tree = execution.tree
        lastRoot = execution.stateRoot
        return execution.results
    }

    /// Submits one transaction in its own block.
    @discardableResult
    func submit(_ key: SecretKey, _ payload: Payload, nonce: UInt64? = nil) throws -> TransactionResult {
        try commit([try tx(key, payload, nonce: nonce)])[0]
    }

    /// Submits and requires acceptance, returning the receipt.
    @discardableResult
    func accept(
        _ key: SecretKey, _ payload: Payload, sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> Receipt {
        let result = try submit(key, payload)
        guard case .accepted(let receipt) = result else {
            Issue.record("expected acceptance of \(payload.kind), got \(result)", sourceLocation: sourceLocation)
            throw WorldError.unexpected
        }
        return receipt
    }

    /// Submits and requires rejection with `code`; checks that the state did not change at all.
    func reject(
        _ key: SecretKey, _ payload: Payload, _ code: LedgerError.Code, nonce: UInt64? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let before = try dump()
        let result = try submit(key, payload, nonce: nonce)
        guard case .rejected(_, let error) = result else {
            Issue.record("expected \(code) for \(payload.kind), it was accepted", sourceLocation: sourceLocation)
            return
        }
        #expect(error.code == code, "\(payload.kind): \(error)", sourceLocation: sourceLocation)
        #expect(try dump() == before, "a rejected \(payload.kind) changed the state", sourceLocation: sourceLocation)
    }

    /// Every entry in the store (state and indexes).
    func dump() throws -> [KeyValueEntry] { try store.scan(prefix: []) }

    /// Proves `key`'s current value (or absence) against the last state root.
    func proves(_ key: [UInt8]) throws -> Bool {
        try tree.proof(for: key).verify(root: lastRoot, key: key, value: try store.get(key))
    }

    func record<T: CanonicalDecodable>(_ type: T.Type, _ key: [UInt8]) throws -> T? {
        guard let bytes = try store.get(key) else { return nil }
        return try Canonical.decode(T.self, from: bytes)
    }

    /// Enrolls a new key with `role` through `organization` (HOSP_A by default).
    func enroll(_ role: Role, by organization: SecretKey? = nil, name: String = "HOSP_A") throws -> SecretKey {
        let key = try newKey()
        try accept(organization ?? hospitalA, .enroll(Enroll(key: key.publicKey, role: role, organization: name)))
        return key
    }

    func history(_ patient: Hash32) throws -> (HistoryHead, [Hash32]) {
        let head = try record(HistoryHead.self, StateKey.historyHead(patient)) ?? .empty
        let entries = try store.scan(prefix: StateKey.historyEntries(patient)).map { entry in
            try Canonical.decode(Hash32.self, from: entry.value)
        }
        return (head, entries)
    }

    enum WorldError: Error { case unexpected }
}

/// A patient with their pseudonymous id.
struct PatientKey {
    let key: SecretKey
    var id: Hash32 { patientID(for: key.publicKey) }
}

extension LedgerWorld {
    func enrollPatient() throws -> PatientKey { PatientKey(key: try enroll(.patient)) }

    func registerShadow(
        _ patient: PatientKey, categories: [String] = ["neuro.mri"], signer: SecretKey? = nil, version: UInt64 = 1,
        shadow: Hash32? = nil
    ) throws -> Hash32 {
        let id = shadow ?? Hash32(bytes: SecureRandom.bytes(32)) ?? .zero
        try accept(signer ?? patient.key, .shadowRegister(shadowPayload(patient, id, categories, version)))
        return id
    }

    func shadowPayload(_ patient: PatientKey, _ id: Hash32, _ categories: [String], _ version: UInt64 = 1) -> ShadowRegister {
        ShadowRegister(
            shadow: id, patient: patient.id, version: version, categories: categories,
            manifest: Hashing.sha3(id.bytes + [UInt8(truncatingIfNeeded: version)]), size: 4_096
        )
    }

    func grantPayload(
        _ patient: PatientKey, to grantee: SecretKey, actions: Actions = .read, categories: [String] = ["neuro"],
        shadows: [Hash32] = [], purpose: Purpose = .treatment, until: UInt64? = nil
    ) -> ConsentGrant {
        ConsentGrant(
            patient: patient.id, grantee: .participant(grantee.publicKey.keyID), actions: actions,
            scope: Scope(shadows: shadows, categories: categories), purpose: purpose, validFrom: time,
            validUntil: until ?? time + 86_400
        )
    }
}
