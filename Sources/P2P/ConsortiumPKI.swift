import Crypto
import Encoding
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import SwiftASN1
import X509

/// A certificate and its private key, both PEM.
public struct PEMIdentity: Sendable, Hashable {
    public var certificatePEM: String
    public var privateKeyPEM: String

    public init(certificatePEM: String, privateKeyPEM: String) {
        self.certificatePEM = certificatePEM
        self.privateKeyPEM = privateKeyPEM
    }
}

/// The consortium's certificates (Docs/protocol.md, "Connections"): one CA, and per node a certificate it signs
/// whose common name is the node's key id in hex, so that after the TLS handshake each side knows which node of the
/// genesis it is talking to. TLS keys are P-256 (what every TLS stack speaks); the node's BIP340 key signs ledger
/// and consensus messages, not TLS.
public enum ConsortiumPKI {
    /// A new consortium CA.
    public static func makeAuthority(name: String, now: Date = Date(), years: Int = 10) throws -> PEMIdentity {
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName {
            OrganizationName("TwinLedger consortium")
            CommonName(name)
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3_600), notValidAfter: now.addingTimeInterval(Double(years) * 365 * 86_400),
            issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: .init(key)
        )
        return PEMIdentity(certificatePEM: try certificate.serializeAsPEM().pemString, privateKeyPEM: key.pemRepresentation)
    }

    /// A certificate for node `node` (its key id) of `organization`, signed by `authority`, valid from an hour
    /// before `now` for `years`, or for `days` when given (a rotation may choose a shorter life).
    public static func issueNodeCertificate(
        node: Hash32, organization: String, authority: PEMIdentity, now: Date = Date(), years: Int = 5, days: Int? = nil
    ) throws -> PEMIdentity {
        let lifetime = Double(days ?? years * 365) * 86_400
        let caCertificate = try Certificate(pemEncoded: authority.certificatePEM)
        let caKey = try P256.Signing.PrivateKey(pemRepresentation: authority.privateKeyPEM)
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName {
            OrganizationName(organization)
            CommonName(node.hex)
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3_600), notValidAfter: now.addingTimeInterval(lifetime),
            issuer: caCertificate.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
            },
            issuerPrivateKey: .init(caKey)
        )
        return PEMIdentity(certificatePEM: try certificate.serializeAsPEM().pemString, privateKeyPEM: key.pemRepresentation)
    }

    /// The node key id a node certificate names (its common name), or nil if it names none.
    public static func nodeID(certificateDER der: [UInt8]) -> Hash32? {
        guard let certificate = try? Certificate(derEncoded: der) else { return nil }
        for rdn in certificate.subject {
            for attribute in rdn where attribute.type == .RDNAttributeType.commonName {
                if let text = String(attribute.value), let id = Hash32(hex: text) { return id }
            }
        }
        return nil
    }

    /// The end of the first certificate's validity in `pem`.
    public static func expiry(certificatePEM pem: String) throws -> Date {
        try Certificate(pemEncoded: pem).notValidAfter
    }

    /// Checks that `identity` can serve node `node` in the consortium of `authority`: its certificate names the node,
    /// is signed by the CA and valid now, and its private key is the certificate's. Throws why not.
    public static func checkNodeIdentity(_ identity: PEMIdentity, node: Hash32, authority: String, now: Date = Date()) throws(WireError) {
        let certificate: Certificate, ca: Certificate, key: P256.Signing.PrivateKey
        do {
            certificate = try Certificate(pemEncoded: identity.certificatePEM)
            ca = try Certificate(pemEncoded: authority)
            key = try P256.Signing.PrivateKey(pemRepresentation: identity.privateKeyPEM)
        } catch {
            throw WireError(.refusedPeer, "the certificate or key does not parse: \(error)")
        }
        guard let der = try? certificate.serializeAsPEM().derBytes, nodeID(certificateDER: der) == node else {
            throw WireError(.refusedPeer, "the certificate does not name this node (\(node.hex.prefix(16))…)")
        }
        guard certificate.issuer == ca.subject, ca.publicKey.isValidSignature(certificate.signature, for: certificate) else {
            throw WireError(.refusedPeer, "the certificate is not signed by the consortium CA")
        }
        guard certificate.notValidBefore <= now, now < certificate.notValidAfter else {
            throw WireError(.refusedPeer, "the certificate is not valid now (\(certificate.notValidBefore) to \(certificate.notValidAfter))")
        }
        guard Certificate.PublicKey(key.publicKey) == certificate.publicKey else {
            throw WireError(.refusedPeer, "the private key is not the certificate's")
        }
    }

    /// TLS 1.3 with mutual authentication: this node presents `identity`, and accepts only peers whose certificate
    /// chains to `authority` (host names are not checked: peers are identified by the node id in the certificate).
    public static func tlsConfiguration(identity: PEMIdentity, authority: String, server: Bool) throws -> TLSConfiguration {
        let chain = try NIOSSLCertificate.fromPEMBytes(Array(identity.certificatePEM.utf8)).map { NIOSSLCertificateSource.certificate($0) }
        let key = NIOSSLPrivateKeySource.privateKey(try NIOSSLPrivateKey(bytes: Array(identity.privateKeyPEM.utf8), format: .pem))
        var configuration = server
            ? TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: key)
            : TLSConfiguration.makeClientConfiguration()
        if !server {
            configuration.certificateChain = chain
            configuration.privateKey = key
        }
        configuration.minimumTLSVersion = .tlsv13
        configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(authority.utf8)))
        configuration.certificateVerification = .noHostnameVerification
        return configuration
    }

    /// The certificate (DER) a consortium node listening at `host:port` presents to a new connection, connecting as
    /// `client` (any certificate of the consortium CA; the node's hello check may then refuse the connection, which
    /// does not matter: the certificate is read from the handshake). Nil if none arrived within `timeout`. For checking
    /// a rotation from outside the node (CertificateRotationTests, PeerNetworkTests).
    public static func presentedCertificate(
        host: String, port: Int, client: PEMIdentity, authority: String, timeout: Duration = .seconds(10)
    ) async throws -> [UInt8]? {
        final class Grab: ChannelInboundHandler, Sendable {
            typealias InboundIn = ByteBuffer
            let der = Mutex<[UInt8]?>(nil)
            func channelRead(context: ChannelHandlerContext, data: NIOAny) {
                let certificate = try? context.pipeline.syncOperations.handler(type: NIOSSLHandler.self).peerCertificate
                der.withLock { $0 = certificate.flatMap { try? $0.toDERBytes() } }
            }
        }
        let grab = Grab()
        let tls = try NIOSSLContext(configuration: tlsConfiguration(identity: client, authority: authority, server: false))
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([try NIOSSLClientHandler(context: tls, serverHostname: nil), grab])
                }
            }
            .connect(host: host, port: port).get()
        let deadline = ContinuousClock.now + timeout
        while grab.der.withLock({ $0 }) == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        try? await channel.close().get()
        return grab.der.withLock { $0 }
    }
}
