/// An attribute `AUTHORITY.name`: the authority that issues keys for it, and its name there. Both parts are 1–64
/// characters from A–Z, a–z, 0–9, `_` and `-` (Docs/abe.md, "Policy language").
public struct AttributeName: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let authority: String
    public let name: String

    /// The longest authority or attribute name.
    public static let partLengthMax = 64

    public init(authority: String, name: String) throws(ABEError) {
        guard AttributeName.isValidPart(authority), AttributeName.isValidPart(name) else {
            throw ABEError(.invalidPolicy, "an attribute is AUTHORITY.name, each 1-64 of A-Z a-z 0-9 _ -, not '\(authority).\(name)'")
        }
        (self.authority, self.name) = (authority, name)
    }

    /// Parses `AUTHORITY.name`.
    public init(_ text: String) throws(ABEError) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw ABEError(.invalidPolicy, "an attribute is AUTHORITY.name, not '\(text)'") }
        try self.init(authority: String(parts[0]), name: String(parts[1]))
    }

    static func isValidPart(_ part: String) -> Bool {
        let scalars = part.unicodeScalars
        return (1...partLengthMax).contains(scalars.count) && scalars.allSatisfy { scalar in
            switch scalar {
            case "A"..."Z", "a"..."z", "0"..."9", "_", "-": true
            default: false
            }
        }
    }

    public var description: String { "\(authority).\(name)" }

    public static func < (a: AttributeName, b: AttributeName) -> Bool {
        (a.authority, a.name) < (b.authority, b.name)
    }
}

/// An access policy: a tree of threshold gates over attributes. AND of n children is the n-of-n gate, OR the 1-of-n
/// gate. Built by parsing the policy language (Docs/abe.md, "Policy language"):
///
///     policy    = conjunct { "or" conjunct }
///     conjunct  = term { "and" term }
///     term      = attribute | "(" policy ")" | count "of" "(" policy { "," policy } ")"
///
/// `and` binds tighter than `or`; keywords are case-insensitive; an attribute appears at most once.
public indirect enum Policy: Hashable, Sendable, CustomStringConvertible {
    case attribute(AttributeName)
    /// k of the children, 1 ≤ k ≤ children.count, at least two children.
    case threshold(Int, [Policy])

    /// Most attributes in one policy (LSSS rows: each costs pairings on decryption).
    public static let attributesMax = 64
    /// Deepest nesting of gates.
    public static let depthMax = 16
    /// Longest policy text, in bytes.
    public static let textBytesMax = 4096

    public init(parsing text: String) throws(ABEError) {
        guard text.utf8.count <= Policy.textBytesMax else {
            throw ABEError(.policyTooLarge, "a policy is at most \(Policy.textBytesMax) bytes, not \(text.utf8.count)")
        }
        var parser = try PolicyParser(text)
        self = try parser.parseWhole()
        let leaves = attributes
        guard leaves.count <= Policy.attributesMax else {
            throw ABEError(.policyTooLarge, "a policy names at most \(Policy.attributesMax) attributes, not \(leaves.count)")
        }
        var seen = Set<AttributeName>()
        for leaf in leaves where !seen.insert(leaf).inserted {
            throw ABEError(.duplicateAttribute, "\(leaf) appears more than once in the policy")
        }
    }

    /// The attributes at the leaves, left to right: the order of the LSSS matrix's rows.
    public var attributes: [AttributeName] {
        switch self {
        case .attribute(let name): [name]
        case .threshold(_, let children): children.flatMap(\.attributes)
        }
    }

    /// Whether holding `set` satisfies the policy.
    public func isSatisfied(by set: Set<AttributeName>) -> Bool {
        switch self {
        case .attribute(let name): set.contains(name)
        case .threshold(let k, let children): children.count(where: { $0.isSatisfied(by: set) }) >= k
        }
    }

    /// The canonical text: `and`/`or` for n-of-n and 1-of-n gates, `k of (…)` otherwise, every inner gate in
    /// parentheses. Parsing it gives back the same tree.
    public var description: String { render(top: true) }

    func render(top: Bool) -> String {
        switch self {
        case .attribute(let name):
            return name.description
        case .threshold(let k, let children):
            let parts = children.map { $0.render(top: false) }
            if k == children.count || k == 1 {
                let text = parts.joined(separator: k == 1 ? " or " : " and ")
                return top ? text : "(\(text))"
            }
            return "\(k) of (\(parts.joined(separator: ", ")))"
        }
    }
}

/// Recursive descent over the policy language's tokens.
struct PolicyParser {
    enum Token: Equatable {
        case open, close, comma
        case word(String)
    }

    let tokens: [(token: Token, offset: Int)]
    let end: Int
    var position = 0
    var depth = 0

    init(_ text: String) throws(ABEError) {
        var tokens: [(Token, Int)] = []
        let bytes = Array(text.utf8)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                index += 1
            case UInt8(ascii: "("): tokens.append((.open, index)); index += 1
            case UInt8(ascii: ")"): tokens.append((.close, index)); index += 1
            case UInt8(ascii: ","): tokens.append((.comma, index)); index += 1
            default:
                let start = index
                while index < bytes.count, PolicyParser.isWordByte(bytes[index]) { index += 1 }
                guard index > start else {
                    throw ABEError(.invalidPolicy, "unexpected character at offset \(start) of the policy")
                }
                tokens.append((.word(String(decoding: bytes[start..<index], as: UTF8.self)), start))
            }
        }
        self.tokens = tokens
        self.end = bytes.count
    }

    static func isWordByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."):
            true
        default: false
        }
    }

    var offset: Int { position < tokens.count ? tokens[position].offset : end }

    func isKeyword(_ keyword: String) -> Bool {
        guard position < tokens.count, case .word(let word) = tokens[position].token else { return false }
        return word.lowercased() == keyword
    }

    mutating func expect(_ token: Token, _ what: String) throws(ABEError) {
        guard position < tokens.count, tokens[position].token == token else {
            throw ABEError(.invalidPolicy, "expected \(what) at offset \(offset) of the policy")
        }
        position += 1
    }

    mutating func parseWhole() throws(ABEError) -> Policy {
        guard !tokens.isEmpty else { throw ABEError(.invalidPolicy, "the policy is empty") }
        let policy = try parsePolicy()
        guard position == tokens.count else {
            throw ABEError(.invalidPolicy, "unexpected text at offset \(offset) of the policy")
        }
        return policy
    }

    /// policy = conjunct { "or" conjunct }
    mutating func parsePolicy() throws(ABEError) -> Policy {
        var parts = [try parseConjunct()]
        while isKeyword("or") {
            position += 1
            parts.append(try parseConjunct())
        }
        return parts.count == 1 ? parts[0] : .threshold(1, parts)
    }

    /// conjunct = term { "and" term }
    mutating func parseConjunct() throws(ABEError) -> Policy {
        var parts = [try parseTerm()]
        while isKeyword("and") {
            position += 1
            parts.append(try parseTerm())
        }
        return parts.count == 1 ? parts[0] : .threshold(parts.count, parts)
    }

    /// term = attribute | "(" policy ")" | count "of" "(" policy { "," policy } ")"
    mutating func parseTerm() throws(ABEError) -> Policy {
        guard position < tokens.count else {
            throw ABEError(.invalidPolicy, "the policy ends where an attribute or '(' was expected")
        }
        let start = offset
        switch tokens[position].token {
        case .open:
            position += 1
            let inner = try nested { (parser: inout PolicyParser) throws(ABEError) in try parser.parsePolicy() }
            try expect(.close, "')'")
            return inner
        case .word(let word):
            position += 1
            if isKeyword("of") {
                guard let k = Int(word), word.allSatisfy(\.isASCII), k >= 1 else {
                    throw ABEError(.invalidPolicy, "a threshold is a positive count before 'of', not '\(word)' at offset \(start)")
                }
                position += 1
                try expect(.open, "'(' after 'of'")
                let children = try nested { (parser: inout PolicyParser) throws(ABEError) in
                    var children = [try parser.parsePolicy()]
                    while parser.position < parser.tokens.count, parser.tokens[parser.position].token == .comma {
                        parser.position += 1
                        children.append(try parser.parsePolicy())
                    }
                    return children
                }
                try expect(.close, "')' or ','")
                guard children.count >= 2, k <= children.count else {
                    throw ABEError(.invalidPolicy,
                                   "'\(k) of' needs at least two and at least \(k) alternatives, not \(children.count), at offset \(start)")
                }
                return .threshold(k, children)
            }
            if ["and", "or", "of"].contains(word.lowercased()) {
                throw ABEError(.invalidPolicy, "expected an attribute at offset \(start), not the keyword '\(word)'")
            }
            do {
                return .attribute(try AttributeName(word))
            } catch {
                throw ABEError(.invalidPolicy, "\(error.message) (at offset \(start))")
            }
        case .close, .comma:
            throw ABEError(.invalidPolicy, "expected an attribute or '(' at offset \(start) of the policy")
        }
    }

    mutating func nested<T>(_ body: (inout PolicyParser) throws(ABEError) -> T) throws(ABEError) -> T {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Policy.depthMax else {
            throw ABEError(.policyTooLarge, "a policy nests at most \(Policy.depthMax) levels of parentheses")
        }
        return try body(&self)
    }
}
