/// A token bucket: it holds up to `capacity` tokens and refills at `ratePerSecond`; a request takes tokens or waits.
/// The API's per-client limits and the peer network's per-peer limits are token buckets (Docs/operations.md,
/// "Limits"). Pure: the caller passes the time, so tests and the simulator drive it with their own clocks.
public struct TokenBucket: Sendable, Hashable {
    public let ratePerSecond: Double
    public let capacity: Double
    /// May be negative after `charge`: a debt the refill pays off first.
    public private(set) var tokens: Double
    private var lastNanos: UInt64

    /// A full bucket at `nowNanos`. The capacity is at least one token and the rate positive (smaller values are
    /// raised to those), so every cost up to the capacity is eventually admitted.
    public init(ratePerSecond: Double, capacity: Double, nowNanos: UInt64) {
        let capacity = max(1, capacity)
        (self.ratePerSecond, self.capacity, tokens, lastNanos) = (max(ratePerSecond, 1e-9), capacity, capacity, nowNanos)
    }

    /// Adds what accrued since the last call (a clock that went backwards adds nothing).
    public mutating func refill(nowNanos: UInt64) {
        guard nowNanos > lastNanos else { return }
        tokens = min(capacity, tokens + Double(nowNanos - lastNanos) * ratePerSecond / 1e9)
        lastNanos = nowNanos
    }

    /// Takes `cost` tokens if the bucket holds them: nil then; otherwise nothing is taken and the answer is the seconds
    /// until it would hold them (a cost above the capacity never fits: infinity).
    public mutating func take(_ cost: Double = 1, nowNanos: UInt64) -> Double? {
        refill(nowNanos: nowNanos)
        if tokens >= cost {
            tokens -= cost
            return nil
        }
        return cost > capacity ? .infinity : (cost - tokens) / ratePerSecond
    }

    /// Charges `cost` even into debt (for bytes already received); returns the seconds until the debt is paid, 0 if none.
    public mutating func charge(_ cost: Double, nowNanos: UInt64) -> Double {
        refill(nowNanos: nowNanos)
        tokens -= cost
        return tokens >= 0 ? 0 : -tokens / ratePerSecond
    }

    /// Whether it is full at `nowNanos`: a full bucket is the same as none, so a table of buckets may forget it.
    public func isFull(nowNanos: UInt64) -> Bool {
        nowNanos > lastNanos ? tokens + Double(nowNanos - lastNanos) * ratePerSecond / 1e9 >= capacity : tokens >= capacity
    }
}
