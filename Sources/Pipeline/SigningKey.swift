import BoardModel
import Foundation
import Host

/// The key a board's FIT image is signed with (`fit_image.signing`): the folder mkimage reads `NAME.key` and
/// `NAME.crt` from, checked to hold an RSA key of the algorithm's size whose certificate is its own.
public struct SigningKey: Sendable, Equatable {
    /// mkimage's `-k` folder. Never copied anywhere: out/ gets the public key only, inside U-Boot's tree.
    public var folder: URL
    public var name: String
    public var bits: Int
    /// sha256 of the public key (DER): what stage keys and the manifest name the key by.
    public var publicKeySHA256: String
    /// Made by bspgen in its cache because the board names no key folder.
    public var isDevelopmentKey: Bool

    public var privateKey: URL { folder.appendingPathComponent("\(name).key") }
    public var certificate: URL { folder.appendingPathComponent("\(name).crt") }
}

extension SigningKey {
    /// The board's key folder, or the development key in the cache (made on first use), checked; nil for a board
    /// that does not sign. Runs before anything is built, so a bad key costs nothing.
    static func resolve(for environment: BuildEnvironment) async throws -> SigningKey? {
        let board = environment.board
        guard let fit = board.board.fitImage, let signing = fit.signing else { return nil }
        try HostRequirements.require("openssl")
        let file = board.file.lastPathComponent
        let bits = signing.algorithm.keyBits
        var folder: URL
        let development = signing.keyDir == nil
        if let keyDir = signing.keyDir {
            folder = (keyDir.hasPrefix("/") ? URL(fileURLWithPath: keyDir) : board.folder.appendingPathComponent(keyDir)).standardizedFileURL
            // A key folder inside the output folder would end up wherever out/ is copied or published.
            let output = environment.workspace.outputDirectory.standardizedFileURL.resolvingSymlinksInPath().path
            let resolved = folder.resolvingSymlinksInPath().path
            if resolved == output || resolved.hasPrefix(output + "/") {
                throw BuildError.signing(file: file, message: "key_dir \(folder.path) is inside the output folder \(output): "
                    + "private keys must never be where build products are kept or published",
                    hint: "move the key folder out of \(output)")
            }
        } else {
            folder = environment.workspace.cacheDirectory.appendingPathComponent("signing-keys/\(signing.keyName)-rsa\(bits)", isDirectory: true)
            try await makeDevelopmentKey(in: folder, name: signing.keyName, bits: bits, environment: environment)
        }
        var key = try await check(folder: folder, name: signing.keyName, bits: bits, file: file)
        key.isDevelopmentKey = development
        if development {
            environment.progress.warning("[\(board.name)] \(fit.name) is signed with a development key (\(key.privateKey.path)), "
                                         + "made by bspgen and fit for testing only; name your own key folder in fit_image.signing.key_dir")
        }
        return key
    }

    /// Checks that `folder` holds `NAME.key`, an unencrypted RSA private key of `bits` bits, and `NAME.crt`, a
    /// certificate of its public key (mkimage signs with the first and writes U-Boot's key from the second).
    static func check(folder: URL, name: String, bits: Int, file: String) async throws -> SigningKey {
        let key = SigningKey(folder: folder, name: name, bits: bits, publicKeySHA256: "", isDevelopmentKey: false)
        func failure(_ message: String, hint: String? = nil) -> BuildError {
            .signing(file: file, message: message, hint: hint)
        }
        let make = "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:\(bits) -out \(key.privateKey.path)"
        let certify = "openssl req -batch -new -x509 -key \(key.privateKey.path) -out \(key.certificate.path) -subj /CN=\(name)"
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw failure("the key folder \(folder.path) does not exist", hint: "mkdir -p \(folder.path) && \(make) && \(certify)")
        }
        guard FileManager.default.isReadableFile(atPath: key.privateKey.path) else {
            throw failure("\(key.privateKey.path) does not exist or cannot be read", hint: make + " && " + certify)
        }
        guard FileManager.default.isReadableFile(atPath: key.certificate.path) else {
            throw failure("\(key.certificate.path) does not exist or cannot be read (mkimage takes U-Boot's public key from it)", hint: certify)
        }
        // An empty passphrase: an encrypted key fails here instead of making openssl (or mkimage later) ask on the terminal.
        let text = try await ProcessRunner.capture(Command("openssl", ["pkey", "-in", key.privateKey.path, "-noout", "-text", "-passin", "pass:"]))
        guard text.succeeded else {
            throw failure("\(key.privateKey.path) is not a private key openssl can read without a passphrase: "
                          + (text.output.split(separator: "\n").first.map(String.init) ?? text.statusText),
                          hint: "mkimage needs an unencrypted PEM key; " + make)
        }
        let lines = text.output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        // RSA keys print "Private-Key: (2048 bit, 2 primes)" followed by modulus and publicExponent.
        guard lines.contains("modulus:"), lines.contains(where: { $0.hasPrefix("publicExponent:") }) else {
            throw failure("\(key.privateKey.path) is not an RSA key (\(lines.first ?? "unknown type")); the algorithm needs RSA of \(bits) bits",
                          hint: make)
        }
        let found = lines.first.flatMap { line -> Int? in
            guard let open = line.firstIndex(of: "(") else { return nil }
            return Int(line[line.index(after: open)...].prefix { $0.isNumber })
        }
        guard found == bits else {
            throw failure("\(key.privateKey.path) is an RSA key of \(found.map(String.init) ?? "unknown") bits; the algorithm needs \(bits)",
                          hint: "use a \(bits)-bit key (" + make + "), or the algorithm sha256,rsa\(found.map(String.init) ?? "N")")
        }
        let fromKey = try await ProcessRunner.capture(Command("openssl", ["pkey", "-in", key.privateKey.path, "-pubout", "-outform", "DER", "-passin", "pass:"]))
        let fromCertificate = try await ProcessRunner.capture(Command("openssl", ["x509", "-in", key.certificate.path, "-noout", "-pubkey"]))
        guard fromCertificate.succeeded else {
            throw failure("\(key.certificate.path) is not a PEM certificate openssl can read", hint: certify)
        }
        let pemOfKey = try await ProcessRunner.capture(Command("openssl", ["pkey", "-in", key.privateKey.path, "-pubout", "-passin", "pass:"]))
        guard fromKey.succeeded, pemOfKey.succeeded, pemOfKey.output == fromCertificate.output else {
            throw failure("\(key.certificate.path) certifies another key than \(key.privateKey.path): U-Boot would get a public key that "
                          + "does not verify the signature", hint: certify)
        }
        var checked = key
        checked.publicKeySHA256 = Checksum.sha256(pemOfKey.output)
        return checked
    }

    /// Makes the development key pair in `folder` unless it is there: in a temporary folder renamed into place, under
    /// a lock, so that two builds never make two keys.
    static func makeDevelopmentKey(in folder: URL, name: String, bits: Int, environment: BuildEnvironment) async throws {
        let fileManager = FileManager.default
        try await FileLock.withLock(environment.workspace.lock("signing-key-\(folder.lastPathComponent)")) {
            guard !fileManager.fileExists(atPath: folder.path) else { return }
            try fileManager.createDirectory(at: folder.deletingLastPathComponent(), withIntermediateDirectories: true)
            let temporary = try AtomicFile.temporaryDirectory(beside: folder)
            do {
                // Only this user may read the private key.
                try fileManager.setAttributes([.posixPermissions: 0o700], ofItemAtPath: temporary.path)
                let key = temporary.appendingPathComponent("\(name).key")
                environment.progress.note("[\(environment.board.name)] making a \(bits)-bit RSA development key in \(folder.path)")
                try await ProcessRunner.checked(Command("openssl", ["genpkey", "-quiet", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:\(bits)",
                                                                    "-out", key.path]))
                try await ProcessRunner.checked(Command("openssl", ["req", "-batch", "-new", "-x509", "-days", "36500", "-key", key.path,
                                                                    "-subj", "/CN=bspgen development key \(name)",
                                                                    "-out", temporary.appendingPathComponent("\(name).crt").path]))
                try AtomicFile.replace(folder, with: temporary)
            } catch {
                try? fileManager.removeItem(at: temporary)
                throw error
            }
        }
    }
}
