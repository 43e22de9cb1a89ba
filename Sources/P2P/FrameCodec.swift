import NIOCore

/// Reads frames (`length:u32be type:u8 payload`) off a connection and decodes them. A bad length is refused as soon
/// as the four length bytes arrive, before any of the frame is buffered; any refusal throws a `WireError`, which
/// closes the connection (the peer sent garbage) and nothing else.
public struct FrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = WireMessage

    public init() {}

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let message = try Self.next(&buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(message))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }

    /// The next whole message in `buffer` (consumed), nil if more bytes are needed, or a `WireError`.
    public static func next(_ buffer: inout ByteBuffer) throws(WireError) -> WireMessage? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: UInt32.self) else { return nil }
        guard length >= 1, length <= UInt32(WireLimits.frameBytesMax) else {
            throw WireError(.badLength, "frame of \(length) bytes (1 to \(WireLimits.frameBytesMax))")
        }
        guard buffer.readableBytes >= 4 + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        guard let type = buffer.readInteger(as: UInt8.self), let payload = buffer.readBytes(length: Int(length) - 1) else {
            return nil  // cannot happen: the bytes were counted above
        }
        return try WireMessage.decode(type: type, payload: payload)
    }
}

/// Writes messages as frames.
public struct FrameEncoder: MessageToByteEncoder {
    public typealias OutboundIn = WireMessage

    public init() {}

    public func encode(data: WireMessage, out: inout ByteBuffer) throws {
        let frame = data.frame
        guard frame.count - 4 <= WireLimits.frameBytesMax else {
            throw WireError(.badLength, "a \(data.kind) message of \(frame.count - 4) bytes does not fit a frame")
        }
        out.writeBytes(frame)
    }
}
