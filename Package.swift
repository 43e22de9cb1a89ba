// swift-tools-version:6.1
// TwinLedger: a permissioned BFT consortium ledger for secure medical digital twins.
// Module direction (see Docs/architecture.md): pure modules (Encoding, KeyValue) import no IO;
// TwinCrypto wraps libsecp256k1 and swift-crypto; Storage wraps LevelDB; the CLI wires them.
import PackageDescription

let package = Package(
    name: "TwinLedger",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "twinledger", targets: ["twinledger"]),
        .library(name: "TwinCrypto", targets: ["TwinCrypto"]),
        .library(name: "Encoding", targets: ["Encoding"]),
        .library(name: "Storage", targets: ["Storage"]),
        .library(name: "Ledger", targets: ["Ledger"]),
        .library(name: "Consensus", targets: ["Consensus"]),
        .library(name: "ABE", targets: ["ABE"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto", exact: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.34.1"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        // C libraries from Debian, through system-library targets.
        .systemLibrary(name: "CLevelDB", path: "Sources/CLevelDB"),
        .systemLibrary(name: "CSecp256k1", path: "Sources/CSecp256k1", pkgConfig: "libsecp256k1"),

        // One-block SHA3-256 in C for the state tree's many short inputs (Sources/CKeccak/include/ckeccak.h).
        .target(name: "CKeccak"),
        // The C allocator's totals (glibc mallinfo2) for the node's memory gauges.
        .target(name: "CHeap"),

        // Pure: the one shape of TwinLedger's errors (a stable code and a message), shared by every module.
        .target(name: "CodedErrors"),
        // Pure: the canonical binary encoding of everything signed or hashed.
        .target(name: "Encoding"),
        // Pure: the key-value protocol the ledger runs over, and an in-memory implementation.
        .target(name: "KeyValue", dependencies: ["CodedErrors"]),
        // Cryptographic primitives: BIP340 Schnorr, SHA3-256, AES-256-GCM, HKDF, ECIES envelopes, key files.
        .target(
            name: "TwinCrypto",
            dependencies: [
                "CSecp256k1",
                "CKeccak",
                "CodedErrors",
                "Encoding",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ]
        ),
        // Pure: transactions, authorization rules, the state machine (over the KeyValue protocol).
        // BLS12-381: fields, groups, the pairing, hash to curve (pure Swift, no IO; Docs/crypto.md, "BLS12-381").
        // Optimized in debug builds too: the test suite pairs and multiplies points, which unoptimized take seconds each.
        .target(
            name: "Pairing", dependencies: ["CodedErrors", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        // Multi-authority attribute-based encryption (Rouselakis-Waters 2015) on the pairing, and its policy language.
        .target(
            name: "ABE", dependencies: ["Pairing", "Encoding", "CodedErrors", "TwinCrypto"],
            swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        .target(name: "Ledger", dependencies: ["CodedErrors", "Consensus", "Encoding", "KeyValue", "TwinCrypto", "ABE"]),
        // Pure: the Tendermint consensus instance, its messages, validator sets and commit certificates.
        .target(name: "Consensus", dependencies: ["CodedErrors", "Encoding", "TwinCrypto"]),
        // The deterministic consensus simulator (tests and `make sim`).
        .target(name: "Simulation", dependencies: ["Consensus", "Ledger", "KeyValue", "Encoding", "TwinCrypto"]),
        // The peer-to-peer wire protocol (Docs/protocol.md): messages, frames, the NIO codec.
        .target(
            name: "P2P",
            dependencies: [
                "CodedErrors", "Consensus", "Ledger", "Encoding",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // LevelDB-backed storage implementing the KeyValue protocol, and the content-addressed blob store.
        .target(name: "Storage", dependencies: ["CLevelDB", "CodedErrors", "Encoding", "KeyValue", "TwinCrypto"]),
        // Off-chain shadows: manifests, chunking of streamed payloads into the blob store, reassembly.
        .target(name: "Shadows", dependencies: ["CodedErrors", "Encoding", "Storage", "TwinCrypto"]),
        // The node shell: genesis and config files, the chain on LevelDB, mempool, block producer, metrics.
        .target(
            name: "Node",
            dependencies: [
                "CHeap", "Ledger", "Consensus", "P2P", "Storage", "Shadows", "KeyValue", "TwinCrypto", "Encoding", "ABE",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]
        ),
        // The HTTP JSON API (Hummingbird) under /v1, /health and /metrics.
        .target(
            name: "API",
            dependencies: [
                "Node", "Ledger", "Consensus", "Encoding", "Shadows", "Storage", "TwinCrypto", "P2P",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // The CLI.
        .executableTarget(
            name: "twinledger",
            dependencies: [
                "TwinCrypto", "Encoding", "KeyValue", "Storage", "Ledger", "Node", "API", "P2P", "Consensus", "ABE",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // Benchmarks (`make bench`, release build).
        .executableTarget(
            name: "TwinBench",
            dependencies: [
                "TwinCrypto", "Storage", "KeyValue", "Ledger", "Encoding", "CSecp256k1", "Node", "API", "Shadows", "Pairing", "ABE",
                "TestSupport", "CHeap", .product(name: "Hummingbird", package: "hummingbird"),
            ],
            path: "Benchmarks/TwinBench"
        ),

        // The consortium benchmark (`make bench-cluster`, release): real node processes under open-loop load.
        .executableTarget(
            name: "ClusterBench",
            dependencies: [
                "API", "Ledger", "Encoding", "TwinCrypto", "TestSupport", "Shadows",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Benchmarks/ClusterBench"
        ),

        // Shared test helpers: seeded PRNG, hex, vector loading, loopback HTTP.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "EncodingTests", dependencies: ["Encoding", "TestSupport"]),
        .testTarget(name: "PairingTests", dependencies: ["Pairing", "TestSupport"]),
        .testTarget(name: "ABETests", dependencies: ["ABE", "Pairing", "Encoding", "TestSupport"]),
        .testTarget(name: "TwinCryptoTests", dependencies: ["TwinCrypto", "TestSupport"]),
        .testTarget(name: "StorageTests", dependencies: ["Storage", "KeyValue", "TestSupport"]),
        .testTarget(name: "ShadowsTests", dependencies: ["Shadows", "Storage", "KeyValue", "Encoding", "TwinCrypto", "TestSupport"]),
        .testTarget(name: "LedgerTests", dependencies: ["Ledger", "Consensus", "KeyValue", "Storage", "TwinCrypto", "TestSupport", "ABE"]),
        .testTarget(
            name: "P2PTests",
            dependencies: [
                "P2P", "Consensus", "Ledger", "Encoding", "TwinCrypto", "TestSupport", "KeyValue",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // Fuzzing (Docs/fuzzing.md): the targets, the libFuzzer executable (`make fuzz`, built with
        // --sanitize=fuzzer), and the replay of their committed corpus and regressions in the ordinary suite.
        .target(
            name: "FuzzTargets",
            dependencies: [
                "ABE", "API", "Consensus", "Encoding", "Ledger", "P2P", "Pairing", "Shadows", "Storage", "TwinCrypto", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Tests/Fuzz/FuzzTargets"
        ),
        .executableTarget(name: "TwinFuzz", dependencies: ["FuzzTargets"], path: "Tests/Fuzz/TwinFuzz"),
        .testTarget(name: "FuzzCorpusTests", dependencies: ["FuzzTargets", "Encoding", "Ledger"], path: "Tests/Fuzz/CorpusTests"),
        .testTarget(name: "SimulationTests", dependencies: ["Simulation", "Consensus", "TestSupport"]),
        // `make sim`: runs simulator seeds and prints the failing ones with their replay command.
        .executableTarget(name: "twinsim", dependencies: ["Simulation", "Consensus"]),
        .testTarget(name: "ConsensusTests", dependencies: ["Consensus", "Encoding", "KeyValue", "Storage", "TwinCrypto", "TestSupport"]),
        .testTarget(
            name: "NodeTests",
            dependencies: [
                "Node", "API", "Ledger", "Storage", "Shadows", "TwinCrypto", "Encoding", "TestSupport", "P2P", "ABE", "Consensus",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
    ]
)
