import API
import Encoding
import Foundation
import Hummingbird
import KeyValue
import Ledger
import Node
import Shadows
import Storage
import TwinCrypto

/// Shadow upload and download over HTTP on loopback (Docs/performance.md, "Shadows"), beside their ceilings measured in
/// the same run: for uploads, SHA3-256 over the same bytes plus raw LevelDB puts of the same 1 MiB chunks (one sync at
/// the end, as an upload syncs once with its manifest), nothing else; for downloads, raw gets plus SHA3. The upload
/// path is the node's: a signed upload request, Hummingbird's streamed body, ChunkWriter, BlobStore (a hash and a get
/// per chunk), quota bookkeeping. The download is the payload route: a signed read the ledger allows, the access
/// log's synced record, each chunk read and re-hashed. The client is a plain socket on this machine, sending 64 KiB
/// writes and reading the whole response. Each figure is the median of `runs`, sizes interleaved with their ceilings.
@MainActor
func runShadowBenchmark(sizes: [Int]) async throws {
    let chainID = "twinledger-shadow-bench"
    let directory = NSTemporaryDirectory() + "twinbench-shadows-\(getpid())"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let level = try LevelDBStore(path: directory + "/state")
    defer { level.close() }
    let organization = try SecretKey()
    let node = try LedgerNode(
        store: CachedStore(base: level, capacityBytes: 64 << 20),
        genesis: LedgerGenesis(chainID: chainID, organizations: [Organization(name: "HOSP_A", key: organization.publicKey)]),
        proposer: organization.publicKey
    )
    let patient = try SecretKey()
    let patientID = patientID(for: patient.publicKey)
    _ = try await node.submit(try SignedTransaction(signing: TransactionBody(
        chainID: chainID, signer: organization.publicKey, nonce: 1,
        payload: .enroll(Enroll(key: patient.publicKey, role: .patient, organization: "HOSP_A"))), with: organization).bytes)
    try await node.produceBlock()
    let blobLevel = try LevelDBStore(path: directory + "/blobs", options: .blobs)
    defer { blobLevel.close() }
    var limits = ShadowDesk.Limits()
    limits.payloadBytesMax = 1 << 34
    limits.patientQuotaBytes = 1 << 40
    let desk = ShadowDesk(blobs: BlobStore(store: blobLevel), node: node, limits: limits,
                          accessLog: try AccessLog(store: blobLevel, node: organization.publicKey.keyID, start: 0))
    let port = 29_000 + Int(getpid() % 1_000)
    let app = Application(router: makeRouter(node: node, shadows: desk), configuration: .init(address: .hostname("127.0.0.1", port: port)))
    let server = Task { try await app.runService() }
    defer { server.cancel() }
    for _ in 0..<100 {
        if (try? shadowBenchHTTP(port: port, method: "GET", path: "/health", headers: [:], body: nil))?.status == 200 { break }
        try await Task.sleep(for: .milliseconds(50))
    }
    var patientNonce: UInt64 = 0

    for size in sizes {
        var random = SystemRandomNumberGenerator()
        let payload = (0..<size).map { _ in UInt8.random(in: 0...255, using: &random) }
        let chunkCount = (size + (1 << 20) - 1) >> 20
        var upload: [Double] = [], uploadCeiling: [Double] = [], download: [Double] = [], downloadCeiling: [Double] = []
        var warmDownload: [Double] = []
        for run in 0..<runs {
            // Ceiling: SHA3 and raw puts of the same chunks into a fresh LevelDB, one sync at the end.
            let raw = try LevelDBStore(path: directory + "/raw-\(size)-\(run)", options: .blobs)
            uploadCeiling.append(Double(size) / 1e6 / time {
                for index in 0..<chunkCount {
                    let chunk = Array(payload[(index << 20)..<min(size, (index + 1) << 20)])
                    let address = Hashing.sha3(chunk)
                    try? raw.put([0x01] + address.bytes, chunk, sync: index == chunkCount - 1)
                }
            })
            let addresses = (0..<chunkCount).map { Hashing.sha3(Array(payload[($0 << 20)..<min(size, ($0 + 1) << 20)])).bytes }
            downloadCeiling.append(Double(size) / 1e6 / time {
                for address in addresses {
                    if let chunk = try? raw.get([0x01] + address) { blackHole(Hashing.sha3(chunk)) }
                }
            })
            raw.close()
            try? FileManager.default.removeItem(atPath: directory + "/raw-\(size)-\(run)")

            // Upload through the API: the same bytes, a fresh signed request.
            let request = UploadRequest(chainID: chainID, uploader: patient.publicKey, patient: patientID, size: UInt64(size),
                                        mediaType: "application/octet-stream", timeMillis: LedgerNode.wallClockMillis(),
                                        nonce: SecureRandom.bytes(16))
            let header = try SignedUploadRequest(signing: request, with: patient).headerValue
            var response: (status: Int, body: ArraySlice<UInt8>) = (0, [])
            let seconds = try time {
                response = try shadowBenchHTTP(port: port, method: "POST", path: "/v1/shadows/upload",
                                               headers: ["TwinLedger-Upload": header], body: payload)
            }
            guard response.status == 200, let uploaded = try? JSONDecoder().decode(UploadResponse.self, from: Data(response.body)),
                let manifest = Hash32(hex: uploaded.manifest)
            else { throw NodeError("upload failed: \(response.status) \(String(decoding: response.body, as: UTF8.self))") }
            upload.append(Double(size) / 1e6 / seconds)

            // Register it (a fresh shadow each run) and download it with a signed read.
            patientNonce += 1
            let shadow = Hashing.sha3(SecureRandom.bytes(32))
            _ = try await node.submit(try SignedTransaction(signing: TransactionBody(
                chainID: chainID, signer: patient.publicKey, nonce: patientNonce,
                payload: .shadowRegister(ShadowRegister(shadow: shadow, patient: patientID, version: 1, categories: ["neuro.mri"],
                                                        manifest: manifest, size: UInt64(size)))), with: patient).bytes)
            try await node.produceBlock()
            let read = ReadRequest(chainID: chainID, requester: patient.publicKey, shadow: shadow, blob: manifest,
                                   purpose: .patientRequest, timeMillis: LedgerNode.wallClockMillis(), nonce: SecureRandom.bytes(16))
            let readHeader = try SignedReadRequest(signing: read, with: patient).headerValue
            let downloadSeconds = try time {
                response = try shadowBenchHTTP(port: port, method: "GET", path: "/v1/shadows/\(shadow.hex)/payload",
                                               headers: ["TwinLedger-Read": readHeader], body: nil, expect: size)
            }
            guard response.status == 200, response.body.elementsEqual(payload) else { throw NodeError("download failed: \(response.status)") }
            download.append(Double(size) / 1e6 / downloadSeconds)
            // Again on a connection that already carried a request, as the wallet's `shadow get` reads the payload
            // right after the envelope on one kept-alive connection.
            let warmRead = ReadRequest(chainID: chainID, requester: patient.publicKey, shadow: shadow, blob: manifest,
                                       purpose: .patientRequest, timeMillis: LedgerNode.wallClockMillis(), nonce: SecureRandom.bytes(16))
            let warmHeader = try SignedReadRequest(signing: warmRead, with: patient).headerValue
            let connection = try benchWarmConnection(port: port)
            let warmSeconds = try time {
                response = try shadowBenchHTTP(port: port, method: "GET", path: "/v1/shadows/\(shadow.hex)/payload",
                                               headers: ["TwinLedger-Read": warmHeader], body: nil, expect: size, connection: connection)
            }
            guard response.status == 200, response.body.elementsEqual(payload) else { throw NodeError("warm download failed: \(response.status)") }
            warmDownload.append(Double(size) / 1e6 / warmSeconds)
            // Where a small read's fixed cost goes (once, on the first size): the desk's admission (signature, replay,
            // the ledger's decision), the synced access record, a bare HTTP round trip (new connection, /health), and
            // signed reads of the manifest blob and of the whole (small) payload over HTTP.
            if run == 0 && size == sizes.first {
                var admitTimes: [Double] = [], recordTimes: [Double] = []
                for _ in 0..<200 {
                    let r = ReadRequest(chainID: chainID, requester: patient.publicKey, shadow: shadow, blob: manifest,
                                        purpose: .patientRequest, timeMillis: LedgerNode.wallClockMillis(), nonce: SecureRandom.bytes(16))
                    let h = try SignedReadRequest(signing: r, with: patient).headerValue
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    let admitted = try await desk.admitRead(header: h, shadow: shadow, blob: nil)
                    let t1 = DispatchTime.now().uptimeNanoseconds
                    try admitted.access.record()
                    let t2 = DispatchTime.now().uptimeNanoseconds
                    admitTimes.append(Double(t1 - t0) / 1e3); recordTimes.append(Double(t2 - t1) / 1e3)
                }
                var healthTimes: [Double] = [], blobTimes: [Double] = [], payloadTimes: [Double] = []
                for _ in 0..<200 {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    _ = try shadowBenchHTTP(port: port, method: "GET", path: "/health", headers: [:], body: nil)
                    healthTimes.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e3)
                    for path in ["/v1/shadows/\(shadow.hex)/blobs/\(manifest.hex)", "/v1/shadows/\(shadow.hex)/payload"] {
                        let r = ReadRequest(chainID: chainID, requester: patient.publicKey, shadow: shadow, blob: manifest,
                                            purpose: .patientRequest, timeMillis: LedgerNode.wallClockMillis(), nonce: SecureRandom.bytes(16))
                        let h = try SignedReadRequest(signing: r, with: patient).headerValue
                        let t1 = DispatchTime.now().uptimeNanoseconds
                        _ = try shadowBenchHTTP(port: port, method: "GET", path: path, headers: ["TwinLedger-Read": h], body: nil, expect: size)
                        let us = Double(DispatchTime.now().uptimeNanoseconds - t1) / 1e3
                        if path.hasSuffix("payload") { payloadTimes.append(us) } else { blobTimes.append(us) }
                    }
                }
                for (name, values) in [("signed read admission (desk, in process)", admitTimes), ("access record, synced write", recordTimes),
                                       ("HTTP round trip, new connection (/health)", healthTimes),
                                       ("signed read of the manifest over HTTP", blobTimes),
                                       ("signed read of a \(size >> 10) KiB payload over HTTP", payloadTimes)] {
                    rows.append(Row(name: name, value: median(values), unit: "us", runs: []))
                    printRow(name, median(values), "us")
                }
            }
        }
        let label = size >= 1 << 20 ? "\(size >> 20) MiB" : "\(size >> 10) KiB"
        for (name, values) in [("shadow upload over HTTP, \(label)", upload), ("  ceiling: SHA3 + raw LevelDB puts, \(label)", uploadCeiling),
                               ("shadow download over HTTP, \(label)", download),
                               ("shadow download over HTTP, kept-alive connection, \(label)", warmDownload),
                               ("  ceiling: raw LevelDB gets + SHA3, \(label)", downloadCeiling)] {
            rows.append(Row(name: name, value: median(values), unit: "MB/s", runs: values))
            printRow(name, median(values), "MB/s")
        }
        let ratioUp = median(upload) / median(uploadCeiling), ratioDown = median(download) / median(downloadCeiling)
        rows.append(Row(name: "shadow upload / ceiling, \(label)", value: ratioUp, unit: "x", runs: []))
        rows.append(Row(name: "shadow download / ceiling, \(label)", value: ratioDown, unit: "x", runs: []))
        let ratioWarm = median(warmDownload) / median(downloadCeiling)
        rows.append(Row(name: "shadow download, kept-alive connection / ceiling, \(label)", value: ratioWarm, unit: "x", runs: []))
        printRow("  upload / ceiling, \(label)", ratioUp, "x", decimals: 2)
        printRow("  download / ceiling, \(label)", ratioDown, "x", decimals: 2)
        printRow("  download on a kept-alive connection / ceiling, \(label)", ratioWarm, "x", decimals: 2)
    }
}

/// A TCP connection to the node on loopback.
func benchConnect(port: Int) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw NodeError("socket: errno \(errno)") }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else {
        close(fd)
        throw NodeError("connect: errno \(errno)")
    }
    return fd
}

/// A connection that has already carried one request (`GET /health`, kept alive), as a wallet's connection has
/// when it asks for a payload after the envelope: the next exchange on it pays no connection set-up.
func benchWarmConnection(port: Int) throws -> Int32 {
    let fd = try benchConnect(port: port)
    let request = Array("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)
    guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else {
        close(fd)
        throw NodeError("send: errno \(errno)")
    }
    // Read the head, then exactly Content-Length bytes of body.
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4_096)
    while true {
        let n = recv(fd, &buffer, buffer.count, 0)
        guard n > 0 else { close(fd); throw NodeError("the warm-up answer ended early") }
        received += buffer[..<n]
        let text = String(decoding: received, as: UTF8.self)
        guard let end = text.range(of: "\r\n\r\n") else { continue }
        let head = text[..<end.lowerBound].lowercased()
        let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
            .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
        if text.utf8.count - text.utf8.distance(from: text.utf8.startIndex, to: end.upperBound) >= length { return fd }
    }
}

/// One HTTP/1.1 exchange over a plain socket: the body sent in 64 KiB writes, the whole response read. On
/// `connection` (already open, see `benchWarmConnection`) if given, else on a new one.
func shadowBenchHTTP(port: Int, method: String, path: String, headers: [String: String], body: [UInt8]?,
                     expect: Int = 0, connection: Int32? = nil) throws -> (status: Int, body: ArraySlice<UInt8>) {
    let fd = try connection ?? benchConnect(port: port)
    defer { close(fd) }
    var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    for (name, value) in headers { head += "\(name): \(value)\r\n" }
    if let body { head += "Content-Type: application/octet-stream\r\nContent-Length: \(body.count)\r\n" }
    head += "\r\n"
    func sendAll(_ bytes: UnsafeRawBufferPointer) throws {
        var sent = 0
        while sent < bytes.count {
            let n = send(fd, bytes.baseAddress! + sent, min(bytes.count - sent, 65_536), Int32(MSG_NOSIGNAL))
            guard n > 0 else { throw NodeError("send: errno \(errno)") }
            sent += n
        }
    }
    try Array(head.utf8).withUnsafeBytes { try sendAll($0) }
    if let body { try body.withUnsafeBytes { try sendAll($0) } }
    // Received straight into the response's storage (sized for the expected body), as a lean client would.
    let capacity = expect + 65_536
    var response = [UInt8](unsafeUninitializedCapacity: capacity) { storage, count in
        var filled = 0
        while filled < capacity {
            let n = recv(fd, storage.baseAddress! + filled, capacity - filled, 0)
            if n <= 0 { break }
            filled += n
        }
        count = filled
    }
    if response.count == capacity {
        var more = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = recv(fd, &more, more.count, 0)
            if n <= 0 { break }
            response.append(contentsOf: more[..<n])
        }
    }
    guard let split = (0..<max(0, response.count - 3)).first(where: {
        response[$0] == 13 && response[$0 + 1] == 10 && response[$0 + 2] == 13 && response[$0 + 3] == 10
    }) else { throw NodeError("no HTTP header end") }
    let statusLine = String(decoding: response[..<split], as: UTF8.self).split(separator: "\r\n").first ?? ""
    let status = statusLine.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
    let headText = String(decoding: response[..<split], as: UTF8.self).lowercased()
    var payload = response[(split + 4)...]
    if headText.contains("transfer-encoding: chunked") { payload = dechunkBench(Array(payload))[...] }
    return (status, payload)
}

func dechunkBench(_ data: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    var index = 0
    while index < data.count {
        guard let lineEnd = (index..<(data.count - 1)).first(where: { data[$0] == 13 && data[$0 + 1] == 10 }) else { break }
        let size = Int(String(decoding: data[index..<lineEnd], as: UTF8.self).split(separator: ";").first ?? "", radix: 16) ?? 0
        if size == 0 { break }
        out.append(contentsOf: data[(lineEnd + 2)..<min(data.count, lineEnd + 2 + size)])
        index = lineEnd + 2 + size + 2
    }
    return out
}
