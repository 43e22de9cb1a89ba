import API
import Encoding
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Ledger
import TwinCrypto

/// A small client for the node's HTTP API, used by the wallet commands.
struct NodeClient {
    let base: URL

    init(_ url: String) throws {
        guard let base = URL(string: url), base.scheme == "http" || base.scheme == "https" else {
            throw WalletError("--node must be an http(s) URL, got \(url)")
        }
        self.base = base
    }

    struct ErrorBody: Decodable {
        let code: String
        let message: String
    }

    func get<T: Decodable>(_ path: String, as type: T.Type = T.self) async throws -> T {
        try await send(URLRequest(url: url(path)), as: type)
    }

    /// `path` (with an optional `?query`) under the node's base URL. The query is kept as a query: appending it as a
    /// path component would escape its `?`.
    func url(_ path: String) -> URL {
        let parts = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let url = base.appendingPathComponent(String(parts[0]))
        guard parts.count == 2, var components = URLComponents(url: url, resolvingAgainstBaseURL: false) else { return url }
        components.percentEncodedQuery = String(parts[1])
        return components.url ?? url
    }

    func send<T: Decodable>(_ request: URLRequest, as type: T.Type = T.self) async throws -> T {
        let data = try await raw(request)
        do { return try JSONDecoder().decode(T.self, from: data) } catch {
            throw WalletError("unexpected answer from the node: \(error)")
        }
    }

    /// The body of a successful answer (an error answer becomes a `WalletError` with the node's code). With
    /// `uploading`, the request's body is that file, streamed.
    func raw(_ request: URLRequest, uploading file: URL? = nil) async throws -> Data {
        let (data, response): (Data, URLResponse)
        do {
            if let file {
                (data, response) = try await URLSession.shared.upload(for: request, fromFile: file)
            } else {
                (data, response) = try await URLSession.shared.data(for: request)
            }
        } catch {
            throw WalletError("cannot reach the node at \(base.absoluteString): \(error.localizedDescription)")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            if let body = try? JSONDecoder().decode(ErrorBody.self, from: data) {
                throw WalletError.refused(body.code, body.message)
            }
            throw WalletError("the node answered HTTP \(status)")
        }
        return data
    }

    /// Downloads a successful answer's body to a temporary file (the caller moves or removes it), so a large body
    /// never sits in memory; an error answer becomes a `WalletError` as in `raw`.
    func download(_ request: URLRequest) async throws -> URL {
        let (file, response): (URL, URLResponse)
        do { (file, response) = try await URLSession.shared.download(for: request) } catch {
            throw WalletError("cannot reach the node at \(base.absoluteString): \(error.localizedDescription)")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            defer { try? FileManager.default.removeItem(at: file) }
            let data = (try? Data(contentsOf: file)) ?? Data()
            if let body = try? JSONDecoder().decode(ErrorBody.self, from: data) { throw WalletError.refused(body.code, body.message) }
            throw WalletError("the node answered HTTP \(status)")
        }
        return file
    }

    func request(_ path: String, method: String = "GET", headers: [String: String] = [:]) -> URLRequest {
        var request = URLRequest(url: url(path))
        request.httpMethod = method
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        return request
    }

    /// The patient id of a patient's key as the ledger has it: after a `key.rotate` it is the first key's, not the
    /// one derived from this key. A key the node does not know (not yet enrolled) gets its derived id.
    func patientID(of key: PublicKey) async throws -> Hash32 {
        let account: AccountResponse = try await get("v1/accounts/\(key.keyID.hex)")
        return account.participant?.patientID.flatMap { Hash32(hex: $0) } ?? Ledger.patientID(for: key)
    }

    /// The signer's next nonce: one above the committed one.
    func nextNonce(_ key: PublicKey) async throws -> UInt64 {
        let account: AccountResponse = try await get("v1/accounts/\(key.keyID.hex)")
        return account.nonce + 1
    }

    /// Signs `payload` with `key`, submits it and waits for its block.
    func submit(_ payload: Payload, key: SecretKey) async throws -> (id: Hash32, response: SubmitResponse) {
        let health: HealthResponse = try await get("health")
        let body = TransactionBody(
            chainID: health.chainID, signer: key.publicKey, nonce: try await nextNonce(key.publicKey), payload: payload
        )
        let signed = try SignedTransaction(signing: body, with: key)
        var components = URLComponents(url: base.appendingPathComponent("v1/transactions"), resolvingAgainstBaseURL: false)
        components?.queryItems = [URLQueryItem(name: "wait", value: "commit")]
        guard let url = components?.url else { throw WalletError("bad node URL") }
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONEncoder().encode(SubmitRequest(transaction: Hex.encode(signed.bytes)))
        let response: SubmitResponse = try await send(request)
        return (Hashing.sha3(signed.bytes), response)
    }
}

/// A wallet failure, with the node's refusal code when there is one.
struct WalletError: Error, CustomStringConvertible {
    let description: String
    let code: String?

    init(_ description: String) {
        self.description = description
        code = nil
    }

    private init(description: String, code: String) {
        self.description = description
        self.code = code
    }

    static func refused(_ code: String, _ message: String) -> WalletError {
        WalletError(description: "refused (\(code)): \(explain(code)) [\(message)]", code: code)
    }
}

/// A sentence for each rejection code (Docs/transactions.md, "Rejection codes").
func explain(_ code: String) -> String {
    switch code {
    case "": "accepted"
    case "malformed": "the transaction bytes are not a valid TwinLedger transaction"
    case "wrong_chain": "the transaction was made for another chain"
    case "bad_signature": "the signature does not match the signer's key"
    case "stale_nonce": "this transaction (or a newer one from the same key) was already accepted"
    case "unknown_signer": "the signing key is not enrolled on this ledger"
    case "unauthorized": "this key is not allowed to do that (not the patient, outside a delegation, or wrong role)"
    case "not_found": "something it refers to (patient, shadow, grant, delegation, key) does not exist"
    case "already_exists": "it exists already"
    case "invalid_field": "a field is invalid (empty scope, bad category, validity period in the past, …)"
    case "already_revoked": "it was already revoked"
    case "erased": "the shadow was erased and can never be used again"
    case "bad_sequence": "a version, epoch or sequence number does not follow the current one"
    case "duplicate": "the same transaction was already submitted"
    case "mempool_full": "the node is busy; try again shortly"
    case "storage": "the node's storage failed; tell its operator"
    case "attributes_not_held":
        "the grant is to a policy, and the attributes the ledger shows issued to this key do not satisfy it (Docs/abe.md)"
    case "not_satisfied": "these attribute keys do not satisfy the policy at its versions and epochs (Docs/abe.md)"
    case "open_failed": "the wrapped key did not authenticate: the envelope was altered, or keys were mixed between users"
    case "no_grant", "scope_mismatch", "action_not_granted", "purpose_mismatch", "revoked", "expired", "not_yet_valid":
        "the ledger does not let this key read that shadow for that purpose (Docs/shadows.md, \"Reads\")"
    case "stale", "replayed": "the signed request is too old or was used before; check this machine's clock"
    case "quota_exceeded", "too_large": "the node's limit for this patient or this payload is reached"
    case "missing_chunk": "this node does not hold the shadow yet (replication); try again or another node"
    default: "see Docs/transactions.md"
    }
}
