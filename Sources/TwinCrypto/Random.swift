/// Bytes from the operating system's CSPRNG.
///
/// Swift's `SystemRandomNumberGenerator` is documented as cryptographically secure on every platform: on Linux it
/// reads `getrandom(2)`, on Darwin `arc4random_buf`.
public enum SecureRandom {
    /// `count` random bytes.
    public static func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { fill($0) }
        return out
    }

    /// Fills `buffer` with random bytes.
    public static func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        var generator = SystemRandomNumberGenerator()
        var index = 0
        while index < buffer.count {
            var word = generator.next()
            let take = Swift.min(8, buffer.count - index)
            withUnsafeBytes(of: &word) { raw in
                for offset in 0..<take { buffer[index + offset] = raw[offset] }
            }
            index += take
        }
    }
}

/// Overwrites a copy of secret material with zeros before it is released.
public func zeroize(_ bytes: inout [UInt8]) {
    for index in bytes.indices { bytes[index] = 0 }
}
