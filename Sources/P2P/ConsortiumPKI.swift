import Crypto
import Encoding
import Foundation
import NIOSSL
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

    /// A certificate for node `node` (its key id) of `organization`, signed by `authority`.
    public static func issueNodeCertificate(
        node: Hash32, organization: String, authority: PEMIdentity, now: Date = Date(), years: Int = 5
    ) throws -> PEMIdentity {
        let caCertificate = try Certificate(pemEncoded: authority.certificatePEM)
        let caKey = try P256.Signing.PrivateKey(pemRepresentation: authority.privateKeyPEM)
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName {
            OrganizationName(organization)
            CommonName(node.hex)
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3_600), notValidAfter: now.addingTimeInterval(Double(years) * 365 * 86_400),
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
}
