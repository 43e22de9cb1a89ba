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
        return reconstruct(held, &next)
    }

    func reconstruct(_ held: Set<AttributeName>, _ next: inout Int) -> [(row: Int, coefficient: Fr)]? {
        switch self {
        case .attribute(let name):
            defer { next += 1 }
            return held.contains(name) ? [(next, .one)] : nil
        case .threshold(let k, let children):
            var satisfied: [(index: Int, terms: [(row: Int, coefficient: Fr)])] = []
            for (offset, child) in children.enumerated() {
                if let terms = child.reconstruct(held, &next) { satisfied.append((offset + 1, terms)) }
            }
            guard satisfied.count >= k else { return nil }
            let chosen = satisfied.sorted { ($0.terms.count, $0.index) < ($1.terms.count, $1.index) }.prefix(k)
            let indices = chosen.map { Fr(UInt64($0.index)) }
            var result: [(row: Int, coefficient: Fr)] = []
            for (position, child) in chosen.enumerated() {
                var numerator = Fr.one, denominator = Fr.one
                for (other, j) in indices.enumerated() where other != position {
                    numerator = numerator * j
                    denominator = denominator * (j - indices[position])
                }
                // The indices are distinct and below r, so the denominator is never zero.
                let lagrange = numerator * (denominator.inverse ?? .zero)
                result += child.terms.map { ($0.row, $0.coefficient * lagrange) }
            }
            return result.sorted { $0.row < $1.row }
        }
    }
}
