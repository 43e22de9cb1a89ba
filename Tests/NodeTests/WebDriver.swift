import Foundation
import TestSupport

/// Headless Chromium from Debian driven through chromedriver's W3C WebDriver protocol (plain JSON over HTTP on
/// loopback), for the explorer page's tests. `make test` installs `chromium` and `chromium-driver`.
final class WebDriver {
    let port: Int
    let process: Process
    var session = ""

    /// The Chromium binary behind Debian's wrapper script, and the driver.
    static let browser = "/usr/lib/chromium/chromium"
    static let driver = "/usr/bin/chromedriver"

    static var available: Bool {
        FileManager.default.isExecutableFile(atPath: browser) && FileManager.default.isExecutableFile(atPath: driver)
    }

    /// Starts chromedriver and a browser session with a window of `width` x `height` CSS pixels.
    init(width: Int, height: Int, log: String) throws {
        port = freePort()
        process = Process()
        process.executableURL = URL(fileURLWithPath: Self.driver)
        process.arguments = ["--port=\(port)", "--log-path=\(log)"]
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        var ready = false
        for _ in 0..<100 where !ready {
            if let (_, status) = try? blockingHTTP(port: port, method: "GET", path: "/status", body: nil), status == 200 { ready = true } else {
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
        guard ready else { throw ProcessTestError("chromedriver did not start (log: \(log))") }
        let capabilities: [String: Any] = ["capabilities": ["alwaysMatch": [
            "browserName": "chrome",
            "goog:chromeOptions": ["binary": Self.browser, "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=\(width),\(height)",
                "--user-data-dir=\(NSTemporaryDirectory())twinledger-chromium-\(UUID().uuidString)",
            ]],
        ]]]
        let answer = try call("POST", "/session", capabilities)
        guard let id = (answer as? [String: Any])?["sessionId"] as? String else { throw ProcessTestError("no WebDriver session: \(String(describing: answer))") }
        session = id
    }

    /// One WebDriver command; its `value`.
    @discardableResult
    func call(_ method: String, _ path: String, _ body: [String: Any]? = nil) throws -> Any? {
        let data = try body.map { try JSONSerialization.data(withJSONObject: $0) }
        // Chromium answers a command once the page has done it (a navigation, a script); on a machine shared with a
        // dozen suites' node processes that has taken over 20 s, so a command gets two minutes.
        let (reply, status) = try blockingHTTP(port: port, method: method, path: path, body: data, timeoutSeconds: 120)
        let object = try JSONSerialization.jsonObject(with: reply) as? [String: Any]
        guard status == 200 else { throw ProcessTestError("WebDriver \(method) \(path): \(status) \(String(decoding: reply, as: UTF8.self))") }
        return object?["value"]
    }

    func open(_ url: String) throws { try call("POST", "/session/\(session)/url", ["url": url]) }

    /// Runs `script` (a function body) in the page; its return value.
    func run(_ script: String) throws -> Any? { try call("POST", "/session/\(session)/execute/sync", ["script": script, "args": []]) }

    /// Polls `condition` (a JavaScript expression) until it is true.
    func wait(for condition: String, seconds: Double = 60) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try run("return Boolean(\(condition));") as? Bool == true { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw ProcessTestError("the page never satisfied \(condition)")
    }

    /// Saves a PNG screenshot of the window to `path`.
    func screenshot(_ path: String) throws {
        guard let text = try call("GET", "/session/\(session)/screenshot") as? String, let png = Data(base64Encoded: text) else {
            throw ProcessTestError("no screenshot")
        }
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try png.write(to: URL(fileURLWithPath: path))
    }

    /// Ends the session (which closes the browser) and the driver; chromedriver does not always end on SIGTERM.
    func quit() {
        if !session.isEmpty { _ = try? call("DELETE", "/session/\(session)") }
        session = ""
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { quit() }
}
