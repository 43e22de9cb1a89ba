import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The API's per-client limits on a real node over loopback, each client on its own 127.0.0.x address
/// (Docs/operations.md, "Limits"; Docs/threat-model.md).
@Suite("API limits", .realProcesses)
struct APILimitsTests {
    /// Sends `bytes` on `fd`; false once the peer has closed (EPIPE, ECONNRESET).
    static func send(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    /// Whether the peer closed `fd`: a read returns end of file or a reset (not a timeout).
    static func closedByPeer(_ fd: Int32) -> Bool {
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, 0)
        return n == 0 || (n < 0 && errno == ECONNRESET)
    }

    /// Sends `head` and then `drip` one byte at a time, `interval` apart, until the node closes the connection or
    /// `seconds` pass; whether it closed it.
    static func dripUntilClosed(port: Int, source: String, head: String, drip: [UInt8], interval: useconds_t, seconds: Double) throws -> Bool {
        let fd = try connectLoopback(port: port, source: source, timeoutSeconds: 1)
        defer { close(fd) }
        guard send(fd, Array(head.utf8)) else { return true }
        let deadline = Date().addingTimeInterval(seconds)
        var index = 0
        while Date() < deadline {
            usleep(interval)
            if !send(fd, [drip[index % drip.count]]) { return true }
            index += 1
            var poll = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if Glibc.poll(&poll, 1, 0) > 0, closedByPeer(fd) { return true }
        }
        return false
    }

    static func counter(_ metrics: String, _ reason: String) -> Int {
        let prefix = #"twinledger_api_throttled_total{reason="\#(reason)"} "#
        return metrics.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Int($0.dropFirst(prefix.count)) } ?? 0
    }

    @Test("an abusive client gets 429 with Retry-After while an honest one is served; floods, slow-loris, slow and oversized bodies are cut off")
    func limits() async throws {
        let dir = try makeTemporaryDirectory("api-limits")
        defer { removeTemporaryDirectory(dir) }
        let node = try NodeProcess(home: dir + "/home")
        let config = node.home + "/config.toml"
        var text = try String(contentsOfFile: config, encoding: .utf8)
        for (key, value) in [("rate_per_second", "20"), ("rate_burst", "20"), ("connections_per_client_max", "4"),
                             ("header_timeout_ms", "1000"), ("body_min_bytes_per_second", "1000"), ("body_window_ms", "1000"),
                             ("payload_bytes_max", "1048576")] {
            #expect(text.contains("\n\(key) = "), "config.toml has \(key)")
            text = text.split(separator: "\n", omittingEmptySubsequences: false)
                .map { $0.hasPrefix(key + " = ") ? "\(key) = \(value)" : String($0) }.joined(separator: "\n")
        }
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        try await node.start()
        defer { _ = node.stop() }
        let port = node.port

        // Abuse: 120 requests back to back from one address. About 20 fit its bucket (plus what refills meanwhile);
        // the rest are refused before any route runs, each saying when to come back.
        let started = Date()
        let abusive = try await onThread {
            try (0..<120).map { _ in try blockingHTTPResponse(port: port, method: "GET", path: "/health", body: nil, source: "127.0.0.2") }
        }
        let elapsed = Date().timeIntervalSince(started)
        let served = abusive.filter { $0.status == 200 }.count
        let refused = abusive.filter { $0.status == 429 }
        #expect(served + refused.count == 120, "only 200 and 429: \(Set(abusive.map(\.status)))")
        #expect(served >= 20 && Double(served) <= 21 + elapsed * 20, "\(served) served in \(elapsed) s at 20 a second")
        #expect(refused.allSatisfy { (Int($0.headers["retry-after"] ?? "") ?? 0) >= 1 }, "every 429 has Retry-After")
        #expect(refused.first.map { String(decoding: $0.body, as: UTF8.self).contains(#""code":"rate_limited""#) } == true)

        // Meanwhile an honest client from another address is served every time.
        let honest = try await onThread {
            try (0..<10).map { _ -> Int in
                usleep(100_000)
                return try blockingHTTPResponse(port: port, method: "GET", path: "/health", body: nil, source: "127.0.0.3").status
            }
        }
        #expect(honest == Array(repeating: 200, count: 10))

        // A flood of connections: the client's fifth is closed on accept.
        let fifthClosed = try await onThread { () -> Bool in
            let kept = try (0..<4).map { _ in try connectLoopback(port: port, source: "127.0.0.4", timeoutSeconds: 5) }
            defer { kept.forEach { close($0) } }
            usleep(200_000)
            let fifth = try connectLoopback(port: port, source: "127.0.0.4", timeoutSeconds: 5)
            defer { close(fifth) }
            return Self.closedByPeer(fifth)
        }
        #expect(fifthClosed)

        // Slow-loris: a request head sent a byte every 200 ms never completes; the header timeout (1 s) closes it.
        let lorisClosed = try await onThread {
            try Self.dripUntilClosed(port: port, source: "127.0.0.5", head: "GET /health HTTP/1.1\r\nHost: x\r\n",
                                     drip: Array("X-Slow: aaaaaaaa\r\n".utf8), interval: 200_000, seconds: 15)
        }
        #expect(lorisClosed, "the node kept a slow-loris connection open for 15 s")

        // A body sent at 5 bytes a second, where 1,000 are required over each second.
        let slowBodyClosed = try await onThread {
            try Self.dripUntilClosed(
                port: port, source: "127.0.0.6",
                head: "POST /v1/transactions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n",
                drip: Array("{".utf8), interval: 200_000, seconds: 15)
        }
        #expect(slowBodyClosed, "the node kept a slow body open for 15 s")

        // A body larger than the route takes: 413 as soon as the limit is passed, and the connection is closed
        // rather than the rest read.
        let (oversizedStatus, oversizedClosed) = try await onThread { () -> (String, Bool) in
            let fd = try connectLoopback(port: port, source: "127.0.0.7", timeoutSeconds: 10)
            defer { close(fd) }
            let head = "POST /v1/transactions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 3145728\r\n\r\n"
            guard Self.send(fd, Array(head.utf8)) else { return ("", true) }
            let chunk = [UInt8](repeating: 0x61, count: 64 << 10)
            for _ in 0..<48 where !Self.send(fd, chunk) { break }
            var response: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4_096)
            while true {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n > 0 { response += buffer[..<n]; continue }
                let statusLine = String(decoding: response.prefix { $0 != 13 }, as: UTF8.self)
                return (statusLine, n == 0 || errno == ECONNRESET)
            }
        }
        #expect(oversizedStatus.hasPrefix("HTTP/1.1 413"), "\(oversizedStatus)")
        #expect(oversizedClosed)

        let (metricsBody, status) = try await onThread {
            try blockingHTTP(port: port, method: "GET", path: "/metrics", body: nil)
        }
        #expect(status == 200)
        let metrics = String(decoding: metricsBody, as: UTF8.self)
        #expect(Self.counter(metrics, "rate") == refused.count)
        for reason in ["connections", "header_timeout", "slow_body"] {
            #expect(Self.counter(metrics, reason) >= 1, "\(reason) counted in /metrics")
        }
        #expect(metrics.contains("twinledger_api_rate_limit_per_second 20"))
    }
}
