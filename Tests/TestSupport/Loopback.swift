import Foundation

// Loopback helpers shared by the process tests and the cluster benchmark: free ports and a minimal HTTP/1.1 client
// over a blocking socket.

public struct ProcessTestError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The IPv4 loopback address with `port`.
public func loopback(port: Int) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    return address
}

/// A free TCP port on loopback, for a node a test starts later.
///
/// Ports are taken below the kernel's ephemeral range (32768–60999 here): a port the kernel hands out for `bind(0)`
/// is also a candidate source port for every outgoing connection, and in a suite that runs for minutes with many
/// connections, one of them took a node's port before the node started (seen in CI). Each call in a process gets a
/// different port; the start of the walk depends on the process id, so that test processes running side by side
/// start far apart, and a port that is in use is skipped.
public func freePort() -> Int {
    let low = 20_000, count = 12_000
    while true {
        let step = portCounter.next()
        let port = low + (Int(getpid()) &* 1_009 &+ step &* 7) % count
        if step > count { return ephemeralPort() }
        if portIsFree(port) { return port }
    }
}

private final class PortCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int { lock.withLock { value += 1; return value } }
}
private let portCounter = PortCounter()

private func portIsFree(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = loopback(port: port)
    let length = socklen_t(MemoryLayout<sockaddr_in>.size)
    return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } } == 0
}

private func ephemeralPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = loopback(port: 0)
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// One HTTP/1.1 exchange with a loopback server over a plain blocking socket, on its own thread, with 20-second send
/// and receive timeouts. The process tests kill servers mid-request; URLSession on Linux was seen to hang for good
/// on connections whose server had been killed, this fails instead.
public func httpRequest(port: Int, method: String, path: String, body: Data?, headers: [String: String] = [:]) async throws -> (Data, Int) {
    try await onThread { try blockingHTTP(port: port, method: method, path: path, body: body, headers: headers) }
}

/// Runs blocking work (sockets, sleeps) on a thread of its own, off Swift concurrency's few cooperative threads.
public func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}

/// A blocking TCP socket connected to `port` on 127.0.0.1, from `source` if given (any 127.x.y.z: a distinct client
/// address on loopback), with `timeoutSeconds` on each send and receive. The caller closes it.
public func connectLoopback(port: Int, source: String? = nil, timeoutSeconds: Int = 20) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw ProcessTestError("socket: errno \(errno)") }
    var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    if let source {
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        guard inet_pton(AF_INET, source, &local.sin_addr) == 1 else {
            close(fd)
            throw ProcessTestError("\(source) is not an IPv4 address")
        }
        let bound = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            close(fd)
            throw ProcessTestError("bind to \(source): errno \(errno)")
        }
    }
    var address = loopback(port: port)
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else {
        close(fd)
        throw ProcessTestError("connect to port \(port): errno \(errno)")
    }
    return fd
}

/// `timeoutSeconds` bounds each send and each receive (not the whole exchange).
public func blockingHTTP(port: Int, method: String, path: String, body: Data?, headers: [String: String] = [:],
                         timeoutSeconds: Int = 20) throws -> (Data, Int) {
    let response = try blockingHTTPResponse(port: port, method: method, path: path, body: body, headers: headers,
                                            timeoutSeconds: timeoutSeconds)
    return (response.body, response.status)
}

/// A response: status, header fields (names lower-cased), body.
public struct HTTPTestResponse: Sendable {
    public let status: Int
    public let headers: [String: String]
    public let body: Data
}

/// One exchange as `blockingHTTP`, from `source` (a 127.x.y.z address) if given, with the response's headers.
public func blockingHTTPResponse(port: Int, method: String, path: String, body: Data?, headers: [String: String] = [:],
                                 source: String? = nil, timeoutSeconds: Int = 20) throws -> HTTPTestResponse {
    let fd = try connectLoopback(port: port, source: source, timeoutSeconds: timeoutSeconds)
    defer { close(fd) }
    var request = Data("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n".utf8)
    for (name, value) in headers.sorted(by: { $0.key < $1.key }) { request.append(Data("\(name): \(value)\r\n".utf8)) }
    if let body {
        request.append(Data("Content-Type: application/json\r\nContent-Length: \(body.count)\r\n".utf8))
    }
    request.append(Data("\r\n".utf8))
    if let body { request.append(body) }
    var sent = 0
    while sent < request.count {
        let n = request.withUnsafeBytes { send(fd, $0.baseAddress! + sent, request.count - sent, Int32(MSG_NOSIGNAL)) }
        guard n > 0 else { throw ProcessTestError("send: errno \(errno)") }
        sent += n
    }
    var response = Data()
    var buffer = [UInt8](repeating: 0, count: 65_536)
    // Read to the end of the connection, or to the end of a Content-Length body (servers such as chromedriver keep
    // the connection open despite `Connection: close`).
    while true {
        if let split = response.range(of: Data("\r\n\r\n".utf8)), let length = contentLength(response[..<split.lowerBound]),
            response.count - split.upperBound >= length
        {
            break
        }
        let n = recv(fd, &buffer, buffer.count, 0)
        if n == 0 { break }
        guard n > 0 else {
            if errno == EAGAIN || errno == EWOULDBLOCK {
                throw ProcessTestError("\(method) \(path) on port \(port): no answer within \(timeoutSeconds) s")
            }
            throw ProcessTestError("recv from port \(port): errno \(errno)")
        }
        response.append(contentsOf: buffer[..<n])
    }
    guard let split = response.range(of: Data("\r\n\r\n".utf8)) else { throw ProcessTestError("no HTTP header end") }
    let head = String(decoding: response[..<split.lowerBound], as: UTF8.self)
    let statusLine = head.split(separator: "\r\n").first ?? ""
    let parts = statusLine.split(separator: " ")
    guard parts.count >= 2, let status = Int(parts[1]) else { throw ProcessTestError("bad status line \(statusLine)") }
    var payload = Data(response[split.upperBound...])
    if head.lowercased().contains("transfer-encoding: chunked") { payload = try dechunk(payload) }
    var fields: [String: String] = [:]
    for line in head.split(separator: "\r\n").dropFirst() {
        let pair = line.split(separator: ":", maxSplits: 1)
        if pair.count == 2 { fields[pair[0].lowercased()] = pair[1].trimmingCharacters(in: .whitespaces) }
    }
    return HTTPTestResponse(status: status, headers: fields, body: payload)
}

/// The Content-Length of an HTTP header block, if it has one.
func contentLength(_ head: Data) -> Int? {
    for line in String(decoding: head, as: UTF8.self).split(separator: "\r\n") {
        let parts = line.split(separator: ":", maxSplits: 1)
        if parts.count == 2, parts[0].lowercased() == "content-length" { return Int(parts[1].trimmingCharacters(in: .whitespaces)) }
    }
    return nil
}

/// The body of a chunked HTTP/1.1 message.
public func dechunk(_ data: Data) throws -> Data {
    var out = Data()
    var rest = data[...]
    while true {
        guard let lineEnd = rest.range(of: Data("\r\n".utf8)) else { throw ProcessTestError("bad chunk") }
        let sizeText = String(decoding: rest[..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";").first ?? ""
        guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else {
            throw ProcessTestError("bad chunk size \(sizeText)")
        }
        rest = rest[lineEnd.upperBound...]
        if size == 0 { return out }
        guard rest.count >= size + 2 else { throw ProcessTestError("short chunk") }
        out.append(rest.prefix(size))
        rest = rest.dropFirst(size + 2)
    }
}
