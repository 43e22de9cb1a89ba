import CSecp256k1

/// The process-wide libsecp256k1 context.
///
/// Created once and randomized once (blinding against side channels) before any use; afterwards only read, which
/// libsecp256k1 documents as safe from any number of threads.
final class Secp256k1Context: @unchecked Sendable {
    static let shared = Secp256k1Context()

    let pointer: OpaquePointer

    private init() {
        guard let context = secp256k1_context_create(UInt32(SECP256K1_CONTEXT_NONE)) else {
            preconditionFailure("secp256k1_context_create failed: libsecp256k1 is unusable")
        }
        // Blinding against timing and power side channels; correctness does not depend on it.
        let seed = SecureRandom.bytes(32)
        _ = secp256k1_context_randomize(context, seed)
        pointer = context
    }
}
