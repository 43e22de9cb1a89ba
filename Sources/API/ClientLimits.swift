import Hummingbird
import HummingbirdCore
import HTTPTypes
import NIOCore
import NIOHTTPTypes
import P2P
import Prometheus
import Synchronization

/// The request context of the API's router: Hummingbird's, plus the client's address for the per-client limits.
public struct APIRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

/// Who a request or connection is charged to: its IP address, an IPv6 address by its /64 (one host's share of a
/// network). The API has no accounts (it takes signed transactions from anyone who reaches it), so the address is
/// the client; behind a proxy every client is the proxy (Docs/operations.md, "Limits").
public struct ClientID: Hashable, Sendable, CustomStringConvertible {
    public let description: String

    public init(_ address: SocketAddress?) {
        switch address {
        case .v4(let v4)?:
            description = address?.ipAddress ?? "\(v4)"
        case .v6(let v6)?:
            let bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
            if bytes.prefix(10).allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
                // An IPv4 client of a dual-stack listener (::ffff:a.b.c.d) is its IPv4 address, not a /64 shared with
                // every other IPv4 client.
                description = bytes[12...].map { String($0) }.joined(separator: ".")
            } else {
                description = stride(from: 0, to: 8, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
                    .joined(separator: ":") + "::/64"
            }
        default:
            description = "local"
        }
    }

    init(text: String) { description = text }

    /// Where clients beyond the table's bound are charged together.
    static let overflow = ClientID(text: "overflow")
}

/// The API's per-client limits (config `[api]`, Docs/operations.md "Limits").
public struct ClientLimitSettings: Sendable, Hashable {
    /// Requests per second each client may sustain; 0 turns the rate limit off.
    public var ratePerSecond: Double
    /// Requests a client may make at once after being idle.
    public var burst: Double
    /// Open connections per client; one more is closed on accept.
    public var connectionsPerClientMax: Int
    /// A request's head must arrive within this of the connection opening or of the previous response.
    public var headerTimeoutMillis: Int64
    /// A request's body must keep arriving at this rate, over windows of `bodyWindowMillis`.
    public var bodyMinBytesPerSecond: Int
    public var bodyWindowMillis: Int64
    /// No request body may be larger (the routes bound theirs further: a transaction, a shadow upload).
    public var bodyBytesMax: Int
    /// Clients tracked at once; beyond, idle ones are forgotten, and new ones share one bucket until there is room.
    public var clientsMax: Int

    public init(ratePerSecond: Double = 500, burst: Double = 1_000, connectionsPerClientMax: Int = 64,
                headerTimeoutMillis: Int64 = 10_000, bodyMinBytesPerSecond: Int = 1_024, bodyWindowMillis: Int64 = 30_000,
                bodyBytesMax: Int = (2 << 30) + (1 << 16), clientsMax: Int = 100_000) {
        (self.ratePerSecond, self.burst, self.connectionsPerClientMax) = (ratePerSecond, burst, connectionsPerClientMax)
        (self.headerTimeoutMillis, self.bodyMinBytesPerSecond, self.bodyWindowMillis) = (headerTimeoutMillis, bodyMinBytesPerSecond, bodyWindowMillis)
        (self.bodyBytesMax, self.clientsMax) = (bodyBytesMax, clientsMax)
    }
}

/// The state behind the per-client limits, shared by every connection: each client's token bucket and open
/// connections, and the counters in `/metrics`.
public final class ClientLimits: Sendable {
    /// Why a request or connection was refused or closed (the `reason` label of `twinledger_api_throttled_total`).
    public enum Reason: String, Sendable, CaseIterable {
        case rate, connections
        case headerTimeout = "header_timeout"
        case slowBody = "slow_body"
        case bodyTooLarge = "body_too_large"
    }

    public let settings: ClientLimitSettings
    private struct State {
        var buckets: [ClientID: TokenBucket] = [:]
        var connections: [ClientID: Int] = [:]
        var openConnections = 0
    }
    private let state = Mutex(State())
    private let throttledCounters: [Reason: Counter]
    private let clientsGauge: Gauge
    private let connectionsGauge: Gauge

    public init(settings: ClientLimitSettings, registry: PrometheusCollectorRegistry) {
        self.settings = settings
        var counters: [Reason: Counter] = [:]
        for reason in Reason.allCases {
            counters[reason] = registry.makeCounter(
                name: "twinledger_api_throttled_total", labels: [("reason", reason.rawValue)],
                help: "API requests refused (429) or connections closed by the per-client limits, by reason.")
        }
        throttledCounters = counters
        clientsGauge = registry.makeGauge(name: "twinledger_api_clients", help: "Clients with an open connection or a partly used rate bucket.")
        connectionsGauge = registry.makeGauge(name: "twinledger_api_connections", help: "Open API connections.")
        registry.makeGauge(name: "twinledger_api_rate_limit_per_second", help: "Requests per second each client may sustain (0: no limit).")
            .set(settings.ratePerSecond)
        registry.makeGauge(name: "twinledger_api_rate_limit_burst", help: "Requests a client may make at once after being idle.")
            .set(settings.burst)
    }

    public static func nowNanos() -> UInt64 { NIODeadline.now().uptimeNanoseconds }

    /// Charges one request to `client`: nil if admitted, else the seconds until it would be.
    public func admitRequest(_ client: ClientID, nowNanos: UInt64 = ClientLimits.nowNanos()) -> Double? {
        guard settings.ratePerSecond > 0 else { return nil }
        let (wait, tracked) = state.withLock { state -> (Double?, Int) in
            var key = client
            if state.buckets[key] == nil, state.buckets.count >= settings.clientsMax {
                state.buckets = state.buckets.filter { !$0.value.isFull(nowNanos: nowNanos) }
                if state.buckets.count >= settings.clientsMax { key = .overflow }
            }
            var bucket = state.buckets[key]
                ?? TokenBucket(ratePerSecond: settings.ratePerSecond, capacity: settings.burst, nowNanos: nowNanos)
            let wait = bucket.take(nowNanos: nowNanos)
            state.buckets[key] = bucket
            return (wait, state.buckets.count)
        }
        clientsGauge.set(Double(tracked))
        if wait != nil { throttled(.rate) }
        return wait
    }

    /// Counts a connection from `client`; false (and counted as refused) if the client already has its maximum.
    func openConnection(_ client: ClientID) -> Bool {
        let (admitted, open) = state.withLock { state -> (Bool, Int) in
            let current = state.connections[client] ?? 0
            guard current < settings.connectionsPerClientMax else { return (false, state.openConnections) }
            state.connections[client] = current + 1
            state.openConnections += 1
            return (true, state.openConnections)
        }
        connectionsGauge.set(Double(open))
        if !admitted { throttled(.connections) }
        return admitted
    }

    func closeConnection(_ client: ClientID) {
        let open = state.withLock { state -> Int in
            let current = (state.connections[client] ?? 1) - 1
            state.connections[client] = current > 0 ? current : nil
            state.openConnections -= 1
            return state.openConnections
        }
        connectionsGauge.set(Double(open))
    }

    func throttled(_ reason: Reason) { throttledCounters[reason]?.increment() }

    /// The channel handler that enforces the connection limits on one API connection.
    public func connectionGuard() -> ConnectionGuard { ConnectionGuard(limits: self) }

    /// The API's HTTP/1.1 server: each connection guarded, headers bounded (the largest a client sends is a signed
    /// request in hex, about 600 bytes).
    public func server() -> HTTPServerBuilder {
        var http = HTTP1Channel.Configuration(additionalChannelHandlers: [self.connectionGuard()])
        http.httpDecoder = .init(maxHeaderFieldSize: 16 << 10, maxHeaderListSize: 32 << 10, maxHeaderFieldCount: 100)
        return .http1(configuration: http)
    }
}

/// Refuses a client's requests beyond its rate with `429 rate_limited` and a `Retry-After`, before any route runs.
struct ClientRateMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext
    let limits: ClientLimits

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let wait = limits.admitRequest(ClientID(context.remoteAddress)) {
            throw RateLimited(retryAfterSeconds: max(1, Int(wait.rounded(.up))))
        }
        return try await next(request, context)
    }
}

/// `429 rate_limited`, with the seconds to wait in `Retry-After`.
struct RateLimited: HTTPResponseError {
    let retryAfterSeconds: Int
    var status: HTTPResponse.Status { .tooManyRequests }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = #"{"code":"rate_limited","message":"this client is over its request rate; retry after \#(retryAfterSeconds) s"}"#
        return Response(status: status, headers: [.contentType: "application/json", .retryAfter: "\(retryAfterSeconds)"],
                        body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

/// One API connection's guard, after HTTP decoding: counts the connection against its client's maximum (closing it at
/// once beyond), closes it if a request's head does not arrive within the header timeout (slow-loris: headers sent a
/// byte at a time, or an idle keep-alive connection), if a body arrives slower than the minimum rate, or if a body
/// grows past the largest any route takes. Each closure is counted in `twinledger_api_throttled_total`.
public final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPRequestPart
    public typealias InboundOut = HTTPRequestPart
    public typealias OutboundIn = HTTPResponsePart
    public typealias OutboundOut = HTTPResponsePart

    let limits: ClientLimits
    private var client: ClientID?
    private var counted = false
    private var headTimer: Scheduled<Void>?
    private var bodyTimer: Scheduled<Void>?
    private var bodyBytes = 0
    private var windowBytes = 0
    /// A request's head arrived and its body has not ended / its response has not been written yet.
    private var awaitingBody = false
    private var awaitingResponse = false

    init(limits: ClientLimits) { self.limits = limits }

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    public func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    private func start(_ context: ChannelHandlerContext) {
        guard client == nil else { return }
        let client = ClientID(context.channel.remoteAddress)
        self.client = client
        guard limits.openConnection(client) else {
            context.close(promise: nil)
            return
        }
        counted = true
        armHeadTimer(context)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        release()
        context.fireChannelInactive()
    }

    public func handlerRemoved(context: ChannelHandlerContext) { release() }

    /// Stops the timers and uncounts the connection, once.
    private func release() {
        stopTimers()
        if counted, let client {
            counted = false
            limits.closeConnection(client)
        }
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            headTimer?.cancel()
            headTimer = nil
            (bodyBytes, windowBytes, awaitingBody, awaitingResponse) = (0, 0, true, true)
            armBodyTimer(context)
        case .body(let buffer):
            bodyBytes += buffer.readableBytes
            windowBytes += buffer.readableBytes
            guard bodyBytes <= limits.settings.bodyBytesMax else {
                close(context, .bodyTooLarge)
                return
            }
        case .end:
            bodyTimer?.cancel()
            bodyTimer = nil
            awaitingBody = false
            if !awaitingResponse { armHeadTimer(context) }
        }
        context.fireChannelRead(data)
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // The response's end: once the request's body has ended too, the connection waits for its next head.
        if case .end = unwrapOutboundIn(data) {
            awaitingResponse = false
            if !awaitingBody { armHeadTimer(context) }
        }
        context.write(data, promise: promise)
    }

    private func armHeadTimer(_ context: ChannelHandlerContext) {
        headTimer?.cancel()
        headTimer = context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(limits.settings.headerTimeoutMillis)) {
            self.close(context, .headerTimeout)
        }
    }

    private func armBodyTimer(_ context: ChannelHandlerContext) {
        bodyTimer?.cancel()
        let window = limits.settings.bodyWindowMillis
        bodyTimer = context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(window)) {
            let needed = Int64(self.limits.settings.bodyMinBytesPerSecond) * window / 1_000
            if Int64(self.windowBytes) < needed {
                self.close(context, .slowBody)
            } else {
                self.windowBytes = 0
                self.armBodyTimer(context)
            }
        }
    }

    private func stopTimers() {
        headTimer?.cancel()
        bodyTimer?.cancel()
        headTimer = nil
        bodyTimer = nil
    }

    private func close(_ context: ChannelHandlerContext, _ reason: ClientLimits.Reason) {
        stopTimers()
        limits.throttled(reason)
        context.close(promise: nil)
    }
}
