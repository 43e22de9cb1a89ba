import API
import NIOCore
import Prometheus
import Testing

@Suite("API client limits")
struct ClientLimitsTests {
    static let second: UInt64 = 1_000_000_000

    func client(_ text: String) throws -> ClientID { ClientID(try SocketAddress(ipAddress: text, port: 40_000)) }

    @Test("each client has its own bucket: one over its rate is refused, another is not")
    func perClient() throws {
        let registry = PrometheusCollectorRegistry()
        let limits = ClientLimits(settings: ClientLimitSettings(ratePerSecond: 10, burst: 10), registry: registry)
        let (abusive, honest) = (try client("10.0.0.1"), try client("10.0.0.2"))
        let admitted = (0..<50).filter { _ in limits.admitRequest(abusive, nowNanos: 0) == nil }.count
        #expect(admitted == 10)
        #expect(limits.admitRequest(honest, nowNanos: 0) == nil)
        #expect(limits.admitRequest(abusive, nowNanos: Self.second) == nil, "refilled after a second")
        #expect(registry.emitToString().contains(#"twinledger_api_throttled_total{reason="rate"} 40"#))
    }

    @Test("an IPv6 client is charged by its /64, an IPv4 one by its address")
    func addresses() throws {
        #expect(try client("2001:db8:1:2:aaaa::1") == (try client("2001:db8:1:2:bbbb::9")))
        #expect(try client("2001:db8:1:2::1") != (try client("2001:db8:1:3::1")))
        #expect(try client("2001:db8:1:2::1").description == "2001:db8:1:2::/64")
        #expect(try client("10.0.0.1") != (try client("10.0.0.2")))
        // An IPv4 client seen by a dual-stack listener is its IPv4 address, the same as over IPv4.
        #expect(try client("::ffff:10.0.0.1") == (try client("10.0.0.1")))
        #expect(try client("::ffff:10.0.0.1") != (try client("::ffff:10.0.0.2")))
        #expect(ClientID(nil).description == "local")
    }

    @Test("beyond the table's bound, idle clients are forgotten and new ones share one bucket")
    func bounded() throws {
        let limits = ClientLimits(settings: ClientLimitSettings(ratePerSecond: 1, burst: 2, clientsMax: 3), registry: .init())
        for n in 1...3 { #expect(limits.admitRequest(try client("10.0.1.\(n)"), nowNanos: 0) == nil) }
        // All three are partly used: the fourth and fifth share the overflow bucket (two tokens).
        #expect(limits.admitRequest(try client("10.0.1.4"), nowNanos: 0) == nil)
        #expect(limits.admitRequest(try client("10.0.1.5"), nowNanos: 0) == nil)
        #expect(limits.admitRequest(try client("10.0.1.6"), nowNanos: 0) != nil)
        // Ten seconds on every bucket is full again: the idle ones are forgotten and a new client gets its own.
        #expect(limits.admitRequest(try client("10.0.1.7"), nowNanos: 10 * Self.second) == nil)
        #expect(limits.admitRequest(try client("10.0.1.7"), nowNanos: 10 * Self.second) == nil)
        #expect(limits.admitRequest(try client("10.0.1.7"), nowNanos: 10 * Self.second) != nil)
    }

    @Test("a rate of 0 turns the limit off")
    func off() throws {
        let limits = ClientLimits(settings: ClientLimitSettings(ratePerSecond: 0, burst: 1), registry: .init())
        #expect((0..<1_000).allSatisfy { _ in limits.admitRequest(ClientID(nil), nowNanos: 0) == nil })
    }
}
