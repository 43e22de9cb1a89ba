import ArgumentParser
import Encoding
import Foundation
import Ledger
import TwinCrypto

struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Create and inspect secp256k1 (BIP340) key files.",
        subcommands: [New.self, Show.self, Rotate.self]
    )

    /// Where a passphrase comes from: never a command-line argument, which other users can read from /proc.
    struct PassphraseOptions: ParsableArguments {
        @Option(help: "Read the passphrase from this environment variable.")
        var passphraseEnv: String?

        @Option(help: "Read the passphrase from the first line of this file.")
        var passphraseFile: String?

        func passphrase() throws -> String? { try readPassphrase(environment: passphraseEnv, file: passphraseFile) }
    }

    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate a key from the system CSPRNG and write it with mode 0600."
        )

        @Option(name: .shortAndLong, help: "Key file to create.") var out: String
        @OptionGroup var passphrase: PassphraseOptions
        @Option(help: "Role the key is for (patient, practitioner, caregiver, …), recorded as a hint for enrollment.")
        var role: String?
        @Flag(help: "Replace an existing file.") var force = false
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            if let role, Role(name: role) == nil {
                throw ValidationError("unknown role \(role); one of \(Role.allCases.map(\.name).joined(separator: ", "))")
            }
            let key = try SecretKey()
            let secret = try passphrase.passphrase()
            try KeyFile.save(key, to: out, passphrase: secret, overwrite: force, role: role)
            printKey(key.publicKey, path: out, sealed: secret != nil, json: json)
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a key file's public key and key id; with --check, also open the secret."
        )

        @Argument(help: "Key file.") var file: String
        @OptionGroup var passphrase: PassphraseOptions
        @Flag(help: "Load the secret too (needs the passphrase if sealed) and check it matches.") var check = false
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let publicKey: PublicKey
            if check {
                publicKey = try KeyFile.load(from: file, passphrase: try passphrase.passphrase()).publicKey
            } else {
                publicKey = try KeyFile.loadPublicKey(from: file)
            }
            printKey(publicKey, path: file, sealed: try KeyFile.isSealed(file), json: json)
        }
    }
}

func printKey(_ key: PublicKey, path: String, sealed: Bool, json: Bool) {
    let role = (try? KeyFile.role(of: path)) ?? nil
    let patient = patientID(for: key).hex
    if json {
        print(#"{"file":"\#(path)","public_key":"\#(key.hex)","key_id":"\#(key.keyID.hex)","patient_id_if_enrolled_as_patient":"\#(patient)","role":"\#(role ?? "")","sealed":\#(sealed)}"#)
    } else {
        print("file:       \(path)")
        print("public key: \(key.hex)")
        print("key id:     \(key.keyID.hex)")
        if let role { print("role hint:  \(role)") }
        if role == nil || role == "patient" { print("patient id: \(patient) (once enrolled as a patient)") }
        print("sealed:     \(sealed ? "yes (scrypt + AES-256-GCM)" : "no (protect the file: mode 0600)")")
    }
}

/// A passphrase from an environment variable or the first line of a file (never from the command line); nil if neither
/// is given.
func readPassphrase(environment name: String?, file path: String?) throws -> String? {
    if let name {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            throw ValidationError("environment variable \(name) is not set or empty")
        }
        return value
    }
    if let path {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        guard let line = text.split(whereSeparator: \.isNewline).first, !line.isEmpty else {
            throw ValidationError("\(path) holds no passphrase")
        }
        return String(line)
    }
    return nil
}
