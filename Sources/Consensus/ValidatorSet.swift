import Encoding
import TwinCrypto

/// A validator: its public key and voting power.
public struct Validator: Sendable, Hashable {
    public var key: PublicKey
    public var power: UInt64
    public var id: Hash32 { key.keyID }

    public init(key: PublicKey, power: UInt64) {
        self.key = key
        self.power = power
    }
}

/// Why a validator set was refused.
public struct ValidatorSetError: Error, Sendable, Hashable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// The validators of one height, ordered by key id, with the proposer schedule.
///
/// Quorums follow the paper with voting power (TENDERMINT.md): "2f+1" is *more than two thirds* of the total power,
/// "f+1" is *more than one third*. The proposer of (height, round) is slot `(height + round) mod total power` of a
/// smooth weighted round robin over one cycle of the total power: every validator proposes in exactly `power` slots of
/// a cycle, spread out rather than in a run, so a silent heavy validator does not stall many rounds in a row.
public struct ValidatorSet: Sendable, Hashable {
    /// Total power above this is refused: the schedule holds one entry per unit of power.
    public static let totalPowerMax: UInt64 = 100_000
    public static let validatorsMax = 256

    public let validators: [Validator]
    public let totalPower: UInt64
    let indexByID: [Hash32: Int]
    /// Index into `validators` of each slot's proposer.
    let schedule: [UInt16]

    public init(_ validators: [Validator]) throws(ValidatorSetError) {
        guard !validators.isEmpty, validators.count <= Self.validatorsMax else {
            throw ValidatorSetError(message: "a validator set holds 1 to \(Self.validatorsMax) validators, not \(validators.count)")
        }
        let sorted = validators.sorted { $0.id < $1.id }
        var total: UInt64 = 0
        var index: [Hash32: Int] = [:]
        for (i, validator) in sorted.enumerated() {
            guard validator.power > 0 else { throw ValidatorSetError(message: "validator \(validator.id.hex.prefix(16)) has no power") }
            guard index.updateValue(i, forKey: validator.id) == nil else {
                throw ValidatorSetError(message: "validator \(validator.id.hex.prefix(16)) is listed twice")
            }
            total += min(validator.power, Self.totalPowerMax + 1)
            guard total <= Self.totalPowerMax else {
                throw ValidatorSetError(message: "total voting power above \(Self.totalPowerMax)")
            }
        }
        self.validators = sorted
        totalPower = total
        indexByID = index
        // Smooth weighted round robin: each slot, every validator gains its power; the one with the highest priority
        // (lowest index on ties) proposes and pays the total. Over `total` slots each proposes `power` times.
        var priority = [Int64](repeating: 0, count: sorted.count)
        var schedule: [UInt16] = []
        schedule.reserveCapacity(Int(total))
        for _ in 0..<total {
            var best = 0
            for i in sorted.indices {
                priority[i] += Int64(sorted[i].power)
                if priority[i] > priority[best] { best = i }
            }
            priority[best] -= Int64(total)
            schedule.append(UInt16(best))
        }
        self.schedule = schedule
    }

    public var count: Int { validators.count }

    public func validator(_ id: Hash32) -> Validator? { indexByID[id].map { validators[$0] } }

    public func contains(_ id: Hash32) -> Bool { indexByID[id] != nil }

    public func power(of id: Hash32) -> UInt64 { indexByID[id].map { validators[$0].power } ?? 0 }

    /// The proposer of `round` at `height`.
    public func proposer(height: UInt64, round: Int) -> Validator {
        let slot = (height % totalPower + UInt64(round) % totalPower) % totalPower
        return validators[Int(schedule[Int(slot)])]
    }

    /// More than two thirds of the total power (the paper's 2f+1).
    public func isQuorum(_ power: UInt64) -> Bool { 3 * power > 2 * totalPower }

    /// More than one third of the total power (the paper's f+1): at least one honest validator among them.
    public func isOneThird(_ power: UInt64) -> Bool { 3 * power > totalPower }

    /// Why signatures do not make a quorum of this set.
    public enum QuorumFailure: Error, Sendable, Hashable, CustomStringConvertible {
        case unsorted
        case notValidator(Hash32)
        case badSignature(Hash32)
        case short(power: UInt64, total: UInt64)

        public var description: String {
            switch self {
            case .unsorted: "signers must be sorted by key id, each once"
            case .notValidator(let id): "\(id.hex.prefix(16))… is not a validator"
            case .badSignature(let id): "the signature of \(id.hex.prefix(16))… does not verify"
            case .short(let power, let total): "signers hold \(power) of \(total) power, not more than 2/3"
            }
        }
    }

    /// Checks that `signatures` (sorted by validator key id, each once) are by validators of this set, each over
    /// `message(signature)`, and that the signers hold more than two thirds of the power: what a commit certificate and
    /// a validator set change both need.
    public func verifyQuorum(
        _ signatures: [ValidatorSignature], message: (ValidatorSignature) -> [UInt8]
    ) throws(QuorumFailure) {
        var power: UInt64 = 0
        var previous: Hash32?
        for signer in signatures {
            if let previous, !(previous < signer.validator) { throw .unsorted }
            previous = signer.validator
            guard let validator = validator(signer.validator) else { throw .notValidator(signer.validator) }
            guard validator.key.verify(signer.signature, for: message(signer)) else { throw .badSignature(signer.validator) }
            power += validator.power
        }
        guard isQuorum(power) else { throw .short(power: power, total: totalPower) }
    }
}
