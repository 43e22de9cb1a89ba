import Pairing

/// The linear secret-sharing scheme of a policy (Docs/abe.md, "From policy to LSSS"): a matrix A over Z_r with one
/// row per leaf (left to right) and the row map δ to attributes, built by the threshold-gate construction of
/// ../shared/ABE-RW15.md. The root is labelled (1); a k-of-n gate labelled v (padded to the current column count c)
/// adds columns c+1 … c+k−1 and gives its i-th child the label v followed by i, i², …, i^(k−1) there. A secret s
/// shared as λ = A·(s, r₂, …, r_l) is then recovered by constants c_x with Σ c_x·A_x = (1, 0, …, 0) over any rows
/// whose attributes satisfy the policy, and the rows of an unsatisfying set span no such combination.
public struct LSSSMatrix: Sendable, Equatable {
    public let rows: [[Fr]]
    public let attributes: [AttributeName]

    public var columnCount: Int { rows.first?.count ?? 0 }

    public init(_ policy: Policy) {
        var labels: [[Fr]] = []
        var attributes: [AttributeName] = []
        var columns = 1
        LSSSMatrix.label(policy, [Fr.one], &columns, &labels, &attributes)
        self.rows = labels.map { $0 + [Fr](repeating: .zero, count: columns - $0.count) }
        self.attributes = attributes
    }

    static func label(_ node: Policy, _ vector: [Fr], _ columns: inout Int, _ rows: inout [[Fr]],
                      _ attributes: inout [AttributeName]) {
        switch node {
        case .attribute(let name):
            rows.append(vector)
            attributes.append(name)
        case .threshold(let k, let children):
            let padded = vector + [Fr](repeating: .zero, count: columns - vector.count)
            columns += k - 1
            for (offset, child) in children.enumerated() {
                let index = Fr(UInt64(offset + 1))
                var label = padded, power = Fr.one
                for _ in 1..<k {
                    power = power * index
                    label.append(power)
                }
                LSSSMatrix.label(child, label, &columns, &rows, &attributes)
            }
        }
    }

    /// λ_x = ⟨A_x, vector⟩ for every row.
    public func shares(of vector: [Fr]) -> [Fr] {
        rows.map { row in zip(row, vector).reduce(Fr.zero) { $0 + $1.0 * $1.1 } }
    }
}

extension Policy {
    /// Reconstruction constants for a holder of `held`: pairs (row, c_x) with Σ c_x·A_x = (1, 0, …, 0) over the rows
    /// of `LSSSMatrix(self)`, or nil when `held` does not satisfy the policy. Computed on the tree: at each k-of-n
    /// gate the k satisfied children with the fewest rows (fewest pairings) are combined with the Lagrange
    /// coefficients at 0 of their indices, Π_{j≠i} j/(j − i).
    public func reconstruction(for held: Set<AttributeName>) -> [(row: Int, coefficient: Fr)]? {
        var next = 0
        return reconstruct(held, &next)?.map { ($0.row, $0.value) }
    }

    /// The same constants as small integers over a common denominator: (row, c'_x) and D with c_x = c'_x / D, when
    /// every c'_x and D fit in 62 bits (the usual case: an AND of n gives the binomial coefficients ±C(n, i) and
    /// D = 1). Decryption then raises to these short exponents and takes one D⁻¹ power at the end. Nil when `held`
    /// does not satisfy the policy or the integers would be larger.
    public func smallReconstruction(for held: Set<AttributeName>) -> (terms: [(row: Int, coefficient: Int64)], denominator: Int64)? {
        var next = 0
        guard let terms = reconstruct(held, &next) else { return nil }
        var denominator: Int64 = 1
        for term in terms {
            guard let exact = term.exact, let lcm = leastCommonMultiple(denominator, exact.denominator) else { return nil }
            denominator = lcm
        }
        var result: [(row: Int, coefficient: Int64)] = []
        for term in terms {
            guard let exact = term.exact else { return nil }
            let (scaled, overflow) = exact.numerator.multipliedReportingOverflow(by: denominator / exact.denominator)
            guard !overflow, scaled.magnitude < Policy.smallLimit else { return nil }
            result.append((term.row, scaled))
        }
        return (result, denominator)
    }

    /// The bound on the integers of `smallReconstruction` (2^62), so products and sums of two never overflow.
    static let smallLimit: UInt64 = 1 << 62

    /// A reconstruction term: the row, c_x in Z_r, and c_x as a reduced fraction of small integers while it is one
    /// (positive denominator).
    struct Term {
        let row: Int
        let value: Fr
        let exact: (numerator: Int64, denominator: Int64)?
    }

    func reconstruct(_ held: Set<AttributeName>, _ next: inout Int) -> [Term]? {
        switch self {
        case .attribute(let name):
            defer { next += 1 }
            return held.contains(name) ? [Term(row: next, value: .one, exact: (1, 1))] : nil
        case .threshold(let k, let children):
            var satisfied: [(index: Int, terms: [Term])] = []
            for (offset, child) in children.enumerated() {
                if let terms = child.reconstruct(held, &next) { satisfied.append((offset + 1, terms)) }
            }
            guard satisfied.count >= k else { return nil }
            let chosen = Array(satisfied.sorted { ($0.terms.count, $0.index) < ($1.terms.count, $1.index) }.prefix(k))
            var result: [Term] = []
            for (position, child) in chosen.enumerated() {
                // Lagrange at 0: Π_{j≠i} j/(j − i) over the chosen indices (distinct, below r: never a zero denominator).
                let i = Int64(child.index)
                var numerator = Fr.one, denominator = Fr.one
                var exact: (numerator: Int64, denominator: Int64)? = (1, 1)
                for (other, sibling) in chosen.enumerated() where other != position {
                    let j = Int64(sibling.index)
                    numerator = numerator * Fr(UInt64(j))
                    denominator = denominator * (Fr(UInt64(j)) - Fr(UInt64(i)))
                    exact = exact.flatMap { multiplyFraction($0, (j, j - i)) }
                }
                let lagrange = numerator * (denominator.inverse ?? .zero)
                result += child.terms.map { term in
                    Term(row: term.row, value: term.value * lagrange,
                         exact: term.exact.flatMap { a in exact.flatMap { multiplyFraction(a, $0) } })
                }
            }
            return result.sorted { $0.row < $1.row }
        }
    }
}

/// a·b as a reduced fraction with a positive denominator, or nil past 2^62.
func multiplyFraction(_ a: (numerator: Int64, denominator: Int64), _ b: (numerator: Int64, denominator: Int64))
    -> (numerator: Int64, denominator: Int64)? {
    let (n, o1) = a.numerator.multipliedReportingOverflow(by: b.numerator)
    let (d, o2) = a.denominator.multipliedReportingOverflow(by: b.denominator)
    guard !o1, !o2, d != 0 else { return nil }
    let divisor = greatestCommonDivisor(n.magnitude, d.magnitude)
    var numerator = n / Int64(divisor), denominator = d / Int64(divisor)
    if denominator < 0 { (numerator, denominator) = (-numerator, -denominator) }
    guard numerator.magnitude < Policy.smallLimit, denominator.magnitude < Policy.smallLimit else { return nil }
    return (numerator, denominator)
}

func greatestCommonDivisor(_ a: UInt64, _ b: UInt64) -> UInt64 {
    var (a, b) = (a, b)
    while b != 0 { (a, b) = (b, a % b) }
    return max(a, 1)
}

func leastCommonMultiple(_ a: Int64, _ b: Int64) -> Int64? {
    let (product, overflow) = (a / Int64(greatestCommonDivisor(a.magnitude, b.magnitude))).multipliedReportingOverflow(by: b)
    guard !overflow, product.magnitude < Policy.smallLimit else { return nil }
    return product
}
