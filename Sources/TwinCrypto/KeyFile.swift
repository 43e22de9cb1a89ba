import CodedErrors
import Crypto
import Encoding
import _CryptoExtras

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A secret key on disk: a small JSON document written with mode 0600, optionally sealed with a passphrase.
///
/// Sealing derives a 32-byte key with scrypt (RFC 7914) from the passphrase and a random salt and encrypts the secret
/// with AES-256-GCM, binding the public key as associated data. Loading refuses a file that group or others may read
/// or write, as OpenSSH does. The format is documented in Docs/crypto.md ("Key files").
public enum KeyFile {
    /// Scrypt cost parameters. The default (N = 2^15, r = 8, p = 1: 32 MiB, about 0.1 s here) follows RFC 7914's
    /// interactive-login guidance; tests pass a cheaper one.
    public struct ScryptCost: Sendable, Hashable, Codable {
        public var log2N: Int
        public var r: Int
        public var p: Int
        public init(log2N: Int, r: Int, p: Int) {
            self.log2N = log2N
            self.r = r
            self.p = p
        }
        public static let interactive = ScryptCost(log2N: 15, r: 8, p: 1)
        /// Limits on what a file may ask for, so a hostile file cannot demand gigabytes.
        static let log2NMax = 20
    }

    /// The JSON document.
    struct Document: Codable {
        var format: String
        var version: Int
        var algorithm: String
        var publicKey: String
        var secretKey: String?
        var sealed: Sealed?
        /// Optional hint of the role the key is meant for (not a permission: the ledger's enrollment decides).
        var role: String?

        typealias Sealed = KeyFile.Sealed

        enum CodingKeys: String, CodingKey {
            case format, version, algorithm, sealed, role
            case publicKey = "public_key"
            case secretKey = "secret_key"
        }
    }

    /// A secret sealed with a passphrase (Docs/crypto.md, "Key files"): scrypt's parameters and salt, the AES-256-GCM
    /// nonce, and the ciphertext with its tag.
    public struct Sealed: Codable, Sendable, Hashable {
        var kdf: String
        var log2N: Int
        var r: Int
        var p: Int
        var salt: String
        var nonce: String
        var ciphertext: String

        enum CodingKeys: String, CodingKey {
            case kdf, r, p, salt, nonce, ciphertext
            case log2N = "log2_n"
        }
    }

    /// Seals `secret` under `passphrase` as key files are sealed, binding `associatedData` (other key files use it
    /// for what the secret belongs to).
    public static func seal(
        _ secret: [UInt8], passphrase: String, associatedData: [UInt8], cost: ScryptCost = .interactive
    ) throws(KeyFileError) -> Sealed {
        let salt = SecureRandom.bytes(16), nonce = SecureRandom.bytes(12)
        var wrapKey = try deriveKey(passphrase: passphrase, salt: salt, cost: cost)
        defer { zeroize(&wrapKey) }
        let sealed: [UInt8]
        do { sealed = try AESGCM.seal(secret, key: wrapKey, nonce: nonce, authenticating: associatedData) } catch {
            throw KeyFileError(.io, "sealing failed: \(error)")
        }
        return Sealed(kdf: "scrypt", log2N: cost.log2N, r: cost.r, p: cost.p, salt: Hex.encode(salt), nonce: Hex.encode(nonce),
                      ciphertext: Hex.encode(sealed))
    }

    /// The secret `seal` sealed; `wrong_passphrase` if the passphrase (or the associated data) does not open it.
    public static func unseal(_ sealed: Sealed, passphrase: String, associatedData: [UInt8]) throws(KeyFileError) -> [UInt8] {
        guard sealed.kdf == "scrypt" else { throw KeyFileError(.malformed, "unknown kdf \(sealed.kdf)") }
        guard let salt = Hex.decode(sealed.salt), let nonce = Hex.decode(sealed.nonce), let ciphertext = Hex.decode(sealed.ciphertext)
        else { throw KeyFileError(.malformed, "sealed fields are not hex") }
        var wrapKey = try deriveKey(passphrase: passphrase, salt: salt, cost: ScryptCost(log2N: sealed.log2N, r: sealed.r, p: sealed.p))
        defer { zeroize(&wrapKey) }
        do { return try AESGCM.open(ciphertext, key: wrapKey, nonce: nonce, authenticating: associatedData) } catch {
            throw KeyFileError(.wrongPassphrase, "the passphrase does not open this secret")
        }
    }

    /// Writes `bytes` to a new file with mode 0600 (temporary file, fsync, rename), as key files are written.
    public static func writePrivateFile(_ bytes: [UInt8], to path: String, overwrite: Bool = false) throws(KeyFileError) {
        try writePrivately(bytes, to: path, overwrite: overwrite)
    }

    /// The bytes of a private file, refused if group or others may read or write it (at most 64 KiB).
    public static func readPrivateFile(_ path: String) throws(KeyFileError) -> [UInt8] { try readPrivately(path) }

    static let format = "twinledger-key"
    static let algorithm = "secp256k1-bip340"

    /// Writes `key` to a new file at `path` (mode 0600). With a passphrase, the secret is sealed.
    /// Refuses to overwrite an existing file unless `overwrite` is set.
    public static func save(
        _ key: SecretKey, to path: String, passphrase: String? = nil, cost: ScryptCost = .interactive,
        overwrite: Bool = false, role: String? = nil
    ) throws(KeyFileError) {
        var secret = key.unsafeSecretBytes()
        defer { zeroize(&secret) }
        var document = Document(
            format: format, version: 1, algorithm: algorithm, publicKey: key.publicKey.hex, secretKey: nil, sealed: nil,
            role: role
        )
        if let passphrase {
            document.sealed = try seal(secret, passphrase: passphrase, associatedData: key.publicKey.bytes, cost: cost)
        } else {
            document.secretKey = Hex.encode(secret)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data: Data
        do { data = try encoder.encode(document) } catch { throw KeyFileError(.io, "encoding failed: \(error)") }
        try writePrivately(Array(data) + [0x0A], to: path, overwrite: overwrite)
    }

    /// The public key recorded in a key file, without touching the secret (no passphrase needed).
    public static func loadPublicKey(from path: String) throws(KeyFileError) -> PublicKey {
        let document = try readDocument(path)
        return try publicKey(of: document)
    }

    /// The role hint recorded when the key was made, if any.
    public static func role(of path: String) throws(KeyFileError) -> String? {
        try readDocument(path).role
    }

    /// Whether the file's secret is sealed with a passphrase.
    public static func isSealed(_ path: String) throws(KeyFileError) -> Bool {
        try readDocument(path).sealed != nil
    }

    /// Loads the secret key; a sealed file needs its passphrase.
    public static func load(from path: String, passphrase: String? = nil) throws(KeyFileError) -> SecretKey {
        let document = try readDocument(path)
        let publicKey = try publicKey(of: document)
        var secret: [UInt8]
        if let sealed = document.sealed {
            guard let passphrase else { throw KeyFileError(.passphraseRequired, "\(path) is sealed with a passphrase") }
            do { secret = try unseal(sealed, passphrase: passphrase, associatedData: publicKey.bytes) } catch {
                if error.code == .wrongPassphrase { throw KeyFileError(.wrongPassphrase, "passphrase does not open \(path)") }
                throw error
            }
        } else {
            guard let hex = document.secretKey, let bytes = Hex.decode(hex) else {
                throw KeyFileError(.malformed, "no secret_key in \(path)")
            }
            secret = bytes
        }
        defer { zeroize(&secret) }
        let key: SecretKey
        do { key = try SecretKey(bytes: secret) } catch { throw KeyFileError(.malformed, "secret key: \(error)") }
        guard key.publicKey == publicKey else {
            throw KeyFileError(.mismatch, "secret key in \(path) does not match its public_key")
        }
        return key
    }

    private static func publicKey(of document: Document) throws(KeyFileError) -> PublicKey {
        guard document.format == format, document.algorithm == algorithm else {
            throw KeyFileError(.malformed, "not a \(format) file for \(algorithm)")
        }
        guard document.version == 1 else { throw KeyFileError(.unsupportedVersion, "key file version \(document.version)") }
        guard let bytes = Hex.decode(document.publicKey), let key = try? PublicKey(bytes: bytes) else {
            throw KeyFileError(.malformed, "public_key is not a valid x-only key")
        }
        return key
    }

    private static func deriveKey(passphrase: String, salt: [UInt8], cost: ScryptCost) throws(KeyFileError) -> [UInt8] {
        guard (10...ScryptCost.log2NMax).contains(cost.log2N), (1...32).contains(cost.r), (1...16).contains(cost.p) else {
            throw KeyFileError(.malformed, "scrypt cost out of range (log2_n 10...20, r 1...32, p 1...16)")
        }
        do {
            let key = try KDF.Scrypt.deriveKey(
                from: Array(passphrase.utf8), salt: salt, outputByteCount: 32, rounds: 1 << cost.log2N,
                blockSize: cost.r, parallelism: cost.p, maxMemory: 256 << 20
            )
            return key.withUnsafeBytes { [UInt8]($0) }
        } catch {
            throw KeyFileError(.io, "scrypt failed: \(error)")
        }
    }

    private static func readDocument(_ path: String) throws(KeyFileError) -> Document {
        let bytes = try readPrivately(path)
        do {
            return try JSONDecoder().decode(Document.self, from: Data(bytes))
        } catch {
            throw KeyFileError(.malformed, "\(path) is not a key file: \(error)")
        }
    }

    private static func readPrivately(_ path: String) throws(KeyFileError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw KeyFileError(.io, "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw KeyFileError(.io, "cannot stat \(path)") }
        guard info.st_mode & 0o077 == 0 else {
            let mode = String(info.st_mode & 0o777, radix: 8)
            throw KeyFileError(.insecurePermissions, "\(path) has mode \(mode); run: chmod 600 \(path)")
        }
        guard info.st_size <= 64 << 10 else { throw KeyFileError(.malformed, "\(path) is too large for a key file") }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var filled = 0
        while filled < bytes.count {
            let n = bytes[filled...].withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw KeyFileError(.io, "short read from \(path)") }
            filled += n
        }
        return bytes
    }

    /// Writes to a temporary file created with mode 0600, fsyncs it, and renames it into place.
    private static func writePrivately(_ bytes: [UInt8], to path: String, overwrite: Bool) throws(KeyFileError) {
        if !overwrite && access(path, F_OK) == 0 {
            throw KeyFileError(.exists, "\(path) exists; refusing to overwrite a key")
        }
        let temporary = path + ".tmp-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw KeyFileError(.io, "cannot create \(temporary): \(String(cString: strerror(errno)))")
        }
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                close(descriptor)
                unlink(temporary)
                throw KeyFileError(.io, "write to \(temporary) failed: \(String(cString: strerror(errno)))")
            }
            written += n
        }
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard synced, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw KeyFileError(.io, "cannot move key into \(path): \(String(cString: strerror(errno)))")
        }
    }
}

/// Why a key file could not be written or loaded.
public typealias KeyFileError = CodedError<KeyFileErrors>

/// The family of `KeyFileError`.
public enum KeyFileErrors: ErrorDomain {
    public static let prefix = "key file "
}

extension CodedError<KeyFileErrors>.Code {
    public static let io = Self(rawValue: "io")
    public static let exists = Self(rawValue: "exists")
    public static let insecurePermissions = Self(rawValue: "insecure_permissions")
    public static let malformed = Self(rawValue: "malformed")
    public static let unsupportedVersion = Self(rawValue: "unsupported_version")
    public static let passphraseRequired = Self(rawValue: "passphrase_required")
    public static let wrongPassphrase = Self(rawValue: "wrong_passphrase")
    public static let mismatch = Self(rawValue: "mismatch")
}
