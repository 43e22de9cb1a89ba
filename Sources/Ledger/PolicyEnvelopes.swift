import Encoding
import KeyValue

/// Policy envelopes left on an old authority epoch (Docs/abe.md, "Epochs and versions"): after an authority rotates,
/// the current registrations whose policy envelope used its previous epoch still open with the old keys until the
/// next write of the shadow re-wraps them (or `twinledger shadow rewrap`). Found through the local index 0x19, in
/// epoch order, so the scan reads only the stale entries and one more per authority.
public enum PolicyEnvelopes {
    /// The shadows whose current policy envelope used an epoch below some authority's current one.
    public static func stale(in state: any KeyValueReader) throws(LedgerError) -> Set<Hash32> {
        var authorities: [Authority] = []
        do {
            try state.forEach(prefix: [StateKey.authorityPrefix], start: nil) { entry in
                if let authority = try? Canonical.decode(Authority.self, from: entry.value) { authorities.append(authority) }
                return true
            }
        } catch {
            throw LedgerError(.storage, "\(error)")
        }
        var stale = Set<Hash32>()
        for authority in authorities {
            let prefix = StateKey.policyEnvelopes(authority.name)
            do {
                try state.forEach(prefix: prefix, start: nil) { entry in
                    let rest = entry.key.dropFirst(prefix.count)
                    guard rest.count == 40 else { return true }
                    let epoch = rest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                    guard epoch < authority.epoch else { return false }
                    if let shadow = Hash32(bytes: rest.suffix(32)) { stale.insert(shadow) }
                    return true
                }
            } catch {
                throw LedgerError(.storage, "\(error)")
            }
        }
        return stale
    }
}
