// The policy language (Docs/abe.md, "Policy language"): the issue's examples parse to the trees they mean, with `and`
// binding tighter than `or`; the canonical text parses back to the same tree; every malformed policy is refused with
// its code; and the LSSS matrix is checked by linear algebra, not by the code that builds it: over seeded random
// policies and attribute sets, the tree's reconstruction constants exist exactly when the set satisfies the policy,
// they combine the held rows into (1, 0, …, 0), and for an unsatisfying set Gaussian elimination finds (1, 0, …, 0)
// outside the span of the held rows.
import ABE
import Pairing
import TestSupport
import Testing

func attribute(_ text: String) -> AttributeName { (try? AttributeName(text)) ?? AttributeName.placeholder }

extension AttributeName {
    static let placeholder = (try? AttributeName(authority: "X", name: "x"))!
}

/// A random policy over attributes A0.a0, A1.a1, … (each used once), depth at most `depth`.
func randomPolicy(_ random: inout SeededRandom, depth: Int, next: inout Int, leavesMax: Int) -> Policy {
    if depth == 0 || next >= leavesMax - 1 || random.next() % 3 == 0 {
        defer { next += 1 }
        return .attribute(attribute("A\(next % 3).a\(next)"))
    }
    let count = 2 + Int(random.next() % 3)
    var children: [Policy] = []
    for _ in 0..<count where next < leavesMax {
        children.append(randomPolicy(&random, depth: depth - 1, next: &next, leavesMax: leavesMax))
    }
    if children.count < 2 { return children.first ?? .attribute(attribute("A0.a\(next)")) }
    let k = 1 + Int(random.next() % UInt64(children.count))
    return .threshold(k, children)
}

/// Whether (1, 0, …, 0) is a combination of `rows` over Z_r: Gaussian elimination on the transposed system.
func spansTarget(_ rows: [[Fr]], columns: Int) -> Bool {
    // Unknowns c_1..c_m (one per row); equations: for each column j, Σ c_i·rows[i][j] = (j == 0 ? 1 : 0).
    var system: [[Fr]] = (0..<columns).map { j in rows.map { $0[j] } + [j == 0 ? Fr.one : Fr.zero] }
    let unknowns = rows.count
    var pivotRow = 0
    for column in 0..<unknowns where pivotRow < system.count {
        guard let found = (pivotRow..<system.count).first(where: { !system[$0][column].isZero }) else { continue }
        system.swapAt(pivotRow, found)
        let inverse = system[pivotRow][column].inverse ?? .zero
        system[pivotRow] = system[pivotRow].map { $0 * inverse }
        for other in 0..<system.count where other != pivotRow && !system[other][column].isZero {
            let factor = system[other][column]
            system[other] = zip(system[other], system[pivotRow]).map { $0 - factor * $1 }
        }
        pivotRow += 1
    }
    // Consistent unless some equation reduced to 0 = nonzero.
    return !system.contains { row in row.dropLast().allSatisfy(\.isZero) && !(row.last ?? .zero).isZero }
}

@Suite("ABE policy language and LSSS")
struct PolicyTests {
    @Test("the issue's examples parse to the trees they mean; and binds tighter than or; keywords are case-insensitive")
    func examples() throws {
        let first = try Policy(parsing: "(HOSP_A.cardiologist and HOSP_A.staff) or NEURO_CENTER.neurologist")
        #expect(first == .threshold(1, [
            .threshold(2, [.attribute(attribute("HOSP_A.cardiologist")), .attribute(attribute("HOSP_A.staff"))]),
            .attribute(attribute("NEURO_CENTER.neurologist")),
        ]))
        let second = try Policy(parsing: "2 of (A.x, B.y, C.z)")
        #expect(second == .threshold(2, [.attribute(attribute("A.x")), .attribute(attribute("B.y")), .attribute(attribute("C.z"))]))
        let precedence = try Policy(parsing: "A.a or B.b AND C.c")
        #expect(precedence == .threshold(1, [.attribute(attribute("A.a")),
                                             .threshold(2, [.attribute(attribute("B.b")), .attribute(attribute("C.c"))])]))
        let nested = try Policy(parsing: "2 of (A.x and B.y, C.z, 1 of (D.w, E.v))")
        #expect(nested.attributes.map(\.description) == ["A.x", "B.y", "C.z", "D.w", "E.v"])
        #expect(try Policy(parsing: "  HOSP-1.nurse_2 ") == .attribute(attribute("HOSP-1.nurse_2")))
        #expect(first.isSatisfied(by: [attribute("NEURO_CENTER.neurologist")]))
        #expect(first.isSatisfied(by: [attribute("HOSP_A.cardiologist"), attribute("HOSP_A.staff")]))
        #expect(!first.isSatisfied(by: [attribute("HOSP_A.cardiologist")]))
    }

    @Test("the canonical text parses back to the same tree (seeded random policies)")
    func canonicalText() throws {
        var random = SeededRandom(seed: testSeed())
        for _ in 0..<200 {
            var next = 0
            let policy = randomPolicy(&random, depth: 4, next: &next, leavesMax: 20)
            let text = policy.description
            #expect(try Policy(parsing: text) == policy, "\(text)")
        }
        #expect(try Policy(parsing: "(A.a or B.b) and 2 of (C.c, D.d, E.e)").description == "(A.a or B.b) and 2 of (C.c, D.d, E.e)")
    }

    @Test("malformed policies are refused with their codes", arguments: [
        ("", "invalid_policy"), ("A.a and", "invalid_policy"), ("A.a or or B.b", "invalid_policy"),
        ("(A.a or B.b", "invalid_policy"), ("A.a or B.b)", "invalid_policy"), ("A.a B.b", "invalid_policy"),
        ("cardiologist", "invalid_policy"), ("A.b.c", "invalid_policy"), (".a", "invalid_policy"), ("A.", "invalid_policy"),
        ("A.é", "invalid_policy"), ("3 of (A.a, B.b)", "invalid_policy"), ("0 of (A.a, B.b)", "invalid_policy"),
        ("1 of (A.a)", "invalid_policy"), ("2 of A.a, B.b", "invalid_policy"), ("x of (A.a, B.b)", "invalid_policy"),
        ("and", "invalid_policy"), ("A.a and (B.b or )", "invalid_policy"), ("A.a, B.b", "invalid_policy"),
        ("A.a or A.a", "duplicate_attribute"), ("(A.a and B.b) or (C.c and A.a)", "duplicate_attribute"),
        (String(repeating: "(", count: 17) + "A.a" + String(repeating: ")", count: 17), "policy_too_large"),
        ((0..<65).map { "A.a\($0)" }.joined(separator: " or "), "policy_too_large"),
        ("A." + String(repeating: "n", count: 65), "invalid_policy"),
        (String(repeating: " ", count: 4097) + "A.a", "policy_too_large"),
    ])
    func refusals(text: String, code: String) {
        do {
            let policy = try Policy(parsing: text)
            Issue.record("'\(text)' parsed as \(policy)")
        } catch {
            #expect(error.code.rawValue == code, "'\(text.prefix(60))': \(error.message)")
        }
    }

    @Test("limits are inclusive: 64 attributes and 16 levels parse")
    func limits() throws {
        #expect(try Policy(parsing: (0..<64).map { "A.a\($0)" }.joined(separator: " and ")).attributes.count == 64)
        let deep = String(repeating: "(", count: 16) + "A.a" + String(repeating: ")", count: 16)
        #expect(try Policy(parsing: deep) == .attribute(attribute("A.a")))
    }

    @Test("reconstruction constants exist exactly for satisfying sets and combine the held rows into (1, 0, ..., 0); unsatisfying sets span no such combination (seeded)")
    func lsss() throws {
        var random = SeededRandom(seed: testSeed())
        var satisfiedCount = 0, unsatisfiedCount = 0
        for _ in 0..<150 {
            var next = 0
            let policy = randomPolicy(&random, depth: 3, next: &next, leavesMax: 12)
            let matrix = LSSSMatrix(policy)
            #expect(matrix.attributes == policy.attributes && matrix.rows.count == matrix.attributes.count)
            #expect(matrix.rows.allSatisfy { $0.count == matrix.columnCount })
            let held = Set(policy.attributes.filter { _ in random.next() % 2 == 0 })
            let terms = policy.reconstruction(for: held)
            #expect((terms != nil) == policy.isSatisfied(by: held), "\(policy) with \(held)")
            if let terms {
                satisfiedCount += 1
                #expect(terms.allSatisfy { held.contains(matrix.attributes[$0.row]) })
                var sum = [Fr](repeating: .zero, count: matrix.columnCount)
                for (row, c) in terms { sum = zip(sum, matrix.rows[row]).map { $0 + c * $1 } }
                #expect(sum == [Fr.one] + [Fr](repeating: .zero, count: matrix.columnCount - 1), "\(policy)")
                // The integer form: Σ c'ₓ·Aₓ = (D, 0, …, 0), the same rows.
                let small = try #require(policy.smallReconstruction(for: held), "\(policy)")
                #expect(small.terms.map(\.row) == terms.map(\.row) && small.denominator > 0)
                var scaled = [Fr](repeating: .zero, count: matrix.columnCount)
                for (row, c) in small.terms {
                    let value = c < 0 ? Fr.zero - Fr(c.magnitude) : Fr(c.magnitude)
                    scaled = zip(scaled, matrix.rows[row]).map { $0 + value * $1 }
                }
                #expect(scaled == [Fr(UInt64(small.denominator))] + [Fr](repeating: .zero, count: matrix.columnCount - 1))
            } else {
                unsatisfiedCount += 1
                let heldRows = matrix.rows.indices.filter { held.contains(matrix.attributes[$0]) }.map { matrix.rows[$0] }
                #expect(!spansTarget(heldRows, columns: matrix.columnCount), "\(policy) with \(held)")
            }
        }
        #expect(satisfiedCount > 20 && unsatisfiedCount > 20)
    }

    @Test("AND of n is n-of-n, OR copies the parent's label (the construction of ABE-RW15.md)")
    func construction() throws {
        let or = LSSSMatrix(try Policy(parsing: "A.a or B.b or C.c"))
        #expect(or.rows == [[Fr.one], [Fr.one], [Fr.one]])
        let and = LSSSMatrix(try Policy(parsing: "A.a and B.b"))
        #expect(and.rows == [[Fr.one, Fr.one], [Fr.one, Fr(2)]])
        // An AND of n reconstructs with the binomial coefficients ±C(n, i), over denominator 1.
        let and5 = try Policy(parsing: "A.a and A.b and A.c and A.d and A.e")
        let small = try #require(and5.smallReconstruction(for: Set(and5.attributes)))
        #expect(small.terms.map(\.coefficient) == [5, -10, 10, -5, 1] && small.denominator == 1)
        let twoOfThree = LSSSMatrix(try Policy(parsing: "2 of (A.a, B.b, C.c)"))
        #expect(twoOfThree.rows == [[Fr.one, Fr.one], [Fr.one, Fr(2)], [Fr.one, Fr(3)]])
    }
}
