import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Every API error: JSON `{"code": …, "message": …}` with the HTTP status of its kind (Docs/openapi.yaml).
public struct APIError: HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    /// The status for a refusal code: malformed input 400, conflicts 409, a full mempool 503.
    static func refusal(_ code: String, _ message: String) -> APIError {
        switch code {
        case "duplicate", "stale_nonce": APIError(.conflict, code, message)
        case "mempool_full": APIError(.serviceUnavailable, code, message)
        default: APIError(.badRequest, code, message)
        }
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = try JSONEncoder().encode(["code": code, "message": message])
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: body))
        )
    }
}
