// Mempool: duplicates, stale nonces and every bound refused with its code; reaping orders each signer's
// transactions by nonce and interleaves signers fairly; committed and stale transactions leave after a block.
import Encoding
import Ledger
import TestSupport
import Testing
import TwinCrypto

@Suite("Mempool")
struct MempoolTests {
    func tx(_ key: SecretKey, _ nonce: UInt64, reason: String = "x") throws -> VerifiedTransaction {
        let body = TransactionBody(chainID: "c", signer: key.publicKey, nonce: nonce,
                                   payload: .breakGlass(BreakGlass(patient: .zero, reason: reason)))
        return try VerifiedTransaction(try SignedTransaction(signing: body, with: key), chainID: "c")
    }

    @Test("duplicates, stale nonces and limits are refused with their codes")
    func admission() throws {
        var pool = Mempool(limits: .init(transactionsMax: 3, bytesMax: 1 << 20, perSignerMax: 2))
        let a = try SecretKey(), b = try SecretKey()
        let first = try tx(a, 1)
        try pool.admit(first, committedNonce: 0)
        #expect(throws: Mempool.Refusal.duplicate) { try pool.admit(first, committedNonce: 0) }
        #expect(throws: Mempool.Refusal.staleNonce(committed: 5)) { try pool.admit(try tx(a, 5), committedNonce: 5) }
        try pool.admit(try tx(a, 2), committedNonce: 0)
        #expect { try pool.admit(try tx(a, 3), committedNonce: 0) } throws: { ($0 as? Mempool.Refusal)?.code == "mempool_full" }
        try pool.admit(try tx(b, 1), committedNonce: 0)
        #expect { try pool.admit(try tx(try SecretKey(), 1), committedNonce: 0) } throws: { ($0 as? Mempool.Refusal)?.code == "mempool_full" }
        var small = Mempool(limits: .init(transactionsMax: 10, bytesMax: first.bytes.count, perSignerMax: 10, perSignerBytesMax: first.bytes.count))
        try small.admit(first, committedNonce: 0)
        #expect { try small.admit(try tx(b, 1), committedNonce: 0) } throws: { ($0 as? Mempool.Refusal)?.code == "mempool_full" }
        #expect(pool.count == 3)
    }

    @Test("one signer's waiting transactions take at most their byte share; others are still admitted, and the share frees as they commit")
    func perSignerBytes() throws {
        let a = try SecretKey(), b = try SecretKey()
        let size = try tx(a, 1).bytes.count
        var pool = Mempool(limits: .init(transactionsMax: 100, bytesMax: 100 * size, perSignerMax: 100, perSignerBytesMax: 3 * size))
        #expect(Mempool.Limits(bytesMax: 64 << 20).perSignerBytesMax == 4 << 20, "a sixteenth of the pool by default")
        for nonce in 1...3 as ClosedRange<UInt64> { try pool.admit(try tx(a, nonce), committedNonce: 0) }
        #expect(pool.pendingBytes(signer: a.publicKey.keyID) == 3 * size)
        #expect { try pool.admit(try tx(a, 4), committedNonce: 0) } throws: {
            ($0 as? Mempool.Refusal) == .full("\(3 * size) bytes from this signer")
        }
        try pool.admit(try tx(b, 1), committedNonce: 0)
        let first = try #require(pool.reap(max: 1).first)
        pool.removeCommitted([first.id], signers: [a.publicKey.keyID]) { _ in 1 }
        #expect(pool.pendingBytes(signer: a.publicKey.keyID) == 2 * size)
        try pool.admit(try tx(a, 4), committedNonce: 1)
    }

    @Test("reaping keeps each signer's nonce order and interleaves signers; commits clean up")
    func reaping() throws {
        var pool = Mempool()
        let a = try SecretKey(), b = try SecretKey()
        for nonce in [3, 1, 2] as [UInt64] { try pool.admit(try tx(a, nonce), committedNonce: 0) }
        for nonce in [2, 1] as [UInt64] { try pool.admit(try tx(b, nonce), committedNonce: 0) }
        let reaped = pool.reap(max: 10)
        #expect(reaped.count == 5)
        let aNonces = reaped.filter { $0.body.signer == a.publicKey }.map(\.body.nonce)
        let bNonces = reaped.filter { $0.body.signer == b.publicKey }.map(\.body.nonce)
        #expect(aNonces == [1, 2, 3] && bNonces == [1, 2])
        #expect(reaped.prefix(2).map(\.body.signer) == [a.publicKey, b.publicKey])
        #expect(pool.reap(max: 2).count == 2)
        // After a block commits a's 1 and 2 and another transaction of b's with nonce 1 (not this pool's), a's 3
        // stays, and b's 1 here is stale: b's committed nonce moved to 1.
        pool.removeCommitted(reaped.prefix(3).filter { $0.body.signer == a.publicKey }.map(\.id),
                             signers: [a.publicKey.keyID, b.publicKey.keyID]) { signer in
            signer == b.publicKey.keyID ? 1 : 2
        }
        #expect(pool.count == 2)
        #expect(pool.reap(max: 10).map(\.body.nonce).sorted() == [2, 3])
        #expect(pool.bytes == pool.reap(max: 10).map(\.bytes.count).reduce(0, +))
    }
}
