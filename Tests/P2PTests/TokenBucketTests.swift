import P2P
import Testing

@Suite("Token bucket")
struct TokenBucketTests {
    static let second: UInt64 = 1_000_000_000

    @Test("a full bucket admits its capacity at once, then one request per 1/rate seconds")
    func burstThenRate() {
        var bucket = TokenBucket(ratePerSecond: 10, capacity: 5, nowNanos: 0)
        for _ in 0..<5 { #expect(bucket.take(nowNanos: 0) == nil) }
        let wait = bucket.take(nowNanos: 0)
        #expect(wait.map { abs($0 - 0.1) < 1e-9 } == true, "the sixth waits a tenth of a second: \(String(describing: wait))")
        #expect(bucket.take(nowNanos: Self.second / 20) != nil, "half a token after 50 ms")
        #expect(bucket.take(nowNanos: Self.second / 10) == nil, "one token after 100 ms")
        // Idle for a minute: full again, never above the capacity.
        bucket.refill(nowNanos: 60 * Self.second)
        #expect(bucket.tokens == 5)
        #expect(bucket.isFull(nowNanos: 60 * Self.second))
    }

    @Test("a cost above the capacity never fits; a refused take takes nothing")
    func oversizedCost() {
        var bucket = TokenBucket(ratePerSecond: 1, capacity: 3, nowNanos: 0)
        #expect(bucket.take(4, nowNanos: 0) == .infinity)
        #expect(bucket.tokens == 3)
        #expect(bucket.take(2, nowNanos: 0) == nil)
        #expect(bucket.take(2, nowNanos: 0).map { abs($0 - 1) < 1e-9 } == true)
    }

    @Test("charging goes into debt, and the refill pays it off before anything is admitted")
    func debt() {
        var bucket = TokenBucket(ratePerSecond: 100, capacity: 100, nowNanos: 0)
        #expect(bucket.charge(300, nowNanos: 0) == 2, "200 in debt at 100 a second")
        #expect(bucket.take(nowNanos: Self.second) != nil, "still 100 in debt after a second")
        #expect(bucket.take(nowNanos: 3 * Self.second + 1) == nil)
        #expect(!bucket.isFull(nowNanos: 3 * Self.second + 1))
    }

    @Test("a clock that goes backwards adds nothing")
    func backwardsClock() {
        var bucket = TokenBucket(ratePerSecond: 1, capacity: 1, nowNanos: 10 * Self.second)
        #expect(bucket.take(nowNanos: 10 * Self.second) == nil)
        #expect(bucket.take(nowNanos: 5 * Self.second) != nil)
        #expect(bucket.take(nowNanos: 11 * Self.second) == nil)
    }
}
