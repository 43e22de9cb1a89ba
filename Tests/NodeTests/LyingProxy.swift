import Foundation
import TestSupport

/// A deliberately lying node for the auditor's tests: an HTTP proxy on loopback in front of a real node's API that
/// passes every GET through and lets `alter` rewrite the answer (path, body and status in; body and status out).
/// One thread per connection, one request per connection (`Connection: close`).
final class LyingProxy: @unchecked Sendable {
    typealias Alteration = @Sendable (_ path: String, _ body: Data, _ status: Int) -> (Data, Int)
    let port: Int
    let target: Int
    private let alter: Alteration
    private let listener: Int32

    var url: String { "http://127.0.0.1:\(port)" }

    init(target: Int, alter: @escaping Alteration) throws {
        self.target = target
        self.alter = alter
        port = freePort()
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = loopback(port: port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            close(fd)
            throw ProcessTestError("proxy cannot listen on \(port): errno \(errno)")
        }
        listener = fd
        let listener = fd
        Thread.detachNewThread { [self] in
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 { return }
                Thread.detachNewThread { self.serve(client) }
            }
        }
    }

    private let lock = NSLock()
    private var stopped = false

    /// Closes the listener, once: a second close could close a descriptor the process has since reused.
    func stop() {
        lock.withLock {
            guard !stopped else { return }
            stopped = true
            shutdown(listener, Int32(SHUT_RDWR))
            close(listener)
        }
    }

    deinit { stop() }

    private func serve(_ client: Int32) {
        defer { close(client) }
        var request = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 8_192)
        while !request.containsHeaderEnd {
            let n = read(client, &buffer, buffer.count)
            if n <= 0 { return }
            request += buffer[..<n]
            if request.count > 1 << 20 { return }
        }
        let text = String(decoding: request, as: UTF8.self)
        let lines = text.components(separatedBy: "\r\n")
        let parts = lines.first?.split(separator: " ") ?? []
        guard parts.count >= 2 else { return }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = String(line[..<colon])
            if name.lowercased().hasPrefix("twinledger-") {
                headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        let path = String(parts[1])
        var (body, status) = (Data(), 502)
        if let (data, code) = try? blockingHTTP(port: target, method: String(parts[0]), path: path, body: nil, headers: headers) {
            (body, status) = alter(path, data, code)
        }
        let type = path == "/" || path.hasPrefix("/#") ? "text/html; charset=utf-8" : "application/json"
        let head = "HTTP/1.1 \(status) Proxied\r\nContent-Type: \(type)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        let bytes = Array(head.utf8) + Array(body)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBufferPointer { write(client, $0.baseAddress, $0.count) }
            if n <= 0 { return }
            sent += n
        }
    }
}

private extension Array where Element == UInt8 {
    var containsHeaderEnd: Bool {
        guard count >= 4 else { return false }
        for i in 0...(count - 4) where self[i] == 13 && self[i + 1] == 10 && self[i + 2] == 13 && self[i + 3] == 10 { return true }
        return false
    }
}
