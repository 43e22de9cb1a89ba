// The wire protocol's frames (Docs/protocol.md).
//
// Covers: every message kind round-trips through a frame; NIO's decoder verifier drip-feeds each frame byte by byte
// and in every split; hundreds of frames cut at random points through a real channel pipeline come out whole and in
// order; a bad length is refused from its four bytes alone; unknown types, malformed and over-long payloads are typed
// errors; seeded random garbage only ever yields typed errors; hand-derived frames match the documented layout.
import Consensus
import Encoding
import KeyValue
import Ledger
import NIOCore
import NIOEmbedded
import NIOTestUtils
import P2P
import TestSupport
import Testing
import TwinCrypto

/// One message of every kind, with real signatures and a real block.
func sampleMessages() throws -> [WireMessage] {
    let organization = try SecretKey()
    let genesis = LedgerGenesis(chainID: "twinledger-wire", organizations: [Organization(name: "HOSP_A", key: organization.publicKey)])
    let chain = try Chain(store: MemoryStore(), genesis: genesis)
    let body = TransactionBody(chainID: "twinledger-wire", signer: organization.publicKey, nonce: 1,
                               payload: .enroll(Enroll(key: try SecretKey().publicKey, role: .patient, organization: "HOSP_A")))
    let transaction = try VerifiedTransaction(try SignedTransaction(signing: body, with: organization), chainID: "twinledger-wire")
    let (block, _) = try chain.propose([transaction], timeMillis: 1_800_000_000_000, proposer: organization.publicKey)
    let value = LedgerBlock(block)
    let proposal = Proposal(chainID: "twinledger-wire", height: 1, round: 2, block: value.id, validRound: 1,
                            proposer: organization.publicKey.keyID)
    let vote = Vote(chainID: "twinledger-wire", height: 1, round: 2, type: .precommit, block: value.id,
                    validator: organization.publicKey.keyID)
    let signedVote = try SignedVote(signing: vote, with: organization)
    let certificate = CommitCertificate(chainID: "twinledger-wire", height: 1, round: 2, block: value.id, precommits: [signedVote])
    return [
        .hello(Hello(chainID: "twinledger-wire", genesis: Hashing.sha3([1]), node: organization.publicKey.keyID, height: 7)),
        .transaction(transaction.bytes),
        .proposal(try SignedProposal(signing: proposal, value: value, with: organization)),
        .vote(signedVote),
        .blockRequest(from: 3, count: 64),
        .blockResponse([CommittedBlock(block: block, certificate: certificate)]),
        .status(height: 1 << 40),
        .blobRequest([Hashing.sha3([1]), Hashing.sha3([2])]),
        .blobResponse([[1, 2, 3], [UInt8](repeating: 9, count: 5_000)]),
    ]
}

@Suite("Wire protocol")
struct WireProtocolTests {
    func decodeAll(_ bytes: [UInt8]) throws(WireError) -> [WireMessage] {
        var buffer = ByteBuffer(bytes: bytes)
        var out: [WireMessage] = []
        while let message = try FrameDecoder.next(&buffer) { out.append(message) }
        return out
    }

    func code(_ bytes: [UInt8]) -> WireError.Code? {
        do { _ = try decodeAll(bytes) } catch { return error.code }
        return nil
    }

    @Test("every message kind round-trips, drip-fed and split every way (NIO's decoder verifier)")
    func roundTrip() throws {
        let messages = try sampleMessages()
        #expect(Set(messages.map(\.kind)) == Set(WireMessage.Kind.allCases))
        for message in messages {
            #expect(try decodeAll(message.frame) == [message])
        }
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: messages.map { (ByteBuffer(bytes: $0.frame), [$0]) },
            decoderFactory: { FrameDecoder() }
        )
    }

    @Test("hundreds of frames cut at random points through a channel pipeline arrive whole and in order")
    func randomSplits() throws {
        let samples = try sampleMessages()
        var rng = SeededRandom(seed: testSeed())
        let messages = (0..<300).map { _ in samples[Int(rng.next() % UInt64(samples.count))] }
        let stream = messages.flatMap(\.frame)
        let channel = EmbeddedChannel(handlers: [ByteToMessageHandler(FrameDecoder()), MessageToByteHandler(FrameEncoder())])
        var offset = 0
        while offset < stream.count {
            let size = min(stream.count - offset, 1 + Int(rng.next() % 700))
            try channel.writeInbound(ByteBuffer(bytes: stream[offset..<(offset + size)]))
            offset += size
        }
        var received: [WireMessage] = []
        while let message = try channel.readInbound(as: WireMessage.self) { received.append(message) }
        #expect(received == messages)
        // The encoder writes exactly the documented frame.
        try channel.writeOutbound(samples[3])
        let written = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(Array(written.readableBytesView) == samples[3].frame)
        _ = try channel.finish()
    }

    @Test("bad lengths, unknown types and malformed payloads are typed errors; a huge length is refused from 4 bytes")
    func refusals() throws {
        #expect(code([0, 0, 0, 0]) == .badLength)
        #expect(code([0x01, 0x00, 0x00, 0x01]) == .badLength, "16 MiB + 1 is refused before any of it arrives")
        #expect(code([0xFF, 0xFF, 0xFF, 0xFF]) == .badLength)
        #expect(code([0, 0, 0, 1, 99]) == .unknownType)
        #expect(code([0, 0, 0, 1, 0]) == .unknownType)
        #expect(code([0, 0, 0, 3, 7, 0x02, 0x05]) == .malformed, "wrong encoding version")
        #expect(code([0, 0, 0, 4, 7, 0x01, 0x05, 0x00]) == .malformed, "a trailing byte")
        #expect(code([0, 0, 0, 2, 4, 0x01]) == .malformed, "a truncated vote")
        #expect(code(WireMessage.blockRequest(from: 1, count: 64).frame.dropLast() + [65]) == .malformed, "65 blocks")
        // Blob messages: at most eight addresses, at least one; blobs at most a chunk and its overhead.
        let nine = WireMessage.blobRequest((0..<9).map { Hashing.sha3([UInt8($0)]) }).frame
        #expect(code(nine) == .malformed, "nine addresses")
        #expect(code(WireMessage.blobRequest([]).frame) == .malformed, "no address")
        #expect(code(WireMessage.blobResponse([[UInt8](repeating: 1, count: WireLimits.blobBytesMax + 1)]).frame) == .malformed)
        #expect(try decodeAll(WireMessage.blobResponse([[UInt8](repeating: 1, count: WireLimits.blobBytesMax)]).frame).count == 1)
        // Payloads above the canonical decoder's standard 4 MiB input decode: eight full blobs, and a block response
        // of 100 blocks' worth of 60 KB transactions (block sync sends up to 8 MiB).
        let eight = WireMessage.blobResponse((0..<8).map { [UInt8](repeating: UInt8($0), count: WireLimits.blobBytesMax) })
        #expect(eight.frame.count > 8 << 20)
        #expect(try decodeAll(eight.frame) == [eight])
        guard case .blockResponse(let blocks) = try sampleMessages()[5] else { Issue.record("sample 5 is a block response"); return }
        var big = blocks[0]
        big.block.transactions = (0..<100).map { [UInt8](repeating: UInt8($0), count: 60_000) }
        let response = WireMessage.blockResponse([big])
        #expect(response.frame.count > 5 << 20)
        #expect(try decodeAll(response.frame) == [response])
        // Incomplete frames just wait.
        #expect(try decodeAll([0, 0, 0, 3, 7, 0x01]).isEmpty)
        #expect(try decodeAll([0, 0]).isEmpty)
    }

    @Test("seeded random garbage only ever yields typed errors or waits for more")
    func garbage() throws {
        var rng = SeededRandom(seed: testSeed() ^ 0x6A7B)
        let samples = try sampleMessages().map(\.frame)
        for _ in 0..<3_000 {
            var bytes: [UInt8]
            switch rng.next() % 3 {
            case 0: bytes = rng.bytes(Int(rng.next() % 64))
            case 1:  // a real frame with a few bytes flipped
                bytes = samples[Int(rng.next() % UInt64(samples.count))]
                for _ in 0..<(1 + rng.next() % 4) { bytes[Int(rng.next() % UInt64(bytes.count))] ^= UInt8(1 + rng.next() % 255) }
            default:  // a plausible header and garbage payload
                let length = 1 + Int(rng.next() % 200)
                bytes = [0, 0, UInt8(length >> 8), UInt8(length & 0xFF), UInt8(1 + rng.next() % 9)] + rng.bytes(length - 1)
            }
            do { _ = try decodeAll(bytes) } catch {
                #expect([.badLength, .unknownType, .malformed].contains(error.code))
            }
        }
    }

    @Test("frames match the layout derived by hand from Docs/protocol.md")
    func layout() {
        // status(5): length 3, type 7, payload = version 0x01 then varint 5.
        #expect(WireMessage.status(height: 5).frame == [0, 0, 0, 3, 7, 0x01, 0x05])
        // transaction([0xAA, 0xBB]): payload = version, length 2, the bytes.
        #expect(WireMessage.transaction([0xAA, 0xBB]).frame == [0, 0, 0, 5, 2, 0x01, 0x02, 0xAA, 0xBB])
        // blobRequest([A]): type 8, payload = version, count 1, the 32 bytes. blobResponse([[0xCC]]): type 9, version,
        // count 1, length 1, the byte.
        let a = Hashing.sha3([1])
        #expect(WireMessage.blobRequest([a]).frame == [0, 0, 0, 35, 8, 0x01, 0x01] + a.bytes)
        #expect(WireMessage.blobResponse([[0xCC]]).frame == [0, 0, 0, 5, 9, 0x01, 0x01, 0x01, 0xCC])
        // blockRequest(from: 300, count: 2): varints ac02 and 02.
        #expect(WireMessage.blockRequest(from: 300, count: 2).frame == [0, 0, 0, 5, 5, 0x01, 0xAC, 0x02, 0x02])
    }
}
